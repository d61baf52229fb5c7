#pragma once

// Naive CPU reference for ONNX ConvTranspose (2-D), accumulated in double and written as the
// definition's scatter: every input pixel adds its weighted kernel into the output.

#include <span>
#include <vector>

#include "reference/elementwise_reference.hpp"

namespace vkbnn::test::ref {

struct ConvTranspose2D {
  int kernel_h = 1, kernel_w = 1;
  int stride_h = 1, stride_w = 1;
  int dilation_h = 1, dilation_w = 1;
  // As ONNX's pads, cropping the full output; output_padding extends it at the bottom and right.
  int pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  int output_padding_h = 0, output_padding_w = 0;
  int group = 1;
  Activation activation;
};

// Output length along one axis: stride * (size - 1) + output_padding + dilated kernel - pads.
int64_t conv_transpose_output_length(int64_t size, int kernel, int stride, int dilation, int pad_begin, int pad_end,
                                     int output_padding);

// X [N, C, H, W], W [C, M/group, kH, kW], optional bias [M] (empty: none) -> Y [N, M, OH, OW].
std::vector<float> conv_transpose2d(std::span<const float> x, const Shape& x_shape, std::span<const float> w,
                                    const Shape& w_shape, std::span<const float> bias, const ConvTranspose2D& params);

}  // namespace vkbnn::test::ref
