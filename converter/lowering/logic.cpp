#include "lowering/lowerer.hpp"

namespace vkbnn::convert::detail {
namespace {

// And, Or and Xor of booleans, which the engine holds as the floats 0 and 1 (comparisons make
// them, boolean constants become them); a Binary, since either operand may be broadcast.
void logic(Lowerer& l, const onnx::NodeProto& node) {
  const std::string& op = node.op_type();
  const fb::BinaryKind kind = op == "And" ? fb::BinaryKind::And : op == "Or" ? fb::BinaryKind::Or : fb::BinaryKind::Xor;
  l.add_binary(node, l.op_name(node), kind, l.operand(node, 0), l.operand(node, 1), node.output(0));
}

}  // namespace

void register_logic_lowerings(LoweringTable& table) {
  table.add({"And", "Or", "Xor"}, logic, "element-wise on booleans (held as 0 and 1), NumPy broadcasting");
}

}  // namespace vkbnn::convert::detail
