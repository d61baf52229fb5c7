#include "lowering/lowerer.hpp"

namespace vkbnn::convert::detail {
namespace {

// -x as x * -1, which the engine runs and the binarization pass folds like any scale.
void neg(Lowerer& l, const onnx::NodeProto& node) {
  const std::string& x = l.activation(node, 0);
  l.add_binary(node, l.op_name(node), fb::BinaryKind::Mul, x,
               l.add_weight(l.op_name(node) + "_minus_one", {1}, {-1.0f}), node.output(0));
}

// Integer operands (Tensor.integer) are exact floats: Add, Sub and Mul of them are exact as
// float arithmetic is, while ONNX's integer Div truncates, and an integer Pow is the float power
// rounded to the integer it approximates.
void binary(Lowerer& l, const onnx::NodeProto& node) {
  const std::string& op = node.op_type();
  const bool integer = l.p.integer_values.count(node.output(0)) != 0;
  fb::BinaryKind kind = op == "Add"   ? fb::BinaryKind::Add
                        : op == "Sub" ? fb::BinaryKind::Sub
                        : op == "Mul" ? fb::BinaryKind::Mul
                        : op == "Div" ? (integer ? fb::BinaryKind::TruncDiv : fb::BinaryKind::Div)
                                      : fb::BinaryKind::Pow;
  l.add_binary(node, l.op_name(node), kind, l.operand(node, 0), l.operand(node, 1), node.output(0));
  if (integer && kind == fb::BinaryKind::Pow) {
    fb::ActivationT round;
    round.kind = fb::ActivationKind::Round;
    l.p.ops.back().set_act(round);
  }
}

// ONNX Mod: the remainder with the divisor's sign (fmod=0, integers only) or the dividend's
// (fmod=1, integers or floats).
void mod(Lowerer& l, const onnx::NodeProto& node) {
  const int64_t fmod = attr_int(node, "fmod", 0);
  if (fmod != 0 && fmod != 1) l.fail(node, "fmod=" + std::to_string(fmod));
  if (fmod == 0 && !l.p.integer_values.count(node.output(0)))
    l.fail(node, "fmod=0 on floats (ONNX defines Mod of floats only with fmod=1)");
  l.add_binary(node, l.op_name(node), fmod ? fb::BinaryKind::Fmod : fb::BinaryKind::Mod, l.operand(node, 0),
               l.operand(node, 1), node.output(0));
}

// Min and Max take one or more inputs: a chain of pairs, each broadcast to the output.
void min_max(Lowerer& l, const onnx::NodeProto& node) {
  const fb::BinaryKind kind = node.op_type() == "Min" ? fb::BinaryKind::Min : fb::BinaryKind::Max;
  const std::string name = l.op_name(node);
  const Shape& out = l.shape(node.output(0));
  if (node.input_size() == 1) {
    l.add_reshape(name, l.activation(node, 0), node.output(0), out);
    return;
  }
  std::string acc = l.operand(node, 0);
  for (int k = 1; k < node.input_size(); ++k) {
    const bool last = k + 1 == node.input_size();
    std::string partial = last ? node.output(0) : l.p.fresh_name(node.output(0) + "_" + std::to_string(k));
    if (!last) l.p.shapes[partial] = out;
    l.add_binary(node, last ? name : name + "_" + std::to_string(k), kind, acc, l.operand(node, k), partial);
    acc = partial;
  }
}

}  // namespace

void register_elementwise_lowerings(LoweringTable& table) {
  table.add({"Neg"}, neg, "element-wise");
  table.add({"Add", "Sub", "Mul", "Div", "Pow"}, binary,
            "two tensors or a tensor and a constant, NumPy broadcasting; Pow: any float exponent, a negative base "
            "takes integer ones; on integers (exact below 2^24) Div truncates toward zero");
  table.add({"Mod"}, mod, "fmod=0 (the divisor's sign) on integers, fmod=1 (the dividend's) on integers and floats");
  table.add({"Min", "Max"}, min_max, "any number of inputs");
}

}  // namespace vkbnn::convert::detail
