// ONNX Gather: at constant indices as the engine's Gather (the indices in the file), at
// computed ones (ArgMax's, say) as GatherIndexed, which reads them from the arena.

#include <cmath>

#include "lowering/lowerer.hpp"

namespace vkbnn::convert::detail {
namespace {

// The engine carries integers as floats, exact up to 2^24.
constexpr int64_t kMaxExactInteger = int64_t{1} << 24;

// The engine gathers along the axis into one axis as long as the indices, which a Reshape turns
// into the indices' own shape (a scalar index drops the axis).
void gather_constant(Lowerer& l, const onnx::NodeProto& node, const std::string& x, int64_t axis,
                     const Constant& c) {
  Program& p = l.p;
  const Shape& in = l.shape(x);
  if (c.is_float) l.fail(node, "float indices");
  const int64_t length = in[static_cast<size_t>(axis)];
  std::vector<int32_t> indices;
  for (int64_t index : c.ints()) {
    if (index < -length || index >= length)
      l.fail(node, "index " + std::to_string(index) + " outside axis " + std::to_string(axis) + " of length " +
                       std::to_string(length));
    indices.push_back(static_cast<int32_t>(index < 0 ? index + length : index));
  }
  if (indices.empty()) l.fail(node, "no indices (vkbnn has no empty tensors)");
  Shape gathered = in;
  gathered[static_cast<size_t>(axis)] = static_cast<int64_t>(indices.size());
  const std::string name = l.op_name(node);
  const bool same = gathered == l.shape(node.output(0));
  const std::string out = same ? node.output(0) : p.fresh_name(node.output(0) + "_gathered");
  if (!same) p.shapes[out] = gathered;
  auto& op = l.add_op<fb::GatherT>(name, {x}, out);
  op.axis = static_cast<int32_t>(axis);
  op.indices = std::move(indices);
  if (!same) l.add_reshape(name + "_shape", out, node.output(0), l.shape(node.output(0)));
}

// The data as an engine operand: an activation, or a constant table (integer tables as the
// floats the engine carries integers as).
std::string data_operand(Lowerer& l, const onnx::NodeProto& node) {
  const Constant* c = l.constant(node, 0);
  if (!c) return l.activation(node, 0);
  if (c->dims.empty()) l.fail(node, "scalar data");
  if (c->is_float) return l.weight_input(node, 0);
  std::vector<float> values;
  for (int64_t v : c->ints()) {
    if (v < -kMaxExactInteger || v > kMaxExactInteger)
      l.fail(node, "an integer table value " + std::to_string(v) + " beyond the 2^24 a float holds exactly");
    values.push_back(static_cast<float>(v));
  }
  return l.add_weight(l.op_name(node) + "_table", c->dims, std::move(values));
}

// Computed indices of any shape; the engine's tensors have at least one axis, so a scalar index
// is gathered as one of shape [1] and the axis it leaves dropped by a Reshape.
void gather_computed(Lowerer& l, const onnx::NodeProto& node, const std::string& x, const Shape& in,
                     int64_t axis) {
  Program& p = l.p;
  const std::string name = l.op_name(node);
  std::string indices = l.activation(node, 1);
  if (in[static_cast<size_t>(axis)] > kMaxExactInteger)
    l.fail(node, "an axis of length " + std::to_string(in[static_cast<size_t>(axis)]) +
                     ", more than the 2^24 positions float indices address exactly");
  if (l.shape(indices).empty()) {
    const std::string ranked = p.fresh_name(indices + "_ranked");
    l.add_reshape(name + "_ranked", indices, ranked, {1});
    indices = ranked;
  }
  Shape gathered(in.begin(), in.begin() + axis);
  const Shape& index_shape = l.shape(indices);
  gathered.insert(gathered.end(), index_shape.begin(), index_shape.end());
  gathered.insert(gathered.end(), in.begin() + axis + 1, in.end());
  const bool same = gathered == l.shape(node.output(0));
  const std::string out = same ? node.output(0) : p.fresh_name(node.output(0) + "_gathered");
  if (!same) p.shapes[out] = gathered;
  if (p.integer_values.count(node.output(0))) p.integer_values.insert(out);
  l.add_op<fb::GatherIndexedT>(name, {x, indices}, out).axis = static_cast<int32_t>(axis);
  if (!same) l.add_reshape(name + "_shape", out, node.output(0), l.shape(node.output(0)));
}

void gather(Lowerer& l, const onnx::NodeProto& node) {
  const Constant* indices = l.constant(node, 1);
  if (indices) {
    const std::string& x = l.activation(node, 0);
    gather_constant(l, node, x, l.axis_in(node, attr_int(node, "axis", 0), l.shape(x).size()), *indices);
    return;
  }
  const std::string x = data_operand(l, node);
  const Program& p = l.p;
  const Shape& in = p.is_weight(x) ? p.weights.at(x).shape : l.shape(x);
  gather_computed(l, node, x, in, l.axis_in(node, attr_int(node, "axis", 0), in.size()));
}

}  // namespace

void register_gather_lowerings(LoweringTable& table) {
  table.add({"Gather"}, gather,
            "any axis; constant indices, or computed ones (ArgMax's), negative ones counting from the end and "
            "computed ones outside the axis clamped into it");
}

}  // namespace vkbnn::convert::detail
