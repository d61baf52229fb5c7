// ONNX ArgMax and ArgMin as the engine's ArgReduce, whose int64 indices the engine carries as
// exact floats (the output is an integer value of the Program, marked so in the file).

#include "lowering/lowerer.hpp"

namespace vkbnn::convert::detail {
namespace {

void arg_reduce(Lowerer& l, const onnx::NodeProto& node) {
  Program& p = l.p;
  const std::string& x = l.activation(node, 0);
  const Shape& in = l.shape(x);
  const int64_t axis = l.axis_in(node, attr_int(node, "axis", 0), in.size());
  if (in[static_cast<size_t>(axis)] > (int64_t{1} << 24))
    l.fail(node, "an axis of length " + std::to_string(in[static_cast<size_t>(axis)]) +
                     ", more than the 2^24 indices a float holds exactly");
  const int64_t keepdims = attr_int(node, "keepdims", 1), last = attr_int(node, "select_last_index", 0);
  if (keepdims != 0 && keepdims != 1) l.fail(node, "keepdims=" + std::to_string(keepdims));
  if (last != 0 && last != 1) l.fail(node, "select_last_index=" + std::to_string(last));
  // The engine keeps one axis where ONNX's result is a scalar; a Reshape gives the ONNX shape.
  Shape reduced = in;
  if (keepdims) reduced[static_cast<size_t>(axis)] = 1;
  else reduced.erase(reduced.begin() + axis);
  if (reduced.empty()) reduced.push_back(1);
  const std::string name = l.op_name(node);
  const bool same = reduced == l.shape(node.output(0));
  const std::string out = same ? node.output(0) : p.fresh_name(node.output(0) + "_indices");
  if (!same) p.shapes[out] = reduced;
  p.integer_values.insert(out);
  p.integer_values.insert(node.output(0));
  auto& op = l.add_op<fb::ArgReduceT>(name, {x}, out);
  op.kind = node.op_type() == "ArgMax" ? fb::ArgKind::Max : fb::ArgKind::Min;
  op.axis = static_cast<int32_t>(axis);
  op.keep_dims = keepdims != 0;
  op.select_last_index = last != 0;
  if (!same) l.add_reshape(name + "_shape", out, node.output(0), l.shape(node.output(0)));
}

}  // namespace

void register_arg_reduce_lowerings(LoweringTable& table) {
  table.add({"ArgMax", "ArgMin"}, arg_reduce, "any axis, keepdims, select_last_index; int64 indices");
}

}  // namespace vkbnn::convert::detail
