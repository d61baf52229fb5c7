#include "lowering/lowerer.hpp"

namespace vkbnn::convert::detail {
namespace {

void softmax(Lowerer& l, const onnx::NodeProto& node) {
  const std::string& x = l.activation(node, 0);
  const Shape& in = l.shape(x);
  auto rank = static_cast<int64_t>(in.size());
  int64_t axis = attr_int(node, "axis", l.g.opset < 13 ? 1 : -1);
  if (axis < 0) axis += rank;
  std::string name = l.op_name(node);
  // Before opset 13 Softmax normalizes over all dimensions from axis on, as one row.
  if (l.g.opset >= 13 || axis == rank - 1) {
    l.add_op<fb::SoftmaxT>(name, {x}, node.output(0)).axis = static_cast<int32_t>(axis);
    return;
  }
  int64_t outer = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= in[static_cast<size_t>(d)];
  Shape rows{outer, element_count(in) / outer};
  std::string flat = l.p.fresh_name(x + "_rows");
  l.add_reshape(name + "_rows", x, flat, rows);
  std::string soft = l.p.fresh_name(node.output(0) + "_rows");
  l.p.shapes[soft] = rows;
  l.add_op<fb::SoftmaxT>(name, {flat}, soft).axis = 1;
  l.add_reshape(name + "_unrows", soft, node.output(0), l.shape(node.output(0)));
}

}  // namespace

void register_softmax_lowerings(LoweringTable& table) {
  table.add({"Softmax"}, softmax, "any axis, with each opset's semantics");
}

}  // namespace vkbnn::convert::detail
