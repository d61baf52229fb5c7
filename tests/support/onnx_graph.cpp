#include "support/onnx_graph.hpp"

#include "converter/converter.hpp"

namespace vkbnn::test {
namespace {

// Symbolic dims are named after `symbol` and their position.
void describe(onnx::ValueInfoProto& value, const std::string& name, const std::vector<int64_t>& dims,
              onnx::TensorProto_DataType type, const std::string& symbol) {
  value.set_name(name);
  auto* tensor = value.mutable_type()->mutable_tensor_type();
  tensor->set_elem_type(type);
  auto* shape = tensor->mutable_shape();
  for (int64_t d : dims) {
    if (d > 0) shape->add_dim()->set_dim_value(d);
    else shape->add_dim()->set_dim_param(symbol + std::to_string(shape->dim_size()));
  }
}

onnx::AttributeProto& add_attribute(onnx::NodeProto& node, const std::string& name,
                                    onnx::AttributeProto_AttributeType type) {
  auto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(type);
  return *a;
}

}  // namespace

onnx::NodeProto& add_node(onnx::GraphProto& graph, const std::string& op, const std::vector<std::string>& inputs,
                          const std::vector<std::string>& outputs, const std::string& name) {
  auto* n = graph.add_node();
  n->set_op_type(op);
  n->set_name(name);
  size_t present = inputs.size();
  while (present > 0 && inputs[present - 1].empty()) --present;
  for (size_t i = 0; i < present; ++i) n->add_input(inputs[i]);
  for (const auto& o : outputs) n->add_output(o);
  return *n;
}

onnx::TensorProto& add_initializer(onnx::GraphProto& graph, const std::string& name,
                                   const std::vector<int64_t>& dims, onnx::TensorProto_DataType type) {
  auto* t = graph.add_initializer();
  t->set_name(name);
  t->set_data_type(type);
  for (int64_t d : dims) t->add_dims(d);
  return *t;
}

void ints_attribute(onnx::NodeProto& node, const std::string& name, const std::vector<int64_t>& values) {
  auto& a = add_attribute(node, name, onnx::AttributeProto_AttributeType_INTS);
  for (int64_t v : values) a.add_ints(v);
}

void int_attribute(onnx::NodeProto& node, const std::string& name, int64_t value) {
  add_attribute(node, name, onnx::AttributeProto_AttributeType_INT).set_i(value);
}

void float_attribute(onnx::NodeProto& node, const std::string& name, float value) {
  add_attribute(node, name, onnx::AttributeProto_AttributeType_FLOAT).set_f(value);
}

OnnxGraph::OnnxGraph(int64_t opset) {
  model_.set_ir_version(7);
  model_.set_producer_name("vkbnn_tests");
  auto* import = model_.add_opset_import();
  import->set_domain("");
  import->set_version(opset);
  model_.mutable_graph()->set_name("test");
}

void OnnxGraph::input(const std::string& name, const std::vector<int64_t>& dims, onnx::TensorProto_DataType type) {
  describe(*model_.mutable_graph()->add_input(), name, dims, type, "dynamic");
}

// Symbols apart from the inputs': ONNX reads one dim_param name as one size throughout the graph.
void OnnxGraph::output(const std::string& name, const std::vector<int64_t>& dims, onnx::TensorProto_DataType type) {
  describe(*model_.mutable_graph()->add_output(), name, dims, type, "out");
}

void OnnxGraph::floats(const std::string& name, const std::vector<int64_t>& dims, const std::vector<float>& values) {
  auto& t = add_initializer(*model_.mutable_graph(), name, dims, onnx::TensorProto_DataType_FLOAT);
  for (float v : values) t.add_float_data(v);
}

void OnnxGraph::int64s(const std::string& name, const std::vector<int64_t>& dims,
                       const std::vector<int64_t>& values) {
  auto& t = add_initializer(*model_.mutable_graph(), name, dims, onnx::TensorProto_DataType_INT64);
  for (int64_t v : values) t.add_int64_data(v);
}

void OnnxGraph::int32s(const std::string& name, const std::vector<int64_t>& dims,
                       const std::vector<int32_t>& values, onnx::TensorProto_DataType type) {
  auto& t = add_initializer(*model_.mutable_graph(), name, dims, type);
  for (int32_t v : values) t.add_int32_data(v);
}

onnx::NodeProto& OnnxGraph::node(const std::string& op, const std::vector<std::string>& inputs,
                                 const std::vector<std::string>& outputs, const std::string& name) {
  return add_node(*model_.mutable_graph(), op, inputs, outputs, name);
}

std::string conversion_error(const onnx::ModelProto& model) {
  try {
    convert::convert(model);
  } catch (const convert::UnsupportedError& e) {
    return e.what();
  }
  return "(converted)";
}

std::string conversion_refusal(const onnx::ModelProto& model) {
  try {
    convert::convert(model);
  } catch (const Error& e) {
    return e.what();
  }
  return "(converted)";
}

}  // namespace vkbnn::test
