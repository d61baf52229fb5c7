#pragma once

// ONNX models built node by node with the protobuf API, for the converter tests.

#include <cstdint>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

namespace vkbnn::test {

// Empty trailing inputs are dropped: ONNX reads them as omitted optional inputs.
onnx::NodeProto& add_node(onnx::GraphProto& graph, const std::string& op, const std::vector<std::string>& inputs,
                          const std::vector<std::string>& outputs, const std::string& name = "");
// The caller adds the data.
onnx::TensorProto& add_initializer(onnx::GraphProto& graph, const std::string& name,
                                   const std::vector<int64_t>& dims, onnx::TensorProto_DataType type);

void ints_attribute(onnx::NodeProto& node, const std::string& name, const std::vector<int64_t>& values);
void int_attribute(onnx::NodeProto& node, const std::string& name, int64_t value);
void float_attribute(onnx::NodeProto& node, const std::string& name, float value);

class OnnxGraph {
 public:
  explicit OnnxGraph(int64_t opset = 13);

  // Dims <= 0 are left symbolic. The checker wants a shape on outputs too.
  void input(const std::string& name, const std::vector<int64_t>& dims,
             onnx::TensorProto_DataType type = onnx::TensorProto_DataType_FLOAT);
  void output(const std::string& name, const std::vector<int64_t>& dims,
              onnx::TensorProto_DataType type = onnx::TensorProto_DataType_FLOAT);

  void floats(const std::string& name, const std::vector<int64_t>& dims, const std::vector<float>& values);
  void int64s(const std::string& name, const std::vector<int64_t>& dims, const std::vector<int64_t>& values);
  // INT8, UINT8 or INT32 values: ONNX keeps all three in int32_data.
  void int32s(const std::string& name, const std::vector<int64_t>& dims, const std::vector<int32_t>& values,
              onnx::TensorProto_DataType type = onnx::TensorProto_DataType_INT32);

  onnx::NodeProto& node(const std::string& op, const std::vector<std::string>& inputs,
                        const std::vector<std::string>& outputs, const std::string& name = "");

  const onnx::ModelProto& model() const { return model_; }

 private:
  onnx::ModelProto model_;
};

// What convert::convert says when it refuses the model as unsupported, or "(converted)".
std::string conversion_error(const onnx::ModelProto& model);
// What convert::convert says when it refuses the model for any reason (a vkbnn::Error), or
// "(converted)"; any other exception escapes and fails the test.
std::string conversion_refusal(const onnx::ModelProto& model);

}  // namespace vkbnn::test
