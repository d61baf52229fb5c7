#include "reference/gather_reference.hpp"

namespace vkbnn::test::ref {
namespace {

// The coordinates of flat index i in `shape`, row-major.
std::vector<int64_t> coordinates(int64_t i, const std::vector<int64_t>& shape) {
  std::vector<int64_t> c(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    c[d] = i % shape[d];
    i /= shape[d];
  }
  return c;
}

int64_t flat(const std::vector<int64_t>& c, const std::vector<int64_t>& shape) {
  int64_t i = 0;
  for (size_t d = 0; d < shape.size(); ++d) i = i * shape[d] + c[d];
  return i;
}

int64_t count(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

}  // namespace

std::vector<float> gather(std::span<const float> x, const std::vector<int64_t>& shape, int64_t axis,
                          const std::vector<int64_t>& indices) {
  std::vector<int64_t> out = shape;
  out[static_cast<size_t>(axis)] = static_cast<int64_t>(indices.size());
  std::vector<float> y(static_cast<size_t>(count(out)));
  for (size_t i = 0; i < y.size(); ++i) {
    auto c = coordinates(static_cast<int64_t>(i), out);
    c[static_cast<size_t>(axis)] = indices[static_cast<size_t>(c[static_cast<size_t>(axis)])];
    y[i] = x[static_cast<size_t>(flat(c, shape))];
  }
  return y;
}

std::vector<float> tile(std::span<const float> x, const std::vector<int64_t>& shape, const std::vector<int64_t>& out) {
  std::vector<float> y(static_cast<size_t>(count(out)));
  for (size_t i = 0; i < y.size(); ++i) {
    auto c = coordinates(static_cast<int64_t>(i), out);
    for (size_t d = 0; d < c.size(); ++d) c[d] %= shape[d];
    y[i] = x[static_cast<size_t>(flat(c, shape))];
  }
  return y;
}

}  // namespace vkbnn::test::ref
