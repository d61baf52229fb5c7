#include "reference/binary_reference.hpp"

#include <algorithm>

namespace vkbnn::test::ref {

std::vector<int> binarize(std::span<const float> x, const Shape& shape, std::span<const float> threshold) {
  const size_t channels = static_cast<size_t>(shape[1]);
  size_t inner = 1;
  for (size_t d = 2; d < shape.size(); ++d) inner *= static_cast<size_t>(shape[d]);
  std::vector<int> signs(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const float t = threshold.empty() ? 0.0f : threshold[(i / inner) % channels];
    signs[i] = x[i] + t < 0.0f ? -1 : 1;
  }
  return signs;
}

std::vector<uint32_t> pack_signs(std::span<const int> signs, const Shape& shape) {
  const int64_t n = shape[0], c = shape[1], words = (c + 31) / 32;
  int64_t inner = 1;
  for (size_t d = 2; d < shape.size(); ++d) inner *= shape[d];
  std::vector<uint32_t> packed(static_cast<size_t>(n * words * inner), 0);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t i = 0; i < inner; ++i)
        if (signs[static_cast<size_t>((b * c + ch) * inner + i)] < 0)
          packed[static_cast<size_t>((b * words + ch / 32) * inner + i)] |= 1u << (ch % 32);
  return packed;
}

std::vector<int64_t> binary_conv2d(std::span<const int> x, const Shape& xs, std::span<const int> w, const Shape& ws,
                                   const BinaryConv2D& p, Shape* out_shape) {
  const int64_t n = xs[0], c = xs[1], h = xs[2], wd = xs[3], m = ws[0], cg = c / p.groups;
  const int64_t oh = (h + p.pad_top + p.pad_bottom - ((p.kernel_h - 1) * p.dilation_h + 1)) / p.stride_h + 1;
  const int64_t ow = (wd + p.pad_left + p.pad_right - ((p.kernel_w - 1) * p.dilation_w + 1)) / p.stride_w + 1;
  *out_shape = {n, m, oh, ow};
  std::vector<int64_t> y(static_cast<size_t>(n * m * oh * ow), 0);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t oc = 0; oc < m; ++oc)
      for (int64_t oy = 0; oy < oh; ++oy)
        for (int64_t ox = 0; ox < ow; ++ox) {
          int64_t sum = 0;
          for (int64_t j = 0; j < cg; ++j)
            for (int64_t ky = 0; ky < p.kernel_h; ++ky)
              for (int64_t kx = 0; kx < p.kernel_w; ++kx) {
                const int64_t iy = oy * p.stride_h - p.pad_top + ky * p.dilation_h;
                const int64_t ix = ox * p.stride_w - p.pad_left + kx * p.dilation_w;
                const int64_t ic = oc / (m / p.groups) * cg + j;
                const int weight = w[static_cast<size_t>(((oc * cg + j) * p.kernel_h + ky) * p.kernel_w + kx)];
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) {
                  if (!p.zero_padding) sum += weight;
                  continue;
                }
                sum += weight * x[static_cast<size_t>(((b * c + ic) * h + iy) * wd + ix)];
              }
          y[static_cast<size_t>(((b * m + oc) * oh + oy) * ow + ox)] = sum;
        }
  return y;
}

namespace {

double link_value(const Link& link, std::span<const float> xr, const Shape& rs, int64_t m, int64_t b, int64_t oc,
                  int64_t oy, int64_t ox) {
  const int64_t cr = rs[1], h = rs.size() == 4 ? rs[2] : 1, w = rs.size() == 4 ? rs[3] : 1;
  std::vector<int64_t> channels;
  switch (link.channels) {
    case LinkChannels::Identity: channels = {oc}; break;
    case LinkChannels::Expand: channels = {link.strided ? oc % cr : oc / (m / cr)}; break;
    case LinkChannels::Squeeze:
      for (int64_t j = 0; j < cr / m; ++j) channels.push_back(link.strided ? oc + j * m : oc * (cr / m) + j);
      break;
  }
  double total = 0;
  for (int64_t ch : channels) {
    double sum = 0;
    int64_t count = 0;
    for (int64_t y = oy * link.pool; y < std::min(h, (oy + 1) * link.pool); ++y)
      for (int64_t x = ox * link.pool; x < std::min(w, (ox + 1) * link.pool); ++x, ++count)
        sum += xr[static_cast<size_t>(((b * cr + ch) * h + y) * w + x)];
    total += sum / static_cast<double>(count);
  }
  return link.mean ? total / static_cast<double>(channels.size()) : total;
}

}  // namespace

std::vector<double> binary_epilogue(std::span<const int64_t> acc, const Shape& as, const Epilogue& e,
                                    std::span<const float> x_real, const Shape& real_shape) {
  const int64_t n = as[0], m = as[1], oh = as.size() == 4 ? as[2] : 1, ow = as.size() == 4 ? as[3] : 1;
  auto activate = [&](double v, int64_t oc) {
    if (e.activation == BinaryActivation::PRelu) return v >= 0 ? v : v * e.slope[oc];
    if (e.activation == BinaryActivation::RPRelu) {
      const double t = v - e.shift_in[oc];
      return (t >= 0 ? t : t * e.slope[oc]) + e.shift_out[oc];
    }
    return v;
  };
  std::vector<double> y(acc.size());
  for (int64_t b = 0; b < n; ++b)
    for (int64_t oc = 0; oc < m; ++oc)
      for (int64_t oy = 0; oy < oh; ++oy)
        for (int64_t ox = 0; ox < ow; ++ox) {
          const size_t i = static_cast<size_t>(((b * m + oc) * oh + oy) * ow + ox);
          double v = static_cast<double>(acc[i]) * e.scale[oc] + e.shift[oc];
          if (!e.activation_after_link) v = activate(v, oc);
          if (e.has_link) v += e.gamma[oc] * link_value(e.link, x_real, real_shape, m, b, oc, oy, ox);
          if (e.activation_after_link) v = activate(v, oc);
          y[i] = v;
        }
  return y;
}

std::vector<int> binary_max_pool(std::span<const int> x, const Shape& xs, int kernel, int stride, int pad,
                                 Shape* out_shape) {
  const int64_t n = xs[0], c = xs[1], h = xs[2], w = xs[3];
  const int64_t oh = (h + 2 * pad - kernel) / stride + 1, ow = (w + 2 * pad - kernel) / stride + 1;
  *out_shape = {n, c, oh, ow};
  std::vector<int> y(static_cast<size_t>(n * c * oh * ow));
  for (int64_t p = 0; p < n * c; ++p)
    for (int64_t oy = 0; oy < oh; ++oy)
      for (int64_t ox = 0; ox < ow; ++ox) {
        int best = -1;
        for (int64_t ky = 0; ky < kernel; ++ky)
          for (int64_t kx = 0; kx < kernel; ++kx) {
            const int64_t iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
            if (iy >= 0 && iy < h && ix >= 0 && ix < w) best = std::max(best, x[static_cast<size_t>((p * h + iy) * w + ix)]);
          }
        y[static_cast<size_t>((p * oh + oy) * ow + ox)] = best;
      }
  return y;
}

}  // namespace vkbnn::test::ref
