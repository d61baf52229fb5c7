#include <bit>
#include <numeric>
#include <sstream>

#include "ops/op.hpp"

namespace vkbnn::detail {

size_t element_count(const Shape& shape) {
  return std::accumulate(shape.begin(), shape.end(), size_t{1},
                         [](size_t a, int64_t b) { return a * static_cast<size_t>(b); });
}

std::string shape_string(const Shape& shape) {
  std::ostringstream out;
  out << '[';
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? "x" : "") << shape[i];
  out << ']';
  return out.str();
}

void NodeDesc::fail(const std::string& what) const {
  throw ModelError("node '" + node.name()->str() + "' (" + op_kind(node.params_type()).name +
                   "): " + what);
}

uint32_t as_spec(float value) { return std::bit_cast<uint32_t>(value); }

void WeightPacker::align() { words_.resize((words_.size() + 3) / 4 * 4, 0.0f); }

uint32_t WeightPacker::add(std::span<const float> values) {
  align();
  auto offset = static_cast<uint32_t>(words_.size());
  words_.insert(words_.end(), values.begin(), values.end());
  return offset;
}

uint32_t WeightPacker::add_zeros(size_t count) {
  align();
  auto offset = static_cast<uint32_t>(words_.size());
  words_.resize(words_.size() + count, 0.0f);
  return offset;
}

}  // namespace vkbnn::detail
