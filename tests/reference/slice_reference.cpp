#include "reference/slice_reference.hpp"

namespace vkbnn::test::ref {

std::vector<float> slice(std::span<const float> x, const std::vector<int64_t>& shape, const std::vector<int64_t>& starts,
                         const std::vector<int64_t>& steps, const std::vector<int64_t>& out_shape) {
  size_t total = 1;
  for (int64_t d : out_shape) total *= static_cast<size_t>(d);
  std::vector<float> y(total);
  for (size_t i = 0; i < total; ++i) {
    size_t rest = i;
    int64_t src = 0, stride = 1;
    for (size_t d = shape.size(); d-- > 0;) {
      const auto c = static_cast<int64_t>(rest % static_cast<size_t>(out_shape[d]));
      rest /= static_cast<size_t>(out_shape[d]);
      src += (starts[d] + c * steps[d]) * stride;
      stride *= shape[d];
    }
    y[i] = x[static_cast<size_t>(src)];
  }
  return y;
}

}  // namespace vkbnn::test::ref
