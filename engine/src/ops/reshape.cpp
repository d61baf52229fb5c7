// Reshape, Flatten, Squeeze and Unsqueeze: the output aliases the input's memory.

#include <algorithm>

#include "ops/op.hpp"

namespace vkbnn::detail {
namespace {

void check_reshape(const NodeDesc& desc) {
  desc.require(desc.inputs.size() == 1 && desc.outputs.size() == 1, "expects 1 input and 1 output");
  desc.require(element_count(desc.inputs[0]) == element_count(desc.outputs[0]),
               "cannot reshape " + shape_string(desc.inputs[0]) + " into " + shape_string(desc.outputs[0]) +
                   ": the element counts differ");
}

// A reshape splits and merges runs of consecutive axes. Pairing the converted input's axes with
// the output's into the shortest runs of equal products tells which output axes each input run
// becomes: a run whose lengths changed may become one output axis (a flatten), or stay as it was
// (axes of length 1 added or dropped around it); any other split is fixed for its converted
// lengths.
std::vector<Shape> reshape_shapes(const ShapeQuery& q) {
  const Shape& from = q.desc.inputs.at(0);
  const Shape& x = q.inputs.at(0);
  const Shape& converted = q.desc.outputs.at(0);
  if (x == from) return {converted};
  if (x.size() != from.size()) q.desc.fail("input rank changed");
  Shape y = converted;
  size_t i = 0, o = 0;
  while (i < from.size() || o < converted.size()) {
    const size_t i0 = i, o0 = o;
    int64_t in = 1, out = 1;
    // Take at least one axis from a side that has any left, then grow the smaller product.
    if (i < from.size()) in *= from[i++];
    if (o < converted.size()) out *= converted[o++];
    while (in != out) {
      if (in < out && i < from.size()) in *= from[i++];
      else if (o < converted.size()) out *= converted[o++];
      else q.desc.fail("cannot pair the axes of " + shape_string(from) + " with " + shape_string(converted));
    }
    // Trailing length-1 axes join the last run.
    if (i < from.size() && o == converted.size()) while (i < from.size()) ++i;
    if (o < converted.size() && i == from.size()) while (o < converted.size()) ++o;
    if (std::equal(x.begin() + static_cast<ptrdiff_t>(i0), x.begin() + static_cast<ptrdiff_t>(i),
                   from.begin() + static_cast<ptrdiff_t>(i0)))
      continue;
    int64_t now = 1;
    for (size_t d = i0; d < i; ++d) now *= x[d];
    Shape kept_in, kept_out;
    for (size_t d = i0; d < i; ++d)
      if (from[d] != 1) kept_in.push_back(d);
    for (size_t d = o0; d < o; ++d)
      if (converted[d] != 1) kept_out.push_back(d);
    if (kept_out.size() == 1) {
      y[static_cast<size_t>(kept_out[0])] = now;
    } else if (kept_in.size() == kept_out.size()) {
      for (size_t k = 0; k < kept_in.size(); ++k)
        y[static_cast<size_t>(kept_out[k])] = x[static_cast<size_t>(kept_in[k])];
      for (size_t d = i0; d < i; ++d)
        if (from[d] == 1 && x[d] != 1) q.pins("it drops axis " + std::to_string(d) + ", which is no longer 1");
    } else {
      q.pins("it splits axes " + std::to_string(i0) + " to " + std::to_string(i - 1) + " of " + shape_string(from) +
             " into the fixed lengths of " + shape_string(converted));
    }
  }
  return {y};
}

}  // namespace

template <>
const OpKind& op_kind_of<fb::OpParams::Reshape>() {
  static const OpKind kind{.check = check_reshape,
                           .alias = true, .inputs = kOneActivation,
                           .precision = [](const NodeDesc&) { return Precision::None; },
                           .shapes = reshape_shapes};
  return kind;
}

}  // namespace vkbnn::detail
