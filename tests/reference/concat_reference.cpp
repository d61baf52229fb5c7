#include "reference/concat_reference.hpp"

namespace vkbnn::test::ref {

std::vector<float> concat(const std::vector<std::vector<float>>& inputs,
                          const std::vector<std::vector<int64_t>>& shapes, size_t axis) {
  // Walk the output by multi-index: find which input covers each coordinate along the axis.
  std::vector<int64_t> out_shape = shapes[0];
  out_shape[axis] = 0;
  for (const auto& s : shapes) out_shape[axis] += s[axis];
  size_t total = 1;
  for (int64_t d : out_shape) total *= static_cast<size_t>(d);
  std::vector<float> y(total);
  std::vector<int64_t> coord(out_shape.size(), 0);
  for (size_t i = 0; i < total; ++i) {
    size_t rest = i;
    for (size_t d = out_shape.size(); d-- > 0;) {
      coord[d] = static_cast<int64_t>(rest % static_cast<size_t>(out_shape[d]));
      rest /= static_cast<size_t>(out_shape[d]);
    }
    size_t which = 0;
    int64_t along = coord[axis];
    while (along >= shapes[which][axis]) along -= shapes[which++][axis];
    size_t src = 0;
    for (size_t d = 0; d < out_shape.size(); ++d)
      src = src * static_cast<size_t>(shapes[which][d]) + static_cast<size_t>(d == axis ? along : coord[d]);
    y[i] = inputs[which][src];
  }
  return y;
}

}  // namespace vkbnn::test::ref
