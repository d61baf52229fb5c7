#include <algorithm>
#include <cmath>
#include <optional>

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
// which evaluates what they compute; those it does not fuse run as the engine's ops
// (lower_unfused_patterns). Their operands broadcast as element-wise ops do.
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

bool is_float_type(int64_t type) {
  return type == onnx::TensorProto_DataType_FLOAT || type == onnx::TensorProto_DataType_DOUBLE ||
         type == onnx::TensorProto_DataType_FLOAT16 || type == onnx::TensorProto_DataType_BFLOAT16;
}

// The integer types of ONNX, by width and signedness.
struct IntegerType {
  int bits;
  bool is_signed;
};

std::optional<IntegerType> integer_type(int64_t type) {
  using DT = onnx::TensorProto_DataType;
  switch (type) {
    case DT::TensorProto_DataType_INT8: return IntegerType{8, true};
    case DT::TensorProto_DataType_UINT8: return IntegerType{8, false};
    case DT::TensorProto_DataType_INT16: return IntegerType{16, true};
    case DT::TensorProto_DataType_UINT16: return IntegerType{16, false};
    case DT::TensorProto_DataType_INT32: return IntegerType{32, true};
    case DT::TensorProto_DataType_UINT32: return IntegerType{32, false};
    case DT::TensorProto_DataType_INT64: return IntegerType{64, true};
    case DT::TensorProto_DataType_UINT64: return IntegerType{64, false};
    default: return std::nullopt;
  }
}

// Integers cast to a type of 8 or 16 bits wrap into its range (two's complement, as C, NumPy
// and PyTorch cast them): y = (x + offset) mod 2^bits - offset, exact in float words as long as
// x is. Wider types hold every integer a float word holds exactly.
void wrap_integer(Lowerer& l, const onnx::NodeProto& node, const std::string& x, IntegerType to) {
  const float modulus = std::ldexp(1.0f, to.bits), offset = to.is_signed ? modulus / 2 : 0.0f;
  const std::string name = l.op_name(node), &y = node.output(0);
  auto integer_value = [&](const std::string& base) {
    const std::string v = l.p.fresh_name(base);
    l.p.shapes[v] = l.shape(y);
    l.p.integer_values.insert(v);
    return v;
  };
  const std::string m = l.add_weight(name + "_modulus", {1}, {modulus});
  if (offset == 0) return l.add_binary(node, name, fb::BinaryKind::Mod, x, m, y);
  const std::string c = l.add_weight(name + "_offset", {1}, {offset});
  const std::string shifted = integer_value(y + "_shifted"), wrapped = integer_value(y + "_wrapped");
  l.add_binary(node, name + "_shift", fb::BinaryKind::Add, x, c, shifted);
  l.add_binary(node, name, fb::BinaryKind::Mod, shifted, m, wrapped);
  l.add_binary(node, name + "_unshift", fb::BinaryKind::Sub, wrapped, c, y);
}

// A Cast of a comparison's (or another sign pattern's) result is part of a sign spelling; any
// other Cast converts values the engine carries as floats: integers (exact floats) to a float or
// a 32- or 64-bit integer type and floats to a float type stay what they are, integers to a
// narrower integer type wrap into it (wrap_integer), and floats to an integer type are truncated
// toward zero, as ONNX casts them (floats beyond the type's range, which ONNX leaves undefined,
// are not wrapped, nor are negative integers cast to an unsigned 32- or 64-bit type).
void cast(Lowerer& l, const onnx::NodeProto& node) {
  const auto to = attr_int(node, "to", onnx::TensorProto_DataType_FLOAT);
  const std::string& x = l.activation(node, 0);
  const bool to_bool = to == onnx::TensorProto_DataType_BOOL;
  const auto producer = std::find_if(l.p.ops.rbegin(), l.p.ops.rend(), [&](const Op& op) { return op.output == x; });
  const bool of_pattern = producer != l.p.ops.rend() && producer->is_pattern();
  if (!of_pattern && !to_bool) {
    const std::optional<IntegerType> to_integer = integer_type(to);
    const bool to_wide_float = to == onnx::TensorProto_DataType_FLOAT || to == onnx::TensorProto_DataType_DOUBLE;
    // 16-bit floats would round the values, which the engine keeps in float32.
    if (!to_integer && !to_wide_float)
      l.fail(node, "a Cast to " + onnx::TensorProto_DataType_Name(static_cast<onnx::TensorProto_DataType>(to)) +
                       " (run-time Casts are to float32, float64 and integer types)");
    if (l.p.integer_values.count(x) && to_integer && to_integer->bits <= 16) return wrap_integer(l, node, x, *to_integer);
    if (l.p.integer_values.count(x) || to_wide_float)
      return l.add_reshape(l.op_name(node), x, node.output(0), l.shape(node.output(0)));
    fb::ActivationT trunc;
    trunc.kind = fb::ActivationKind::Trunc;
    *l.add_op<fb::ActivationOpT>(l.op_name(node), {x}, node.output(0)).activation = trunc;
    return;
  }
  using pattern::CastKind;
  auto& op = l.add_op<pattern::Cast>(l.op_name(node), {x}, node.output(0));
  if (to_bool)
    op.kind = CastKind::Bool;
  else if (is_float_type(to))
    op.kind = CastKind::Float;
  else
    op.kind = CastKind::Integer;
}

}  // namespace

void register_binarization_lowerings(LoweringTable& table) {
  table.add({"Sign"}, sign, "the activation binarization of a binary convolution; elsewhere at run time (sign(0) = 0)");
  table.add({"Not"}, not_op, "as part of a sign; elsewhere at run time");
  table.add({"Greater", "GreaterOrEqual", "Less", "LessOrEqual", "Equal"}, compare,
            "as parts of a sign, however spelt (recognised by evaluation); elsewhere at run time (1 or 0), NumPy "
            "broadcasting");
  table.add({"Where"}, where, "as part of a sign; elsewhere at run time, all three operands broadcast");
  table.add({"Cast"}, cast,
            "between float32/float64 and integer types (float to integer truncates toward zero; integers are exact "
            "below 2^24 and wrap into 8- and 16-bit types); to BOOL (x != 0)");
}

}  // namespace vkbnn::convert::detail
