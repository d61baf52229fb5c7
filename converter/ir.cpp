#include "ir.hpp"

#include <sstream>
#include <stdexcept>

namespace vkbnn::convert::detail {
namespace {

// The fused activation of the ops whose table has one.
std::unique_ptr<fb::ActivationT>* activation_slot(fb::OpParamsUnion& params) {
  switch (params.type) {
    case fb::OpParams::Conv2D: return &params.AsConv2D()->activation;
    case fb::OpParams::ConvTranspose2D: return &params.AsConvTranspose2D()->activation;
    case fb::OpParams::FullyConnected: return &params.AsFullyConnected()->activation;
    case fb::OpParams::ChannelAffine: return &params.AsChannelAffine()->activation;
    case fb::OpParams::ActivationOp: return &params.AsActivationOp()->activation;
    case fb::OpParams::Binary: return &params.AsBinary()->activation;
    default: return nullptr;
  }
}

}  // namespace

std::string Op::type_name() const {
  if (is_pattern()) return std::visit([](const auto& p) -> std::string {
      if constexpr (requires { p.kName; }) return p.kName;
      else return "?";
    }, pattern);
  return fb::EnumNameOpParams(params.type);
}

fb::ActivationT Op::act() const {
  auto* slot = activation_slot(const_cast<fb::OpParamsUnion&>(params));
  return slot && *slot ? **slot : fb::ActivationT{};
}

void Op::set_act(const fb::ActivationT& act) {
  auto* slot = activation_slot(params);
  if (!slot) throw std::logic_error("op '" + name + "' (" + type_name() + ") fuses no activation");
  *slot = std::make_unique<fb::ActivationT>(act);
}

std::string activation_string(const fb::ActivationT& act) {
  auto number = [](float v) {
    std::ostringstream out;
    out << v;
    return out.str();
  };
  switch (act.kind) {
    case fb::ActivationKind::None: return "";
    case fb::ActivationKind::Relu: return "Relu";
    case fb::ActivationKind::Clip: return "Clip(" + number(act.alpha) + "," + number(act.beta) + ")";
    case fb::ActivationKind::LeakyRelu: return "LeakyRelu(" + number(act.alpha) + ")";
    case fb::ActivationKind::Sigmoid: return "Sigmoid";
    case fb::ActivationKind::HardSigmoid: return "HardSigmoid(" + number(act.alpha) + "," + number(act.beta) + ")";
    case fb::ActivationKind::HardSwish: return "HardSwish";
    case fb::ActivationKind::Erf:
    case fb::ActivationKind::Tanh:
    case fb::ActivationKind::Exp:
    case fb::ActivationKind::Log:
    case fb::ActivationKind::Sqrt:
    case fb::ActivationKind::Reciprocal:
    case fb::ActivationKind::Abs:
    case fb::ActivationKind::Softplus:
    case fb::ActivationKind::Mish:
    case fb::ActivationKind::Silu:
    case fb::ActivationKind::Gelu:
    case fb::ActivationKind::Floor:
    case fb::ActivationKind::Ceil:
    case fb::ActivationKind::Round:
    case fb::ActivationKind::Trunc:
    case fb::ActivationKind::Not:
    case fb::ActivationKind::Sign: return fb::EnumNameActivationKind(act.kind);
  }
  return "?";
}

}  // namespace vkbnn::convert::detail
