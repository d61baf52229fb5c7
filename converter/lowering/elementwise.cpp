#include "lowering/lowerer.hpp"

namespace vkbnn::convert::detail {
namespace {

// -x as x * -1, which the engine runs and the binarization pass folds like any scale.
void neg(Lowerer& l, const onnx::NodeProto& node) {
  const std::string& x = l.activation(node, 0);
  l.add_binary(node, l.op_name(node), fb::BinaryKind::Mul, x,
               l.add_weight(l.op_name(node) + "_minus_one", {1}, {-1.0f}), node.output(0));
}

void binary(Lowerer& l, const onnx::NodeProto& node) {
  const std::string& op = node.op_type();
  fb::BinaryKind kind = op == "Add"   ? fb::BinaryKind::Add
                        : op == "Sub" ? fb::BinaryKind::Sub
                        : op == "Mul" ? fb::BinaryKind::Mul
                        : op == "Div" ? fb::BinaryKind::Div
                                      : fb::BinaryKind::Pow;
  l.add_binary(node, l.op_name(node), kind, l.operand(node, 0), l.operand(node, 1), node.output(0));
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
            "takes integer ones");
  table.add({"Min", "Max"}, min_max, "any number of inputs");
}

}  // namespace vkbnn::convert::detail
