// Concat along any axis: each input is a block of `outer` rows copied into the output's rows
// at its running offset along the axis.

#include "ops/elementwise.hpp"

namespace vkbnn::detail {
namespace {

size_t normalized_axis(int32_t axis, size_t rank) {
  return static_cast<size_t>(axis < 0 ? axis + static_cast<int64_t>(rank) : axis);
}

void check_concat(const NodeDesc& desc) {
  desc.require(!desc.inputs.empty() && desc.outputs.size() == 1, "expects at least 1 input and 1 output");
  const Shape& y = desc.outputs[0];
  const auto rank = static_cast<int64_t>(y.size());
  const int32_t axis_param = desc.node.params_as_Concat()->axis();
  desc.require(rank >= 1 && axis_param >= -rank && axis_param < rank,
               "axis " + std::to_string(axis_param) + " is out of range for output " + shape_string(y));
  const size_t axis = normalized_axis(axis_param, y.size());
  int64_t total = 0;
  for (size_t i = 0; i < desc.inputs.size(); ++i) {
    const Shape& x = desc.inputs[i];
    bool matches = x.size() == y.size();
    for (size_t d = 0; matches && d < x.size(); ++d) matches = d == axis || x[d] == y[d];
    desc.require(matches, "input " + std::to_string(i) + " " + shape_string(x) +
                              " does not match output " + shape_string(y) + " outside axis " + std::to_string(axis));
    total += x[axis];
  }
  desc.require(total == y[axis], "inputs add up to " + std::to_string(total) + " along axis " +
                                     std::to_string(axis) + " but the output has " + std::to_string(y[axis]));
}

std::vector<Dispatch> lower_concat(const NodeLowering& l) {
  const Shape& y = l.outputs[0].shape;
  const size_t axis = normalized_axis(l.node.params_as_Concat()->axis(), y.size());
  const size_t outer = element_count(Shape(y.begin(), y.begin() + static_cast<ptrdiff_t>(axis)));
  const size_t inner = element_count(Shape(y.begin() + static_cast<ptrdiff_t>(axis) + 1, y.end()));
  const auto out_row = static_cast<uint32_t>(static_cast<size_t>(y[axis]) * inner);
  std::vector<Dispatch> dispatches;
  size_t position = 0;
  for (size_t i = 0; i < l.inputs.size(); ++i) {
    const auto row_len = static_cast<uint32_t>(static_cast<size_t>(l.inputs[i].shape[axis]) * inner);
    const Operand src = place_operand(l, i);
    const size_t count = outer * row_len;
    // Each input lands in its own part of the output: bound alone, the parts need no barrier
    // between them where they do not interleave (concatenation along axis 0, or with one row).
    const uint64_t first = l.outputs[0].offset + position * inner;
    const WordRange part = output_part(l, first, first + (outer - 1) * out_row + row_len);
    const auto dst = static_cast<uint32_t>(first - part.begin);
    const bool vec4 = row_len % 4 == 0 && out_row % 4 == 0 && vec4_aligned({src.offset, dst});
    const Grid grid = grid_for(vec4 ? count / 4 : count);
    dispatches.push_back(make_dispatch<shader::concat>({.COUNT = static_cast<uint32_t>(count),
                                                        .STRIDE = grid.stride,
                                                        .VEC4 = vec4,
                                                        .ROW_LEN = row_len,
                                                        .OUT_ROW = out_row,
                                                        .SRC_IN_WEIGHTS = src.in_weights},
                                                       {.SRC_OFF = src.offset, .DST_OFF = dst}, {grid.groups, 1, 1}));
    dispatches.back().operands = std::vector<uint32_t>{static_cast<uint32_t>(i)};
    dispatches.back().written = part;
    position += static_cast<size_t>(l.inputs[i].shape[axis]);
  }
  return dispatches;
}

// The inputs' new lengths along the axis add up; every other axis must still agree.
std::vector<Shape> concat_shapes(const ShapeQuery& q) {
  const size_t axis = normalized_axis(q.desc.node.params_as_Concat()->axis(), q.desc.outputs.at(0).size());
  Shape y = q.inputs.at(0);
  y.at(axis) = 0;
  for (const Shape& x : q.inputs) {
    if (x.size() != y.size()) q.pins("its inputs' ranks differ");
    for (size_t d = 0; d < x.size(); ++d)
      if (d != axis && x[d] != y[d]) q.desc.fail("its inputs " + shape_string(x) + " and " + shape_string(q.inputs[0]) +
                          " no longer agree outside axis " + std::to_string(axis) + " at this input size");
    y[axis] += x[axis];
  }
  return {y};
}

}  // namespace

template <>
const OpKind& op_kind_of<fb::OpParams::Concat>() {
  static const OpKind kind{.check = check_concat, .lower = lower_concat, .shapes = concat_shapes};
  return kind;
}

}  // namespace vkbnn::detail
