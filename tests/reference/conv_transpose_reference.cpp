#include "reference/conv_transpose_reference.hpp"

namespace vkbnn::test::ref {

int64_t conv_transpose_output_length(int64_t size, int kernel, int stride, int dilation, int pad_begin, int pad_end,
                                     int output_padding) {
  return stride * (size - 1) + output_padding + static_cast<int64_t>(kernel - 1) * dilation + 1 - pad_begin - pad_end;
}

std::vector<float> conv_transpose2d(std::span<const float> x, const Shape& x_shape, std::span<const float> w,
                                    const Shape& w_shape, std::span<const float> bias, const ConvTranspose2D& p) {
  const int64_t n_count = x_shape[0], c_count = x_shape[1], h = x_shape[2], wd = x_shape[3];
  const int64_t m_per_group = w_shape[1], c_per_group = c_count / p.group, m_count = m_per_group * p.group;
  const int64_t oh = conv_transpose_output_length(h, p.kernel_h, p.stride_h, p.dilation_h, p.pad_top, p.pad_bottom,
                                                   p.output_padding_h);
  const int64_t ow = conv_transpose_output_length(wd, p.kernel_w, p.stride_w, p.dilation_w, p.pad_left, p.pad_right,
                                                  p.output_padding_w);
  std::vector<double> sum(static_cast<size_t>(n_count * m_count * oh * ow), 0.0);
  for (int64_t n = 0; n < n_count; ++n)
    for (int64_t m = 0; m < m_count; ++m)
      for (int64_t i = 0; i < oh * ow; ++i)
        sum[static_cast<size_t>((n * m_count + m) * oh * ow + i)] = bias.empty() ? 0.0 : bias[static_cast<size_t>(m)];
  for (int64_t n = 0; n < n_count; ++n)
    for (int64_t c = 0; c < c_count; ++c) {
      const int64_t g = c / c_per_group;
      for (int64_t iy = 0; iy < h; ++iy)
        for (int64_t ix = 0; ix < wd; ++ix) {
          const double v = x[static_cast<size_t>(((n * c_count + c) * h + iy) * wd + ix)];
          for (int64_t mo = 0; mo < m_per_group; ++mo) {
            const int64_t m = g * m_per_group + mo;
            for (int64_t ky = 0; ky < p.kernel_h; ++ky)
              for (int64_t kx = 0; kx < p.kernel_w; ++kx) {
                const int64_t oy = iy * p.stride_h + ky * p.dilation_h - p.pad_top;
                const int64_t ox = ix * p.stride_w + kx * p.dilation_w - p.pad_left;
                if (oy < 0 || oy >= oh || ox < 0 || ox >= ow) continue;
                sum[static_cast<size_t>(((n * m_count + m) * oh + oy) * ow + ox)] +=
                    v * w[static_cast<size_t>(((c * m_per_group + mo) * p.kernel_h + ky) * p.kernel_w + kx)];
              }
          }
        }
    }
  std::vector<float> y(sum.size());
  for (size_t i = 0; i < y.size(); ++i) y[i] = static_cast<float>(activate(sum[i], p.activation));
  return y;
}

}  // namespace vkbnn::test::ref
