#include "reference/softmax_reference.hpp"

#include <algorithm>
#include <cmath>

namespace vkbnn::test::ref {

std::vector<float> softmax(std::span<const float> x, const std::vector<int64_t>& shape, size_t axis) {
  size_t outer = 1, inner = 1;
  for (size_t d = 0; d < axis; ++d) outer *= static_cast<size_t>(shape[d]);
  for (size_t d = axis + 1; d < shape.size(); ++d) inner *= static_cast<size_t>(shape[d]);
  const auto len = static_cast<size_t>(shape[axis]);
  std::vector<float> y(x.size());
  for (size_t o = 0; o < outer; ++o)
    for (size_t j = 0; j < inner; ++j) {
      auto at = [&](size_t k) { return (o * len + k) * inner + j; };
      double m = x[at(0)];
      for (size_t k = 1; k < len; ++k) m = std::max(m, double(x[at(k)]));
      double sum = 0;
      for (size_t k = 0; k < len; ++k) sum += std::exp(double(x[at(k)]) - m);
      for (size_t k = 0; k < len; ++k) y[at(k)] = static_cast<float>(std::exp(double(x[at(k)]) - m) / sum);
    }
  return y;
}

}  // namespace vkbnn::test::ref
