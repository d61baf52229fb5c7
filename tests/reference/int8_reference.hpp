#pragma once

// Naive CPU reference of the int8 ops, written from the schema's definitions (not from the
// shaders): int64 arithmetic throughout, values unpacked (one int per element, NCHW).

#include <cstdint>
#include <vector>

namespace vkbnn::ref {

struct Quantization {
  float scale = 1.0f;
  int32_t zero_point = 0;
};

std::vector<int32_t> quantize(const std::vector<float>& x, Quantization q);
std::vector<float> dequantize(const std::vector<int32_t>& q, Quantization quant);

// clamp(zero_point + sat32(floor((acc * multiplier + 2^(shift-1)) / 2^shift)), lo, hi)
int32_t requantize(int64_t acc, int32_t multiplier, int32_t shift, int32_t zero_point, int32_t lo, int32_t hi);

struct Int8Conv2D {
  int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0, group = 1;
  int32_t clamp_min = -128, clamp_max = 127;
};

struct Requantization {
  std::vector<int32_t> bias, multiplier, shift;  // per output channel
};

// x [N, C, H, W], w [M, C/group, kH, kW]; padded taps read zero_point_x.
std::vector<int32_t> int8_conv2d(const std::vector<int32_t>& x, const std::vector<int64_t>& x_shape,
                                 int32_t zero_point_x, const std::vector<int32_t>& w, int64_t out_channels,
                                 const Int8Conv2D& p, const Requantization& r, int32_t zero_point_y,
                                 std::vector<int64_t>* y_shape);

// x [N, K] (K = everything after N), w [M, K].
std::vector<int32_t> int8_fully_connected(const std::vector<int32_t>& x, int64_t batch, const std::vector<int32_t>& w,
                                          int64_t out_channels, const Requantization& r, int32_t zero_point_y,
                                          int32_t clamp_min, int32_t clamp_max);

std::vector<int32_t> int8_add(const std::vector<int32_t>& a, const std::vector<int32_t>& b, int32_t zero_point_a,
                              int32_t zero_point_b, int32_t zero_point_y, int32_t multiplier_a, int32_t multiplier_b,
                              int32_t shift, int32_t clamp_min, int32_t clamp_max);

std::vector<int32_t> int8_global_average_pool(const std::vector<int32_t>& x, const std::vector<int64_t>& x_shape,
                                              int32_t zero_point_x, int32_t zero_point_y, int32_t multiplier,
                                              int32_t shift);

// Max over windows, taps outside the input skipped.
std::vector<int32_t> int8_max_pool2d(const std::vector<int32_t>& x, const std::vector<int64_t>& x_shape, int64_t kernel,
                                     int64_t stride, int64_t pad, const std::vector<int64_t>& y_shape);

}  // namespace vkbnn::ref
