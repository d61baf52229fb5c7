#include "reference/resize_reference.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace vkbnn::test::ref {
namespace {

// The coefficients of the neighbours floor(x) and floor(x) + 1 for a fractional part `ratio`
// in (0, 1] (1 where x is an integer: the neighbour above is x itself).
std::pair<double, double> coefficients(const ResizeSpec& spec, double ratio) {
  if (spec.mode == "linear") return {1 - ratio, ratio};
  if (ratio == 1) return {0, 1};
  if (spec.nearest_mode == "round_prefer_floor") return {ratio <= 0.5, ratio > 0.5};
  if (spec.nearest_mode == "round_prefer_ceil") return {ratio < 0.5, ratio >= 0.5};
  if (spec.nearest_mode == "floor") return {1, 0};
  if (spec.nearest_mode == "ceil") return {0, 1};
  throw std::invalid_argument("nearest_mode " + spec.nearest_mode);
}

double original(const ResizeSpec& spec, double x, double scale, int64_t in) {
  const double length = scale * static_cast<double>(in);
  const std::string& m = spec.coordinates;
  if (m == "align_corners") return length == 1 ? 0 : x * static_cast<double>(in - 1) / (length - 1);
  if (m == "asymmetric") return x / scale;
  if (m == "pytorch_half_pixel") return length == 1 ? -0.5 : (x + 0.5) / scale - 0.5;
  if (m == "half_pixel") return (x + 0.5) / scale - 0.5;
  if (m == "tf_half_pixel_for_nn") return (x + 0.5) / scale;
  throw std::invalid_argument("coordinate_transformation_mode " + m);
}

// One output position along an axis: the (index, coefficient) pairs it sums.
std::vector<std::pair<int64_t, double>> taps(const ResizeSpec& spec, int64_t o, double scale, int64_t in) {
  const double x = original(spec, static_cast<double>(o), scale, in);
  const double lower = std::floor(x);
  const bool integer = x == lower;
  // At an integer x the two nearest neighbours are x - 1 and x (ties go to the smaller index).
  const auto first = static_cast<int64_t>(integer ? lower - 1 : lower);
  const auto [c0, c1] = coefficients(spec, integer ? 1.0 : x - lower);
  auto edge = [&](int64_t i) { return std::clamp<int64_t>(i, 0, in - 1); };
  return {{edge(first), c0}, {edge(first + 1), c1}};
}

}  // namespace

std::vector<float> resize(std::span<const float> x, const std::vector<int64_t>& shape, const ResizeSpec& spec) {
  const int64_t planes = shape[0] * shape[1], h = shape[2], w = shape[3];
  const double scale_h = spec.scales ? spec.scales->first : static_cast<double>(spec.out_h) / static_cast<double>(h);
  const double scale_w = spec.scales ? spec.scales->second : static_cast<double>(spec.out_w) / static_cast<double>(w);
  std::vector<float> y(static_cast<size_t>(planes * spec.out_h * spec.out_w));
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t oy = 0; oy < spec.out_h; ++oy)
      for (int64_t ox = 0; ox < spec.out_w; ++ox) {
        double sum = 0;
        for (const auto& [iy, cy] : taps(spec, oy, scale_h, h))
          for (const auto& [ix, cx] : taps(spec, ox, scale_w, w))
            sum += cy * cx * x[static_cast<size_t>((p * h + iy) * w + ix)];
        y[static_cast<size_t>((p * spec.out_h + oy) * spec.out_w + ox)] = static_cast<float>(sum);
      }
  return y;
}

}  // namespace vkbnn::test::ref
