// ArgReduce: the index of the largest or smallest element along one axis (ONNX ArgMax, ArgMin),
// written as exact float integers, on arg_reduce.comp.

#include "ops/elementwise.hpp"

namespace vkbnn::detail {
namespace {

// Float32 holds every integer up to 2^24 exactly: the longest axis whose indices it can carry.
constexpr int64_t kMaxIndexedLength = int64_t{1} << 24;

size_t axis_of(const fb::ArgReduce& p) { return static_cast<size_t>(p.axis()); }

// X's shape with the reduced axis kept as 1 or dropped (a scalar result as [1]).
Shape reduced_shape(const fb::ArgReduce& p, Shape x) {
  if (p.keep_dims()) x[axis_of(p)] = 1;
  else x.erase(x.begin() + p.axis());
  if (x.empty()) x.push_back(1);
  return x;
}

void check_arg_reduce(const NodeDesc& desc) {
  desc.require(desc.inputs.size() == 1 && desc.outputs.size() == 1, "expects 1 input and 1 output");
  const auto* p = desc.node.params_as_ArgReduce();
  desc.require(fb::EnumNameArgKind(p->kind())[0] != '\0', "unknown kind");
  const Shape& x = desc.inputs[0];
  const auto rank = static_cast<int64_t>(x.size());
  desc.require(p->axis() >= 0 && p->axis() < rank,
               "axis " + std::to_string(p->axis()) + " is out of range for input " + shape_string(x));
  desc.require(x[axis_of(*p)] <= kMaxIndexedLength, "axis " + std::to_string(p->axis()) + " of " + shape_string(x) +
                                                        " is longer than the 2^24 indices a float holds exactly");
  const Shape expected = reduced_shape(*p, x);
  desc.require(desc.outputs[0] == expected, "output shape " + shape_string(desc.outputs[0]) + " should be " +
                                                shape_string(expected));
}

std::vector<Dispatch> lower_arg_reduce(const NodeLowering& l) {
  const auto* p = l.node.params_as_ArgReduce();
  const Shape& x = l.inputs[0].shape;
  const size_t axis = axis_of(*p);
  int64_t inner = 1;
  for (size_t d = axis + 1; d < x.size(); ++d) inner *= x[d];
  const size_t count = element_count(l.outputs[0].shape);
  const Grid grid = grid_for(count);
  return {make_dispatch<shader::arg_reduce>({.COUNT = u32(static_cast<int64_t>(count)),
                                             .STRIDE = grid.stride,
                                             .KIND = static_cast<uint32_t>(p->kind()),
                                             .LAST = p->select_last_index(),
                                             .AXIS = u32(x[axis]),
                                             .INNER = u32(inner)},
                                            {.IN_OFF = l.inputs[0].offset, .OUT_OFF = l.outputs[0].offset},
                                            {grid.groups, 1, 1})};
}

}  // namespace

template <>
const OpKind& op_kind_of<fb::OpParams::ArgReduce>() {
  static const OpKind kind{.check = check_arg_reduce, .lower = lower_arg_reduce, .inputs = kOneActivation, .shapes = [](const ShapeQuery& q) {
                             return std::vector<Shape>{reduced_shape(*q.desc.node.params_as_ArgReduce(), q.inputs.at(0))};
                           }};
  return kind;
}

}  // namespace vkbnn::detail
