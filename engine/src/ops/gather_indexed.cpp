// GatherIndexed: Gather along one axis at indices computed at run time (ArgMax's, say), on
// gather_indexed.comp. Constant indices are Gather's (gather.cpp).

#include "ops/elementwise.hpp"

namespace vkbnn::detail {
namespace {

// The indices arrive as floats, which hold every integer up to 2^24 exactly.
constexpr int64_t kMaxIndexedLength = int64_t{1} << 24;

// X's axes before `axis`, the indices' axes, then X's axes after `axis`.
Shape gathered_shape(const Shape& x, const Shape& indices, int64_t axis) {
  Shape y(x.begin(), x.begin() + axis);
  y.insert(y.end(), indices.begin(), indices.end());
  y.insert(y.end(), x.begin() + axis + 1, x.end());
  return y;
}

void check_gather_indexed(const NodeDesc& desc) {
  desc.require(desc.inputs.size() == 2 && desc.outputs.size() == 1, "expects inputs X, Indices and 1 output");
  const Shape& x = desc.inputs[0];
  const Shape& indices = desc.inputs[1];
  const auto rank = static_cast<int64_t>(x.size());
  const int64_t axis = desc.node.params_as_GatherIndexed()->axis();
  desc.require(axis >= 0 && axis < rank, "axis " + std::to_string(axis) + " is outside the input " + shape_string(x));
  desc.require(x[static_cast<size_t>(axis)] <= kMaxIndexedLength,
               "axis " + std::to_string(axis) + " of " + shape_string(x) +
                   " is longer than the 2^24 positions float indices address exactly");
  const Shape expected = gathered_shape(x, indices, axis);
  desc.require(desc.outputs[0] == expected, "output shape " + shape_string(desc.outputs[0]) + " should be " +
                                                shape_string(expected) + " (" + shape_string(x) + " gathered at " +
                                                shape_string(indices) + " along axis " + std::to_string(axis) + ")");
}

std::vector<Dispatch> lower_gather_indexed(const NodeLowering& l) {
  const Shape& x = l.inputs[0].shape;
  const auto axis = static_cast<size_t>(l.node.params_as_GatherIndexed()->axis());
  int64_t inner = 1;
  for (size_t d = axis + 1; d < x.size(); ++d) inner *= x[d];
  const Operand data = place_operand(l, 0);
  const size_t count = element_count(l.outputs[0].shape);
  const Grid grid = grid_for(count);
  return {make_dispatch<shader::gather_indexed>(
      {.COUNT = u32(static_cast<int64_t>(count)),
       .STRIDE = grid.stride,
       .X_IN_WEIGHTS = data.in_weights,
       .INNER = u32(inner),
       .K = u32(static_cast<int64_t>(element_count(l.inputs[1].shape))),
       .AXIS = u32(x[axis])},
      {.IN_OFF = data.offset, .OUT_OFF = l.outputs[0].offset, .INDEX_OFF = l.inputs[1].offset},
      {grid.groups, 1, 1})};
}

}  // namespace

template <>
const OpKind& op_kind_of<fb::OpParams::GatherIndexed>() {
  static const OpKind kind{.check = check_gather_indexed, .lower = lower_gather_indexed, .inputs = {{"table X"}, {"Indices", InputRole::Activation}}, .shapes = [](const ShapeQuery& q) {
                             // The indices' values, not the size, say where they read: any length of the axis works.
                             return std::vector<Shape>{gathered_shape(q.inputs.at(0), q.inputs.at(1),
                                                                      q.desc.node.params_as_GatherIndexed()->axis())};
                           }};
  return kind;
}

}  // namespace vkbnn::detail
