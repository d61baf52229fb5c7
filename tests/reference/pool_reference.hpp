#pragma once

// Naive CPU references for Pool2D and GlobalPool (NCHW), from ONNX semantics.

#include <cstdint>
#include <span>
#include <vector>

namespace vkbnn::test::ref {

struct Pool2D {
  bool average = false;
  int kernel_h = 1, kernel_w = 1;
  int stride_h = 1, stride_w = 1;
  int dilation_h = 1, dilation_w = 1;
  int pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  bool count_include_pad = false;
};

// ONNX's output length along one axis, with ceil_mode's rule that a last window starting in
// the end padding is dropped.
int64_t pool_output_length(int64_t size, int kernel, int stride, int dilation, int pad_begin, int pad_end,
                           bool ceil_mode);

// x is [N, C, H, W]; the output is [N, C, out_h, out_w].
std::vector<float> pool2d(std::span<const float> x, const std::vector<int64_t>& shape, const Pool2D& p,
                          int64_t out_h, int64_t out_w);

// Average or max over every axis after the first two.
std::vector<float> global_pool(std::span<const float> x, const std::vector<int64_t>& shape, bool average);

}  // namespace vkbnn::test::ref
