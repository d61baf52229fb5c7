#include "reference/int8_reference.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace vkbnn::ref {

std::vector<int32_t> quantize(const std::vector<float>& x, Quantization q) {
  const float inv_scale = 1.0f / q.scale;
  std::vector<int32_t> out;
  for (float v : x) {
    // Round half to even (the default rounding mode), as ONNX QuantizeLinear does.
    const float rounded = std::nearbyint(std::clamp(v * inv_scale, -512.0f, 512.0f));
    out.push_back(std::clamp(static_cast<int32_t>(rounded) + q.zero_point, -128, 127));
  }
  return out;
}

std::vector<float> dequantize(const std::vector<int32_t>& q, Quantization quant) {
  std::vector<float> out;
  for (int32_t v : q) out.push_back(static_cast<float>(v - quant.zero_point) * quant.scale);
  return out;
}

int32_t requantize(int64_t acc, int32_t multiplier, int32_t shift, int32_t zero_point, int32_t lo, int32_t hi) {
  const int64_t product = acc * multiplier;  // |acc| < 2^31 and multiplier < 2^31: fits
  int64_t scaled = (product + (int64_t{1} << (shift - 1))) >> shift;  // arithmetic: floor
  scaled = std::clamp<int64_t>(scaled, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max());
  return static_cast<int32_t>(std::clamp<int64_t>(scaled + zero_point, lo, hi));
}

std::vector<int32_t> int8_conv2d(const std::vector<int32_t>& x, const std::vector<int64_t>& s, int32_t zero_point_x,
                                 const std::vector<int32_t>& w, int64_t m, const Int8Conv2D& p, const Requantization& r,
                                 int32_t zero_point_y, std::vector<int64_t>* y_shape) {
  const int64_t n = s[0], c = s[1], h = s[2], wd = s[3];
  const int64_t oh = (h + p.pad_top + p.pad_bottom - (p.kernel_h - 1) * p.dilation_h - 1) / p.stride_h + 1;
  const int64_t ow = (wd + p.pad_left + p.pad_right - (p.kernel_w - 1) * p.dilation_w - 1) / p.stride_w + 1;
  *y_shape = {n, m, oh, ow};
  const int64_t icg = c / p.group, ocg = m / p.group;
  std::vector<int32_t> y(static_cast<size_t>(n * m * oh * ow));
  for (int64_t b = 0; b < n; ++b)
    for (int64_t oc = 0; oc < m; ++oc)
      for (int64_t oy = 0; oy < oh; ++oy)
        for (int64_t ox = 0; ox < ow; ++ox) {
          int64_t acc = r.bias[oc];
          const int64_t g = oc / ocg;
          for (int64_t ic = 0; ic < icg; ++ic)
            for (int64_t ky = 0; ky < p.kernel_h; ++ky)
              for (int64_t kx = 0; kx < p.kernel_w; ++kx) {
                const int64_t iy = oy * p.stride_h - p.pad_top + ky * p.dilation_h;
                const int64_t ix = ox * p.stride_w - p.pad_left + kx * p.dilation_w;
                const bool inside = iy >= 0 && iy < h && ix >= 0 && ix < wd;
                const int64_t xv = inside ? x[((b * c + g * icg + ic) * h + iy) * wd + ix] : zero_point_x;
                acc += xv * w[((oc * icg + ic) * p.kernel_h + ky) * p.kernel_w + kx];
              }
          y[((b * m + oc) * oh + oy) * ow + ox] =
              requantize(acc, r.multiplier[oc], r.shift[oc], zero_point_y, p.clamp_min, p.clamp_max);
        }
  return y;
}

std::vector<int32_t> int8_fully_connected(const std::vector<int32_t>& x, int64_t batch, const std::vector<int32_t>& w,
                                          int64_t m, const Requantization& r, int32_t zero_point_y, int32_t clamp_min,
                                          int32_t clamp_max) {
  const int64_t k = static_cast<int64_t>(x.size()) / batch;
  std::vector<int32_t> y;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t o = 0; o < m; ++o) {
      int64_t acc = r.bias[o];
      for (int64_t i = 0; i < k; ++i) acc += int64_t{x[b * k + i]} * w[o * k + i];
      y.push_back(requantize(acc, r.multiplier[o], r.shift[o], zero_point_y, clamp_min, clamp_max));
    }
  return y;
}

std::vector<int32_t> int8_add(const std::vector<int32_t>& a, const std::vector<int32_t>& b, int32_t zero_point_a,
                              int32_t zero_point_b, int32_t zero_point_y, int32_t multiplier_a, int32_t multiplier_b,
                              int32_t shift, int32_t clamp_min, int32_t clamp_max) {
  std::vector<int32_t> y;
  for (size_t i = 0; i < a.size(); ++i) {
    const int64_t sum = int64_t{a[i] - zero_point_a} * multiplier_a + int64_t{b[i] - zero_point_b} * multiplier_b;
    const int64_t scaled = (sum + (int64_t{1} << (shift - 1))) >> shift;
    y.push_back(static_cast<int32_t>(std::clamp<int64_t>(scaled + zero_point_y, clamp_min, clamp_max)));
  }
  return y;
}

std::vector<int32_t> int8_global_average_pool(const std::vector<int32_t>& x, const std::vector<int64_t>& s,
                                              int32_t zero_point_x, int32_t zero_point_y, int32_t multiplier,
                                              int32_t shift) {
  const int64_t plane = s[2] * s[3];
  std::vector<int32_t> y;
  for (int64_t nc = 0; nc < s[0] * s[1]; ++nc) {
    int64_t acc = 0;
    for (int64_t i = 0; i < plane; ++i) acc += x[nc * plane + i] - zero_point_x;
    y.push_back(requantize(acc, multiplier, shift, zero_point_y, -128, 127));
  }
  return y;
}

std::vector<int32_t> int8_max_pool2d(const std::vector<int32_t>& x, const std::vector<int64_t>& s, int64_t kernel,
                                     int64_t stride, int64_t pad, const std::vector<int64_t>& y_shape) {
  const int64_t h = s[2], w = s[3], oh = y_shape[2], ow = y_shape[3];
  std::vector<int32_t> y;
  for (int64_t nc = 0; nc < s[0] * s[1]; ++nc)
    for (int64_t oy = 0; oy < oh; ++oy)
      for (int64_t ox = 0; ox < ow; ++ox) {
        int32_t best = std::numeric_limits<int32_t>::min();
        for (int64_t ky = 0; ky < kernel; ++ky)
          for (int64_t kx = 0; kx < kernel; ++kx) {
            const int64_t iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
            if (iy >= 0 && iy < h && ix >= 0 && ix < w) best = std::max(best, x[(nc * h + iy) * w + ix]);
          }
        y.push_back(best);
      }
  return y;
}

}  // namespace vkbnn::ref
