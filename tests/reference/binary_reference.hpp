#pragma once

// Naive CPU references for the binarized ops, on -1/+1 values held as ints (no bit tricks, so
// they share nothing with the shaders' XOR/popcount), from the definitions in the model schema.

#include <cstdint>
#include <span>
#include <vector>

#include "reference/elementwise_reference.hpp"

namespace vkbnn::test::ref {

// sign(x + threshold_c) with sign(0) = +1, for X [N, C, ...]; empty threshold: none.
std::vector<int> binarize(std::span<const float> x, const Shape& shape, std::span<const float> threshold);

// Packs -1/+1 values along axis 1 (DataType::Bit layout: bit set for -1, zero tail bits).
std::vector<uint32_t> pack_signs(std::span<const int> signs, const Shape& shape);

struct BinaryConv2D {
  int kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  int pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  bool zero_padding = true;  // padded taps add nothing; otherwise they read +1
  int groups = 1;            // output channel m reads the C/groups channels of group m / (M/groups)
};

// Integer dot products of -1/+1 X [N, C, H, W] and W [M, C/groups, kH, kW] -> [N, M, OH, OW].
std::vector<int64_t> binary_conv2d(std::span<const int> x, const Shape& x_shape, std::span<const int> w,
                                   const Shape& w_shape, const BinaryConv2D& p, Shape* out_shape);

enum class LinkChannels { Identity, Squeeze, Expand };
struct Link {
  LinkChannels channels = LinkChannels::Identity;
  bool strided = false;
  bool mean = true;
  int pool = 1;
};

enum class BinaryActivation { None, PRelu, RPRelu };

// The BinaryEpilogue; vectors are per output channel, unused ones may be empty.
struct Epilogue {
  std::vector<float> scale, shift, gamma, slope, shift_in, shift_out;
  BinaryActivation activation = BinaryActivation::None;
  bool activation_after_link = true;
  bool has_link = false;
  Link link;
};

// y per output element of acc [N, M, OH, OW] (or [N, M]); x_real [N, Cr, H, W] for the link.
std::vector<double> binary_epilogue(std::span<const int64_t> acc, const Shape& acc_shape, const Epilogue& e,
                                    std::span<const float> x_real, const Shape& real_shape);

// Max pooling of -1/+1 values; taps outside the input are skipped.
std::vector<int> binary_max_pool(std::span<const int> x, const Shape& x_shape, int kernel, int stride, int pad,
                                 Shape* out_shape);

}  // namespace vkbnn::test::ref
