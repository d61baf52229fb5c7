#include <limits>
#include <map>

#include "lowering/lowerer.hpp"

namespace vkbnn::convert::detail {
namespace {

void activation_op(Lowerer& l, const onnx::NodeProto& node) {
  const std::string& op_type = node.op_type();
  fb::ActivationT act;
  if (op_type == "Relu") {
    act.kind = fb::ActivationKind::Relu;
  } else if (op_type == "Clip") {
    act.kind = fb::ActivationKind::Clip;
    float lo = std::numeric_limits<float>::lowest(), hi = std::numeric_limits<float>::max();
    if (l.g.opset < 11) {
      act.alpha = attr_float(node, "min", lo);
      act.beta = attr_float(node, "max", hi);
    } else {
      act.alpha = l.scalar_input(node, 1, lo);
      act.beta = l.scalar_input(node, 2, hi);
    }
  } else if (op_type == "LeakyRelu") {
    act.kind = fb::ActivationKind::LeakyRelu;
    act.alpha = attr_float(node, "alpha", 0.01f);
  } else if (op_type == "Sigmoid") {
    act.kind = fb::ActivationKind::Sigmoid;
  } else if (op_type == "HardSigmoid") {
    act.kind = fb::ActivationKind::HardSigmoid;
    act.alpha = attr_float(node, "alpha", 0.2f);
    act.beta = attr_float(node, "beta", 0.5f);
  } else if (op_type == "HardSwish") {
    act.kind = fb::ActivationKind::HardSwish;
  } else {
    // The parameterless unary ops carry their ONNX names.
    static const std::map<std::string, fb::ActivationKind> kUnary = {
        {"Erf", fb::ActivationKind::Erf},   {"Tanh", fb::ActivationKind::Tanh},
        {"Exp", fb::ActivationKind::Exp},   {"Log", fb::ActivationKind::Log},
        {"Sqrt", fb::ActivationKind::Sqrt}, {"Reciprocal", fb::ActivationKind::Reciprocal},
        {"Abs", fb::ActivationKind::Abs},   {"Softplus", fb::ActivationKind::Softplus},
        {"Mish", fb::ActivationKind::Mish}, {"Floor", fb::ActivationKind::Floor},
        {"Ceil", fb::ActivationKind::Ceil}, {"Round", fb::ActivationKind::Round}};
    act.kind = kUnary.at(op_type);
  }
  *l.add_op<fb::ActivationOpT>(l.op_name(node), {l.activation(node, 0)}, node.output(0)).activation = act;
}

void prelu(Lowerer& l, const onnx::NodeProto& node) {
  const std::string& x = l.activation(node, 0);
  const Constant& slope = l.require_constant(node, 1, "slope");
  if (classify(slope.dims, l.shape(x)) == Broadcast::Other)
    l.fail(node, "a slope of shape " + shape_string(slope.dims) + " that does not broadcast onto " +
                     shape_string(l.shape(x)) + " along one run of axes");
  l.add_op<fb::PReluT>(l.op_name(node), {x, l.weight_input(node, 1)}, node.output(0));
}

}  // namespace

void register_activation_lowerings(LoweringTable& table) {
  table.add({"Relu", "Clip", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Erf", "Tanh", "Exp", "Log", "Sqrt",
             "Reciprocal", "Abs", "Softplus", "Mish", "Floor", "Ceil", "Round"},
            activation_op,
            "element-wise; fused into the Conv, Gemm or Add before them; SiLU (x * Sigmoid(x)), GELU's erf form, "
            "Mish and HardSwish spelled with several ops become one activation, found by evaluating them; Round "
            "halves to even");
  table.add({"PRelu"}, prelu, "slope per channel or shared");
}

}  // namespace vkbnn::convert::detail
