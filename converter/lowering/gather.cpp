#include "lowering/lowerer.hpp"

namespace vkbnn::convert::detail {
namespace {

// Gather of an activation at constant indices: the engine gathers along the axis into one
// axis as long as the indices, which a Reshape turns into the indices' own shape (a scalar
// index drops the axis).
void gather(Lowerer& l, const onnx::NodeProto& node) {
  const std::string& x = l.activation(node, 0);
  const Shape& in = l.shape(x);
  const auto rank = static_cast<int64_t>(in.size());
  int64_t axis = attr_int(node, "axis", 0);
  if (axis < -rank || axis >= rank) l.fail(node, "axis " + std::to_string(axis) + " out of range");
  if (axis < 0) axis += rank;
  const Constant& c = l.require_constant(node, 1, "indices");
  if (c.is_float) l.fail(node, "float indices");
  const int64_t length = in[static_cast<size_t>(axis)];
  std::vector<int32_t> indices;
  for (int64_t index : c.ints()) {
    if (index < -length || index >= length)
      l.fail(node, "index " + std::to_string(index) + " outside axis " + std::to_string(axis) + " of length " +
                       std::to_string(length));
    indices.push_back(static_cast<int32_t>(index < 0 ? index + length : index));
  }
  if (indices.empty()) l.fail(node, "no indices (vkbnn has no empty tensors)");
  Shape gathered = in;
  gathered[static_cast<size_t>(axis)] = static_cast<int64_t>(indices.size());
  const std::string name = l.op_name(node);
  const bool same = gathered == l.shape(node.output(0));
  const std::string out = same ? node.output(0) : l.p.fresh_name(node.output(0) + "_gathered");
  if (!same) l.p.shapes[out] = gathered;
  auto& op = l.add_op<fb::GatherT>(name, {x}, out);
  op.axis = static_cast<int32_t>(axis);
  op.indices = std::move(indices);
  if (!same) l.add_reshape(name + "_shape", out, node.output(0), l.shape(node.output(0)));
}

}  // namespace

void register_gather_lowerings(LoweringTable& table) {
  table.add({"Gather"}, gather, "constant indices, any axis (a scalar index drops the axis)");
}

}  // namespace vkbnn::convert::detail
