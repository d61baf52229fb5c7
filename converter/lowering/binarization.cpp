#include "lowering/lowerer.hpp"

namespace vkbnn::convert::detail {
namespace {

void sign(Lowerer& l, const onnx::NodeProto& node) {
  l.add_op<pattern::Sign>(l.op_name(node), {l.activation(node, 0)}, node.output(0));
}

void not_op(Lowerer& l, const onnx::NodeProto& node) {
  l.add_op<pattern::Not>(l.op_name(node), {l.activation(node, 0)}, node.output(0));
}

std::string float_operand(Lowerer& l, const onnx::NodeProto& node, int k) {
  const Constant* c = l.constant(node, k);
  if (!c) return l.activation(node, k);
  if (c->is_float) return l.weight_input(node, k);
  return l.add_weight(l.op_name(node) + "_operand", c->dims.empty() ? Shape{1} : c->dims, c->floats());
}

// Comparisons, Not, Where and Cast of activations are what spell a binarization other than
// Sign (x >= t, Cast(x >= 0) * 2 - 1, Where(x < 0, -1, 1)): kept for the binarization pass,
// which evaluates what they compute. Their operands broadcast as element-wise ops do.
void compare(Lowerer& l, const onnx::NodeProto& node) {
  const std::string& op = node.op_type();
  using pattern::CompareKind;
  l.add_op<pattern::Compare>(l.op_name(node), {float_operand(l, node, 0), float_operand(l, node, 1)}, node.output(0))
      .kind = op == "Greater"          ? CompareKind::Greater
              : op == "GreaterOrEqual" ? CompareKind::GreaterOrEqual
              : op == "Less"           ? CompareKind::Less
              : op == "LessOrEqual"    ? CompareKind::LessOrEqual
                                       : CompareKind::Equal;
}

// Where(c, 1, -1) may select integer constants (torch.where with Python ints) that a Cast
// turns to float later, and comparisons may hold them: such constants are held as floats.
void where(Lowerer& l, const onnx::NodeProto& node) {
  l.add_op<pattern::Where>(l.op_name(node),
                           {float_operand(l, node, 0), float_operand(l, node, 1), float_operand(l, node, 2)},
                           node.output(0));
}

void cast(Lowerer& l, const onnx::NodeProto& node) {
  const auto to = attr_int(node, "to", onnx::TensorProto_DataType_FLOAT);
  using pattern::CastKind;
  auto& op = l.add_op<pattern::Cast>(l.op_name(node), {l.activation(node, 0)}, node.output(0));
  if (to == onnx::TensorProto_DataType_BOOL)
    op.kind = CastKind::Bool;
  else if (to == onnx::TensorProto_DataType_FLOAT || to == onnx::TensorProto_DataType_DOUBLE ||
           to == onnx::TensorProto_DataType_FLOAT16 || to == onnx::TensorProto_DataType_BFLOAT16)
    op.kind = CastKind::Float;
  else
    op.kind = CastKind::Integer;
}

}  // namespace

void register_binarization_lowerings(LoweringTable& table) {
  table.add({"Sign"}, sign, "as the activation binarization of a binary convolution");
  table.add({"Not"}, not_op, "as part of a sign");
  table.add({"Greater", "GreaterOrEqual", "Less", "LessOrEqual", "Equal"}, compare,
            "as parts of a sign, however spelt (recognised by evaluation)");
  table.add({"Where"}, where, "as part of a sign");
  table.add({"Cast"}, cast, "as part of a sign");
}

}  // namespace vkbnn::convert::detail
