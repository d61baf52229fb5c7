#include "reference/pool_reference.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace vkbnn::test::ref {

int64_t pool_output_length(int64_t size, int kernel, int stride, int dilation, int pad_begin, int pad_end,
                           bool ceil_mode) {
  const double span = double(size + pad_begin + pad_end - (int64_t(kernel) - 1) * dilation - 1) / stride;
  int64_t out = static_cast<int64_t>(ceil_mode ? std::ceil(span) : std::floor(span)) + 1;
  if (ceil_mode && (out - 1) * stride >= size + pad_begin) --out;
  return out;
}

std::vector<float> pool2d(std::span<const float> x, const std::vector<int64_t>& shape, const Pool2D& p,
                          int64_t out_h, int64_t out_w) {
  const int64_t planes = shape[0] * shape[1], h = shape[2], w = shape[3];
  std::vector<float> y(static_cast<size_t>(planes * out_h * out_w));
  for (int64_t plane = 0; plane < planes; ++plane)
    for (int64_t oy = 0; oy < out_h; ++oy)
      for (int64_t ox = 0; ox < out_w; ++ox) {
        double sum = 0, best = -std::numeric_limits<double>::infinity();
        int64_t inside = 0, inside_padded = 0;
        for (int ky = 0; ky < p.kernel_h; ++ky)
          for (int kx = 0; kx < p.kernel_w; ++kx) {
            const int64_t iy = oy * p.stride_h - p.pad_top + int64_t(ky) * p.dilation_h;
            const int64_t ix = ox * p.stride_w - p.pad_left + int64_t(kx) * p.dilation_w;
            if (iy >= -p.pad_top && iy < h + p.pad_bottom && ix >= -p.pad_left && ix < w + p.pad_right)
              ++inside_padded;
            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
            const double v = x[static_cast<size_t>((plane * h + iy) * w + ix)];
            sum += v;
            best = std::max(best, v);
            ++inside;
          }
        const double result = p.average ? sum / double(p.count_include_pad ? inside_padded : inside) : best;
        y[static_cast<size_t>((plane * out_h + oy) * out_w + ox)] = static_cast<float>(result);
      }
  return y;
}

std::vector<float> global_pool(std::span<const float> x, const std::vector<int64_t>& shape, bool average) {
  const auto planes = static_cast<size_t>(shape[0] * shape[1]);
  const size_t size = x.size() / planes;
  std::vector<float> y(planes);
  for (size_t plane = 0; plane < planes; ++plane) {
    double sum = 0, best = -std::numeric_limits<double>::infinity();
    for (size_t k = 0; k < size; ++k) {
      sum += x[plane * size + k];
      best = std::max(best, double(x[plane * size + k]));
    }
    y[plane] = static_cast<float>(average ? sum / double(size) : best);
  }
  return y;
}

}  // namespace vkbnn::test::ref
