#include "reference/conv_reference.hpp"

namespace vkbnn::test::ref {

int64_t conv_output_length(int64_t size, int kernel, int stride, int dilation, int pad_begin, int pad_end) {
  return (size + pad_begin + pad_end - (static_cast<int64_t>(kernel - 1) * dilation + 1)) / stride + 1;
}

std::vector<float> conv2d(std::span<const float> x, const Shape& x_shape, std::span<const float> w,
                          const Shape& w_shape, std::span<const float> bias, const Conv2D& p) {
  const int64_t n_count = x_shape[0], c_count = x_shape[1], h = x_shape[2], wd = x_shape[3];
  const int64_t m_count = w_shape[0], c_per_group = w_shape[1];
  const int64_t m_per_group = m_count / p.group;
  const int64_t oh = conv_output_length(h, p.kernel_h, p.stride_h, p.dilation_h, p.pad_top, p.pad_bottom);
  const int64_t ow = conv_output_length(wd, p.kernel_w, p.stride_w, p.dilation_w, p.pad_left, p.pad_right);
  std::vector<float> y(static_cast<size_t>(n_count * m_count * oh * ow));
  for (int64_t n = 0; n < n_count; ++n)
    for (int64_t m = 0; m < m_count; ++m) {
      const int64_t g = m / m_per_group;
      for (int64_t oy = 0; oy < oh; ++oy)
        for (int64_t ox = 0; ox < ow; ++ox) {
          double sum = bias.empty() ? 0.0 : bias[static_cast<size_t>(m)];
          for (int64_t ci = 0; ci < c_per_group; ++ci) {
            const int64_t c = g * c_per_group + ci;
            for (int64_t ky = 0; ky < p.kernel_h; ++ky)
              for (int64_t kx = 0; kx < p.kernel_w; ++kx) {
                const int64_t iy = oy * p.stride_h - p.pad_top + ky * p.dilation_h;
                const int64_t ix = ox * p.stride_w - p.pad_left + kx * p.dilation_w;
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                sum += static_cast<double>(x[static_cast<size_t>(((n * c_count + c) * h + iy) * wd + ix)]) *
                       w[static_cast<size_t>(((m * c_per_group + ci) * p.kernel_h + ky) * p.kernel_w + kx)];
              }
          }
          y[static_cast<size_t>(((n * m_count + m) * oh + oy) * ow + ox)] =
              static_cast<float>(activate(sum, p.activation));
        }
    }
  return y;
}

std::vector<float> fully_connected(std::span<const float> x, int64_t n, int64_t k, std::span<const float> w,
                                   int64_t m, std::span<const float> bias, const Activation& activation) {
  std::vector<float> y(static_cast<size_t>(n * m));
  for (int64_t row = 0; row < n; ++row)
    for (int64_t col = 0; col < m; ++col) {
      double sum = bias.empty() ? 0.0 : bias[static_cast<size_t>(col)];
      for (int64_t i = 0; i < k; ++i)
        sum += static_cast<double>(x[static_cast<size_t>(row * k + i)]) * w[static_cast<size_t>(col * k + i)];
      y[static_cast<size_t>(row * m + col)] = static_cast<float>(activate(sum, activation));
    }
  return y;
}

}  // namespace vkbnn::test::ref
