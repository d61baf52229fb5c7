#include "lowering/lowerer.hpp"

namespace vkbnn::convert::detail {
namespace {

void concat(Lowerer& l, const onnx::NodeProto& node) {
  const Shape& out = l.shape(node.output(0));
  std::vector<std::string> inputs;
  for (int k = 0; k < node.input_size(); ++k) inputs.push_back(l.operand(node, k));
  int64_t axis = attr_int(node, "axis", 0);
  if (axis < 0) axis += static_cast<int64_t>(out.size());
  l.add_op<fb::ConcatT>(l.op_name(node), inputs, node.output(0)).axis = static_cast<int32_t>(axis);
}

}  // namespace

void register_concat_lowerings(LoweringTable& table) { table.add({"Concat"}, concat, "any axis"); }

}  // namespace vkbnn::convert::detail
