#include "reference/arg_reduce_reference.hpp"

#include <algorithm>
#include <cmath>

namespace vkbnn::test::ref {

std::vector<float> arg_reduce(std::span<const float> x, const std::vector<int64_t>& shape, int64_t axis, bool max,
                              bool last) {
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= shape[static_cast<size_t>(d)];
  for (size_t d = static_cast<size_t>(axis) + 1; d < shape.size(); ++d) inner *= shape[d];
  const int64_t length = shape[static_cast<size_t>(axis)];
  std::vector<float> out;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      // Collect the line, then find the extreme the slow way: a NaN anywhere wins.
      std::vector<float> line;
      for (int64_t k = 0; k < length; ++k) line.push_back(x[static_cast<size_t>((o * length + k) * inner + i)]);
      std::vector<int64_t> winners;
      for (int64_t k = 0; k < length; ++k)
        if (std::isnan(line[static_cast<size_t>(k)])) winners.push_back(k);
      if (winners.empty()) {
        const float extreme = max ? *std::max_element(line.begin(), line.end())
                                  : *std::min_element(line.begin(), line.end());
        for (int64_t k = 0; k < length; ++k)
          if (line[static_cast<size_t>(k)] == extreme) winners.push_back(k);
      }
      out.push_back(static_cast<float>(last ? winners.back() : winners.front()));
    }
  return out;
}

std::vector<float> gather_clamped(std::span<const float> x, const std::vector<int64_t>& shape, int64_t axis,
                                  std::span<const float> indices) {
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= shape[static_cast<size_t>(d)];
  for (size_t d = static_cast<size_t>(axis) + 1; d < shape.size(); ++d) inner *= shape[d];
  const int64_t length = shape[static_cast<size_t>(axis)];
  std::vector<float> out;
  for (int64_t o = 0; o < outer; ++o)
    for (float value : indices) {
      // In double, which holds every float index (1e20 too) without an overflowing integer conversion.
      double position = std::round(static_cast<double>(value));
      if (position < 0) position += static_cast<double>(length);
      const auto index = static_cast<int64_t>(std::clamp(position, 0.0, static_cast<double>(length - 1)));
      for (int64_t i = 0; i < inner; ++i) out.push_back(x[static_cast<size_t>((o * length + index) * inner + i)]);
    }
  return out;
}

}  // namespace vkbnn::test::ref
