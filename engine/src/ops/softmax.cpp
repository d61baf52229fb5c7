// Softmax along any axis, seen as [outer, len, inner].

#include "ops/elementwise.hpp"

namespace vkbnn::detail {

namespace {

void check_softmax(const NodeDesc& desc) {
  desc.require(desc.inputs.size() == 1 && desc.outputs.size() == 1, "expects 1 input and 1 output");
  const Shape& x = desc.inputs[0];
  const auto rank = static_cast<int64_t>(x.size());
  const int32_t axis = desc.node.params_as_Softmax()->axis();
  desc.require(rank >= 1 && axis >= -rank && axis < rank,
               "axis " + std::to_string(axis) + " is out of range for input " + shape_string(x));
  desc.require(desc.outputs[0] == x,
               "output shape " + shape_string(desc.outputs[0]) + " differs from input " + shape_string(x));
}

std::vector<Dispatch> lower_softmax(const NodeLowering& l) {
  const Shape& x = l.inputs[0].shape;
  const int32_t axis_param = l.node.params_as_Softmax()->axis();
  const auto axis = static_cast<ptrdiff_t>(axis_param < 0 ? axis_param + static_cast<int32_t>(x.size()) : axis_param);
  const size_t outer = element_count(Shape(x.begin(), x.begin() + axis));
  const size_t inner = element_count(Shape(x.begin() + axis + 1, x.end()));
  const size_t rows = outer * inner;
  const Grid grid = grid_for(rows);
  return {make_dispatch<shader::softmax>({.ROWS = static_cast<uint32_t>(rows),
                                          .STRIDE = grid.stride,
                                          .LEN = static_cast<uint32_t>(x[static_cast<size_t>(axis)]),
                                          .INNER = static_cast<uint32_t>(inner)},
                                         {.IN_OFF = l.inputs[0].offset, .OUT_OFF = l.outputs[0].offset},
                                         {grid.groups, 1, 1})};
}

}  // namespace

template <>
const OpKind& op_kind_of<fb::OpParams::Softmax>() {
  static const OpKind kind{.check = check_softmax, .lower = lower_softmax, .inputs = kOneActivation, .shapes = [](const ShapeQuery& q) { return q.same_as(0); }};
  return kind;
}

}  // namespace vkbnn::detail
