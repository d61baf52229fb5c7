#pragma once

// Naive CPU references for Conv2D and FullyConnected, accumulated in double, from ONNX Conv and
// Gemm semantics; written independently of the shaders.

#include <cstdint>
#include <span>
#include <vector>

#include "reference/elementwise_reference.hpp"

namespace vkbnn::test::ref {

struct Conv2D {
  int kernel_h = 1, kernel_w = 1;
  int stride_h = 1, stride_w = 1;
  int dilation_h = 1, dilation_w = 1;
  int pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  int group = 1;
  Activation activation;
};

// Output length along one axis: floor((size + pads - dilated kernel) / stride) + 1.
int64_t conv_output_length(int64_t size, int kernel, int stride, int dilation, int pad_begin, int pad_end);

// X [N, C, H, W], W [M, C/group, kH, kW], optional bias [M] (empty: none) -> Y [N, M, OH, OW].
std::vector<float> conv2d(std::span<const float> x, const Shape& x_shape, std::span<const float> w,
                          const Shape& w_shape, std::span<const float> bias, const Conv2D& params);

// X [N, K], W [M, K], optional bias [M] -> Y [N, M].
std::vector<float> fully_connected(std::span<const float> x, int64_t n, int64_t k, std::span<const float> w,
                                   int64_t m, std::span<const float> bias, const Activation& activation);

}  // namespace vkbnn::test::ref
