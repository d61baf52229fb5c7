#include "lowering/lowerer.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

namespace vkbnn::convert::detail {

// One registration function per family file, named by CMake from the files in this folder.
#define VKBNN_LOWERING_FAMILY(family) void register_##family##_lowerings(LoweringTable& table);
#include "lowering_families.inc"
#undef VKBNN_LOWERING_FAMILY

const std::vector<Lowering>& lowerings() {
  static const LoweringTable table = [] {
    LoweringTable t;
#define VKBNN_LOWERING_FAMILY(family) register_##family##_lowerings(t);
#include "lowering_families.inc"
#undef VKBNN_LOWERING_FAMILY
    return t;
  }();
  return table.entries();
}

namespace {

const std::map<std::string, const Lowering*>& lowering_of() {
  static const std::map<std::string, const Lowering*> by_type = [] {
    std::map<std::string, const Lowering*> m;
    for (const auto& l : lowerings())
      for (const auto& type : l.onnx_ops)
        if (!m.emplace(type, &l).second) throw InternalError("ONNX op '" + type + "' has two lowerings");
    return m;
  }();
  return by_type;
}

}  // namespace

namespace {

// The shape without the leading axes of length 1 that it has beyond `rank` (a scalar constant
// stored as [1] for a scalar output).
Shape trimmed_to(Shape shape, size_t rank) {
  while (shape.size() > rank && shape.front() == 1) shape.erase(shape.begin());
  return shape;
}

}  // namespace

Broadcast classify(const Shape& full_operand, const Shape& out) {
  const Shape operand = trimmed_to(full_operand, out.size());
  if (operand.size() > out.size()) return Broadcast::Other;
  Shape padded(out.size() - operand.size(), 1);
  padded.insert(padded.end(), operand.begin(), operand.end());
  if (padded == out) return Broadcast::Same;
  bool in_run = false, run_done = false;
  for (size_t d = 0; d < out.size(); ++d) {
    if (padded[d] == out[d] && out[d] != 1) {
      if (run_done) return Broadcast::Other;
      in_run = true;
    } else if (padded[d] == 1) {
      run_done = run_done || in_run;
    } else {
      return Broadcast::Other;
    }
  }
  return Broadcast::Run;
}

// Repeats a broadcastable constant to the full output shape.
std::vector<float> expand(const Constant& c, const Shape& out) {
  const Shape dims = trimmed_to(c.dims, out.size());
  if (dims.size() > out.size()) throw InternalError("expanding a constant of shape " + shape_string(c.dims) + " to " + shape_string(out));
  Shape padded(out.size() - dims.size(), 1);
  padded.insert(padded.end(), dims.begin(), dims.end());
  std::vector<float> values(static_cast<size_t>(element_count(out)));
  for (size_t k = 0; k < values.size(); ++k) {
    int64_t rest = static_cast<int64_t>(k), src = 0, out_stride = element_count(out),
            src_stride = element_count(padded);
    for (size_t d = 0; d < out.size(); ++d) {
      out_stride /= out[d];
      src_stride /= padded[d];
      int64_t idx = rest / out_stride;
      rest %= out_stride;
      if (padded[d] != 1) src += idx * src_stride;
    }
    values[k] = static_cast<float>(c.at(static_cast<size_t>(src)));
  }
  return values;
}

int64_t Lowerer::axis_in(const onnx::NodeProto& node, int64_t axis, size_t rank) const {
  const auto r = static_cast<int64_t>(rank);
  if (axis < -r || axis >= r) fail(node, "axis " + std::to_string(axis) + " out of range for rank " + std::to_string(r));
  return axis < 0 ? axis + r : axis;
}

Lowerer::Lowerer(const ImportedGraph& graph) : g(graph) {
  p.shapes = graph.shapes;
  p.integer_values = graph.integer_values;
  p.boolean_outputs = graph.boolean_outputs;
  p.notes = graph.notes;
  p.inputs = graph.inputs;
  p.outputs = graph.outputs;
  for (const auto& [name, value] : graph.constants) p.reserved.insert(name);
}

namespace {

// Bounds on the magnitude of the integer values that the program computes from ArgMax's indices
// and integer constants, derived op by op; a value with none (a Cast of a float, an integer graph
// input) is not followed. Where a bound passes 2^24 the values may not be exact, which the
// conversion notes.
void note_integer_bounds(Program& p) {
  std::map<std::string, double> bound;
  auto of = [&](const std::string& name) -> std::optional<double> {
    if (auto w = p.weights.find(name); w != p.weights.end()) {
      double m = 0;
      for (float v : w->second.data) m = std::max(m, std::abs(double{v}));
      return m;
    }
    if (auto it = bound.find(name); it != bound.end()) return it->second;
    return std::nullopt;
  };
  for (const auto& op : p.ops) {
    if (!p.integer_values.count(op.output)) continue;
    std::optional<double> b;
    if (const auto* arg = op.get<fb::ArgReduceT>()) {
      b = double(p.shapes.at(op.inputs[0])[static_cast<size_t>(arg->axis)] - 1);
    } else if (const auto* binary = op.get<fb::BinaryT>()) {
      const auto x = of(op.inputs[0]), y = of(op.inputs[1]);
      if (!x || !y) continue;
      switch (binary->kind) {
        case fb::BinaryKind::Add: case fb::BinaryKind::Sub: b = *x + *y; break;
        case fb::BinaryKind::Mul: b = *x * *y; break;
        case fb::BinaryKind::TruncDiv: case fb::BinaryKind::Div: b = *x; break;
        case fb::BinaryKind::Mod: case fb::BinaryKind::Fmod: b = std::min(*x, *y); break;
        case fb::BinaryKind::Min: case fb::BinaryKind::Max: b = std::max(*x, *y); break;
        case fb::BinaryKind::Pow: break;
        case fb::BinaryKind::Equal: case fb::BinaryKind::Greater: case fb::BinaryKind::GreaterOrEqual:
        case fb::BinaryKind::Less: case fb::BinaryKind::LessOrEqual: case fb::BinaryKind::And:
        case fb::BinaryKind::Or: case fb::BinaryKind::Xor: b = 1.0; break;
      }
    } else if (op.is<pattern::Where>()) {
      // Still a pattern here (the passes make it the engine's Where): it selects input 1 or 2.
      const auto x = of(op.inputs[1]), y = of(op.inputs[2]);
      if (x && y) b = std::max(*x, *y);
    } else if (op.is<fb::ReshapeT>() || op.is<fb::TransposeT>() || op.is<fb::SliceT>() || op.is<fb::GatherT>() ||
               op.is<fb::TileT>() || op.is<fb::GatherIndexedT>() || op.is<fb::ConcatT>() ||
               (op.is<fb::ActivationOpT>() && op.act().kind == fb::ActivationKind::Abs)) {
      // Data movement: the largest of what it moves (GatherIndexed moves its input 0).
      const size_t moved = op.is<fb::ConcatT>() ? op.inputs.size() : 1;
      b = 0.0;
      for (size_t k = 0; k < moved && b; ++k) {
        const auto in = of(op.inputs[k]);
        b = in ? std::optional(std::max(*b, *in)) : std::nullopt;
      }
    }
    if (!b) continue;
    bound[op.output] = *b;
    if (*b > double(kExactIntegerLimit))
      p.notes.push_back("the integer values of '" + op.output + "' (op '" + op.name + "') may reach " +
                        std::to_string(static_cast<int64_t>(*b)) +
                        ", beyond the 2^24 that the engine's float words hold exactly: such values are rounded");
  }
}

}  // namespace

Program Lowerer::run() {
  for (const auto& node : g.nodes) lower(node);
  note_integer_bounds(p);
  for (const auto& out : p.outputs)
    if (auto it = int8.find(out); it != int8.end())
      throw UnsupportedError("graph output '" + out + "' is an int8 tensor (computed by op '" + it->second.op +
                             "' at node " + it->second.node +
                             "), and vkbnn graph outputs are float: end the graph with DequantizeLinear");
  return std::move(p);
}

void Lowerer::lower(const onnx::NodeProto& node) {
  const auto& by_type = lowering_of();
  const auto it = by_type.find(node.op_type());
  if (it == by_type.end())
    throw UnsupportedError("unsupported op '" + node.op_type() + "' at node " + node_label(g, node) +
                           " (it is only evaluated when all its inputs are constants)");
  if (!it->second->reads_int8)
    for (const auto& in : node.input())
      if (int8.count(in))
        fail(node, "the int8 tensor '" + in +
                       "' as an input (only DequantizeLinear, QLinearConv and QLinearMatMul read int8 tensors)");
  it->second->lower(*this, node);
}

const Constant* Lowerer::constant(const onnx::NodeProto& node, int k) const {
  if (!has(node, k)) return nullptr;
  auto it = g.constants.find(node.input(k));
  return it == g.constants.end() ? nullptr : &it->second;
}

const Constant& Lowerer::require_constant(const onnx::NodeProto& node, int k, const std::string& what) const {
  const Constant* c = constant(node, k);
  if (!c) fail(node, "a non-constant " + what);
  return *c;
}

const std::string& Lowerer::activation(const onnx::NodeProto& node, int k) const {
  if (!has(node, k) || !p.shapes.count(node.input(k)))
    fail(node, "a constant where a computed input " + std::to_string(k) + " is expected");
  return node.input(k);
}

float Lowerer::scalar_input(const onnx::NodeProto& node, int k, float fallback) const {
  if (!has(node, k)) return fallback;
  const Constant& c = require_constant(node, k, "bound");
  if (c.size() != 1) fail(node, "a bound that is not a scalar");
  return static_cast<float>(c.at(0));
}

std::string Lowerer::add_weight(const std::string& base, Shape dims, std::vector<float> data) {
  std::string name = p.fresh_name(base);
  p.weights[name] = {std::move(dims), std::move(data)};
  return name;
}

std::string Lowerer::weight_input(const onnx::NodeProto& node, int k) {
  const std::string& name = node.input(k);
  if (!p.weights.count(name)) {
    const Constant& c = *constant(node, k);
    // Integer constants (the W of idx // W) become the floats that hold them exactly.
    if (!c.is_float)
      for (int64_t v : c.i)
        if (v > kExactIntegerLimit || v < -kExactIntegerLimit)
          fail(node, "the integer constant '" + name + "' holding " + std::to_string(v) + ", beyond the 2^24 " +
                         "that the engine's float words hold exactly");
    // Scalars are stored as [1]: every engine tensor has at least one axis.
    p.weights[name] = {c.dims.empty() ? Shape{1} : c.dims, c.floats()};
  }
  return name;
}

void Lowerer::add_reshape(const std::string& name, const std::string& input, const std::string& output,
                          Shape out_shape) {
  p.shapes[output] = std::move(out_shape);
  add_op<fb::ReshapeT>(name, {input}, output);
}

void Lowerer::add_expand(const std::string& name, const std::string& x, const std::string& output) {
  for (Op& op : expand_ops(p, name, x, output)) p.ops.push_back(std::move(op));
}

std::vector<int32_t> Lowerer::pair_attr(const onnx::NodeProto& node, const std::string& name, int32_t fallback) const {
  auto v = attr_ints(node, name);
  if (v.empty()) return {fallback, fallback};
  if (v.size() != 2) fail(node, name + " of length " + std::to_string(v.size()));
  return {static_cast<int32_t>(v[0]), static_cast<int32_t>(v[1])};
}

std::vector<int32_t> Lowerer::pair_pads(const onnx::NodeProto& node) const {
  auto pads = attr_ints(node, "pads");
  if (pads.empty()) return {0, 0, 0, 0};
  if (pads.size() != 4) fail(node, "pads of length " + std::to_string(pads.size()));
  return {pads.begin(), pads.end()};
}

std::vector<int32_t> Lowerer::resolve_pads(const onnx::NodeProto& node, const Shape& in,
                                           const std::vector<int32_t>& kernel, const std::vector<int32_t>& strides,
                                           const std::vector<int32_t>& dilations) const {
  std::string auto_pad = attr_string(node, "auto_pad", "NOTSET");
  if (auto_pad == "NOTSET") return pair_pads(node);
  if (auto_pad == "VALID") return {0, 0, 0, 0};
  if (auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER") fail(node, "auto_pad=" + auto_pad);
  std::vector<int32_t> pads(4);
  for (size_t d = 0; d < 2; ++d) {
    int64_t size = in[2 + d], s = strides[d];
    int64_t out = (size + s - 1) / s;
    int64_t total = std::max<int64_t>(0, (out - 1) * s + (kernel[d] - 1) * dilations[d] + 1 - size);
    int64_t small = total / 2;
    pads[d] = static_cast<int32_t>(auto_pad == "SAME_UPPER" ? small : total - small);
    pads[d + 2] = static_cast<int32_t>(total - pads[d]);
  }
  return pads;
}

std::optional<fb::BinaryKind> swapped_kind(fb::BinaryKind kind) {
  switch (kind) {
    case fb::BinaryKind::Add:
    case fb::BinaryKind::Mul:
    case fb::BinaryKind::Min:
    case fb::BinaryKind::Max:
    case fb::BinaryKind::Equal:
    case fb::BinaryKind::And:
    case fb::BinaryKind::Or:
    case fb::BinaryKind::Xor: return kind;
    case fb::BinaryKind::Greater: return fb::BinaryKind::Less;
    case fb::BinaryKind::Less: return fb::BinaryKind::Greater;
    case fb::BinaryKind::GreaterOrEqual: return fb::BinaryKind::LessOrEqual;
    case fb::BinaryKind::LessOrEqual: return fb::BinaryKind::GreaterOrEqual;
    case fb::BinaryKind::Sub:
    case fb::BinaryKind::Div:
    case fb::BinaryKind::Pow:
    case fb::BinaryKind::TruncDiv:
    case fb::BinaryKind::Mod:
    case fb::BinaryKind::Fmod: break;
  }
  return std::nullopt;
}

namespace {

// A constant the engine cannot broadcast, stored repeated to the output's shape.
std::string repeated(Program& p, const std::string& name, const std::string& weight, const Shape& out) {
  Constant c;
  c.dims = p.weights.at(weight).shape;
  c.f = p.weights.at(weight).data;
  const std::string full = p.fresh_name(name + "_operand");
  p.weights[full] = {out, expand(c, out)};
  return full;
}

std::string order_as_they_are(Program& p, const std::string& name, fb::BinaryKind& kind, std::string& a,
                              std::string& b, const std::string& output) {
  const Shape& out = p.shapes.at(output);
  auto shape_of = [&](const std::string& v) -> const Shape& {
    return p.is_weight(v) ? p.weights.at(v).shape : p.shapes.at(v);
  };
  auto fills = [&](const std::string& v) {
    return classify(shape_of(v), out) == Broadcast::Same && (p.is_weight(v) || shape_of(v) == out);
  };
  const auto swapped = swapped_kind(kind);
  if (swapped && (!fills(a) || p.is_weight(a))) {
    std::swap(a, b);
    kind = *swapped;
  }
  if (!fills(a))
    return swapped ? "broadcasting both operands (" + a + ", " + b + ") to shape " + shape_string(out)
                   : "broadcasting the first operand (" + a + ") of a non-commutative op to shape " + shape_string(out);
  if (classify(shape_of(b), out) != Broadcast::Other) return {};
  if (!p.is_weight(b))
    return "broadcasting a computed operand of shape " + shape_string(shape_of(b)) + " to " + shape_string(out);
  b = repeated(p, name, b, out);
  return {};
}

}  // namespace

std::vector<Op> expand_ops(Program& p, const std::string& name, const std::string& x, const std::string& output) {
  const Shape& out = p.shapes.at(output);
  const Shape& in = p.shapes.at(x);
  if (p.integer_values.count(x)) p.integer_values.insert(output);
  std::vector<Op> ops;
  if (element_count(in) == element_count(out)) {
    ops.push_back(make_op<fb::ReshapeT>(name, {x}, output));
    return ops;
  }
  std::string ranked = x;
  if (in.size() < out.size()) {
    Shape padded(out.size() - in.size(), 1);
    padded.insert(padded.end(), in.begin(), in.end());
    ranked = p.fresh_name(x + "_ranked");
    p.shapes[ranked] = padded;
    if (p.integer_values.count(x)) p.integer_values.insert(ranked);
    ops.push_back(make_op<fb::ReshapeT>(name + "_ranked", {x}, ranked));
  }
  ops.push_back(make_op<pattern::Expand>(name, {ranked}, output));
  return ops;
}

void order_binary_operands(Program& p, const std::string& name, fb::BinaryKind& kind, std::string& a, std::string& b,
                           const std::string& output, std::vector<Op>& expansions) {
  std::string why = order_as_they_are(p, name, kind, a, b, output);
  const Shape& out = p.shapes.at(output);
  for (std::string* v : {&a, &b}) {
    if (why.empty()) break;
    if (p.is_weight(*v)) {
      if (classify(p.weights.at(*v).shape, out) == Broadcast::Same) continue;
      *v = repeated(p, name, *v, out);  // c / x with c per channel
    } else {
      if (p.shapes.at(*v) == out) continue;
      const std::string full = p.fresh_name(*v + "_broadcast");
      p.shapes[full] = out;
      for (Op& op : expand_ops(p, name + "_broadcast_" + (v == &a ? "a" : "b"), *v, full))
        expansions.push_back(std::move(op));
      *v = full;
    }
    why = order_as_they_are(p, name, kind, a, b, output);
  }
  // Both operands now fill the output (numpy broadcasting never widens the rank of the output).
  if (!why.empty()) throw InternalError("binary op '" + name + "': " + why);
}

void Lowerer::add_binary(const onnx::NodeProto& node, const std::string& name, fb::BinaryKind kind, std::string a,
                         std::string b, const std::string& output) {
  const Shape& out = shape(output);
  if (kind == fb::BinaryKind::Sub && p.is_weight(a) && !p.is_weight(b) && shape(b) == out &&
      classify(p.weights.at(a).shape, out) != Broadcast::Same) {
    // c - x (1 - mask in straight-through surrogates) as x * -1 + c: the engine broadcasts
    // only the second operand.
    const std::string negated = p.fresh_name(output + "_negated");
    p.shapes[negated] = out;
    add_op<fb::BinaryT>(name + "_negate", {b, add_weight(name + "_minus_one", {1}, {-1.0f})}, negated).kind =
        fb::BinaryKind::Mul;
    return add_binary(node, name, fb::BinaryKind::Add, negated, a, output);
  }
  std::vector<Op> expansions;
  order_binary_operands(p, name, kind, a, b, output, expansions);
  for (Op& op : expansions) p.ops.push_back(std::move(op));
  add_op<fb::BinaryT>(name, {a, b}, output).kind = kind;
}

std::string Program::fresh_name(const std::string& base) {
  std::string name = base;
  for (int k = 1; shapes.count(name) || weights.count(name) || reserved.count(name); ++k)
    name = base + "_" + std::to_string(k);
  return name;
}

Program lower(const ImportedGraph& graph) { return Lowerer(graph).run(); }

const std::set<std::string>& lowered_onnx_ops() {
  static const std::set<std::string> types = [] {
    std::set<std::string> all;
    for (const auto& l : lowerings()) all.insert(l.onnx_ops.begin(), l.onnx_ops.end());
    return all;
  }();
  return types;
}

}  // namespace vkbnn::convert::detail

namespace vkbnn::convert {

std::vector<SupportedOps> supported_ops() {
  std::vector<SupportedOps> all;
  for (const auto& l : detail::lowerings()) all.push_back({l.onnx_ops, l.notes});
  return all;
}

}  // namespace vkbnn::convert
