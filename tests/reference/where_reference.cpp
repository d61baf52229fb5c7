#include "reference/where_reference.hpp"

#include <algorithm>
#include <stdexcept>

namespace vkbnn::test::ref {

Shape broadcast_shape(const std::vector<Shape>& shapes) {
  size_t rank = 0;
  for (const Shape& s : shapes) rank = std::max(rank, s.size());
  Shape out(rank, 1);
  for (const Shape& s : shapes)
    for (size_t d = 0; d < s.size(); ++d) {
      int64_t& o = out[rank - s.size() + d];
      if (s[d] == 1 || s[d] == o) continue;
      if (o != 1) throw std::invalid_argument("the shapes do not broadcast");
      o = s[d];
    }
  return out;
}

namespace {

// The flat index into an operand of shape `s` of the output coordinates `coords`.
size_t operand_index(const Shape& coords, const Shape& s) {
  const size_t lead = coords.size() - s.size();
  size_t index = 0;
  for (size_t d = 0; d < s.size(); ++d)
    index = index * static_cast<size_t>(s[d]) + (s[d] == 1 ? 0 : static_cast<size_t>(coords[lead + d]));
  return index;
}

}  // namespace

std::vector<float> where(std::span<const float> c, const Shape& c_shape, std::span<const float> x, const Shape& x_shape,
                         std::span<const float> y, const Shape& y_shape) {
  const Shape out = broadcast_shape({c_shape, x_shape, y_shape});
  size_t count = 1;
  for (int64_t d : out) count *= static_cast<size_t>(d);
  std::vector<float> result(count);
  Shape coords(out.size(), 0);
  for (size_t i = 0; i < count; ++i) {
    size_t rest = i;
    for (size_t d = out.size(); d-- > 0;) {
      coords[d] = static_cast<int64_t>(rest % static_cast<size_t>(out[d]));
      rest /= static_cast<size_t>(out[d]);
    }
    const bool take_x = c[operand_index(coords, c_shape)] != 0.0f;
    result[i] = take_x ? x[operand_index(coords, x_shape)] : y[operand_index(coords, y_shape)];
  }
  return result;
}

}  // namespace vkbnn::test::ref
