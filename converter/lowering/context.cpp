#include "lowering/context.hpp"

namespace vkbnn::convert::detail {

LoweringContext::LoweringContext(const ImportedGraph& graph) : g_(graph) {
  p_.shapes = graph.shapes;
  p_.notes = graph.notes;
  p_.inputs = graph.inputs;
  p_.outputs = graph.outputs;
  p_.integer_values = graph.integer_values;
  for (const auto& [name, value] : graph.constants) p_.reserved.insert(name);
}

std::string LoweringContext::op_name(const onnx::NodeProto& node) const {
  if (!node.name().empty()) return node.name();
  return node.op_type() + "_" + node.output(0);
}

const Constant* LoweringContext::constant(const onnx::NodeProto& node, int k) const {
  if (!has(node, k)) return nullptr;
  auto it = g_.constants.find(node.input(k));
  return it == g_.constants.end() ? nullptr : &it->second;
}

const Constant& LoweringContext::require_constant(const onnx::NodeProto& node, int k, const std::string& what) const {
  const Constant* c = constant(node, k);
  if (!c) fail(node, "a non-constant " + what);
  return *c;
}

const std::string& LoweringContext::activation(const onnx::NodeProto& node, int k) const {
  if (!has(node, k) || !p_.shapes.count(node.input(k)))
    fail(node, "a constant where a computed input " + std::to_string(k) + " is expected");
  return node.input(k);
}

int64_t LoweringContext::axis_in(const onnx::NodeProto& node, int64_t axis, size_t rank) const {
  const auto r = static_cast<int64_t>(rank);
  if (axis < -r || axis >= r) fail(node, "axis " + std::to_string(axis) + " out of range for rank " + std::to_string(r));
  return axis < 0 ? axis + r : axis;
}

std::string LoweringContext::add_weight(const std::string& base, Shape dims, std::vector<float> data) {
  std::string name = p_.fresh_name(base);
  p_.weights[name] = {std::move(dims), std::move(data)};
  return name;
}

std::string LoweringContext::weight_input(const onnx::NodeProto& node, int k) {
  const std::string& name = node.input(k);
  if (!p_.weights.count(name)) {
    const Constant& c = *constant(node, k);
    if (!c.is_float) fail(node, "an integer tensor operand '" + name + "'");
    // Scalars are stored as [1]: every engine tensor has at least one axis.
    p_.weights[name] = {c.dims.empty() ? Shape{1} : c.dims, c.f};
  }
  return name;
}

void LoweringContext::add_reshape(const std::string& name, const std::string& input, const std::string& output,
                                  Shape out_shape) {
  p_.shapes[output] = std::move(out_shape);
  add_op<fb::ReshapeT>(name, {input}, output);
}

}  // namespace vkbnn::convert::detail
