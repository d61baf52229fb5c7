// Gather (constant indices along any axis) and Tile (each axis repeated a whole number of times;
// Expand as the special case of length-1 axes): copies whose source is a table lookup or a
// wrap-around rather than the strided view of transpose.cpp.

#include "ops/elementwise.hpp"

namespace vkbnn::detail {
namespace {

constexpr size_t kMaxTileRank = 6;

void check_gather(const NodeDesc& desc) {
  desc.require(desc.inputs.size() == 1 && desc.outputs.size() == 1, "expects 1 input and 1 output");
  const Shape& x = desc.inputs[0];
  const Shape& y = desc.outputs[0];
  const auto rank = static_cast<int64_t>(x.size());
  desc.require(rank >= 1, "the input needs an axis");
  const auto* p = desc.node.params_as_Gather();
  const int64_t axis = p->axis();
  desc.require(axis >= 0 && axis < rank, "axis " + std::to_string(axis) + " is outside the input " + shape_string(x));
  const auto& indices = *p->indices();
  desc.require(indices.size() > 0, "needs at least one index");
  for (int32_t index : indices)
    desc.require(index >= 0 && index < x[static_cast<size_t>(axis)],
                 "index " + std::to_string(index) + " is outside axis " + std::to_string(axis) + " of " +
                     shape_string(x));
  Shape expected = x;
  expected[static_cast<size_t>(axis)] = indices.size();
  desc.require(y == expected, "output shape " + shape_string(y) + " should be " + shape_string(expected));
}

std::vector<Dispatch> lower_gather(const NodeLowering& l) {
  const Shape& x = l.inputs[0].shape;
  const auto* p = l.node.params_as_Gather();
  const auto axis = static_cast<size_t>(p->axis());
  int64_t inner = 1;
  for (size_t d = axis + 1; d < x.size(); ++d) inner *= x[d];
  const std::vector<uint32_t> indices(p->indices()->begin(), p->indices()->end());
  const size_t count = element_count(l.outputs[0].shape);
  const Grid grid = grid_for(count);
  return {make_dispatch<shader::gather>(
      {.COUNT = u32(static_cast<int64_t>(count)),
       .STRIDE = grid.stride,
       .INNER = u32(inner),
       .K = u32(static_cast<int64_t>(indices.size())),
       .AXIS = u32(x[axis])},
      {.IN_OFF = l.inputs[0].offset, .OUT_OFF = l.outputs[0].offset, .INDEX_OFF = l.weights.add_words(indices)},
      {grid.groups, 1, 1})};
}

void check_tile(const NodeDesc& desc) {
  desc.require(desc.inputs.size() == 1 && desc.outputs.size() == 1, "expects 1 input and 1 output");
  const Shape& x = desc.inputs[0];
  const Shape& y = desc.outputs[0];
  desc.require(x.size() >= 1 && x.size() <= kMaxTileRank, "supports ranks 1 to 6, input is " + shape_string(x));
  desc.require(y.size() == x.size(), "output " + shape_string(y) + " must have the input's rank");
  for (size_t d = 0; d < x.size(); ++d)
    desc.require(y[d] % x[d] == 0, "output " + shape_string(y) + " is not a whole number of copies of input " +
                                       shape_string(x) + " on axis " + std::to_string(d));
}

std::vector<Dispatch> lower_tile(const NodeLowering& l) {
  const Shape& x = l.inputs[0].shape;
  const Shape& y = l.outputs[0].shape;
  std::array<uint32_t, kMaxTileRank> o{1, 1, 1, 1, 1, 1}, in{1, 1, 1, 1, 1, 1};
  const size_t lead = kMaxTileRank - x.size();
  for (size_t d = 0; d < x.size(); ++d) {
    o[lead + d] = u32(y[d]);
    in[lead + d] = u32(x[d]);
  }
  const size_t count = element_count(y);
  const Grid grid = grid_for(count);
  return {make_dispatch<shader::tile>({.COUNT = u32(static_cast<int64_t>(count)),
                                       .STRIDE = grid.stride,
                                       .O0 = o[0],
                                       .O1 = o[1],
                                       .O2 = o[2],
                                       .O3 = o[3],
                                       .O4 = o[4],
                                       .O5 = o[5],
                                       .I0 = in[0],
                                       .I1 = in[1],
                                       .I2 = in[2],
                                       .I3 = in[3],
                                       .I4 = in[4],
                                       .I5 = in[5]},
                                      {.IN_OFF = l.inputs[0].offset, .OUT_OFF = l.outputs[0].offset},
                                      {grid.groups, 1, 1})};
}

}  // namespace

template <>
const OpKind& op_kind_of<fb::OpParams::Gather>() {
  static const OpKind kind{.check = check_gather, .lower = lower_gather, .inputs = kOneActivation, .shapes = [](const ShapeQuery& q) {
                             const auto axis = static_cast<size_t>(q.desc.node.params_as_Gather()->axis());
                             Shape y = q.inputs.at(0);
                             if (axis >= y.size()) q.desc.fail("axis outside the input");
                             if (y[axis] != q.desc.inputs.at(0).at(axis))
                               q.pins("its indices pick from axis " + std::to_string(axis) + " at its converted length");
                             y[axis] = q.desc.outputs.at(0).at(axis);
                             return std::vector<Shape>{y};
                           }};
  return kind;
}

template <>
const OpKind& op_kind_of<fb::OpParams::Tile>() {
  static const OpKind kind{.check = check_tile, .lower = lower_tile, .inputs = kOneActivation, .shapes = [](const ShapeQuery& q) {
                             // Each axis keeps its number of copies (1 for Expand's broadcast axes of length 1).
                             const Shape& x = q.inputs.at(0);
                             const Shape& from = q.desc.inputs.at(0);
                             Shape y = q.desc.outputs.at(0);
                             if (x.size() != y.size()) q.desc.fail("input rank changed");
                             for (size_t d = 0; d < y.size(); ++d) y[d] = y[d] / from[d] * x[d];
                             return std::vector<Shape>{y};
                           }};
  return kind;
}

}  // namespace vkbnn::detail
