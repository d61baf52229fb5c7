#pragma once

// Builds one-node models for the op tests and checks load-time rejections.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "converter/writer/model_writer.hpp"
#include "support/test_support.hpp"
#include "vkbnn/shape.hpp"

namespace vkbnn::test {

// An input of the node under test: a graph input (no data) or a constant.
struct NodeInput {
  std::vector<int64_t> shape;
  std::optional<std::vector<float>> constant;
};

using ParamsFactory = std::function<flatbuffers::Offset<void>(flatbuffers::FlatBufferBuilder&)>;

inline std::vector<uint8_t> single_node_model(fb::OpParams type, const ParamsFactory& params,
                                              const std::vector<NodeInput>& inputs,
                                              const std::vector<int64_t>& output_shape) {
  convert::ModelWriter w;
  std::vector<uint32_t> node_inputs, graph_inputs;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string name = "in" + std::to_string(i);
    if (inputs[i].constant) {
      node_inputs.push_back(w.add_constant(name, inputs[i].shape, *inputs[i].constant));
    } else {
      node_inputs.push_back(w.add_tensor(name, inputs[i].shape));
      graph_inputs.push_back(node_inputs.back());
    }
  }
  const uint32_t out = w.add_tensor("out", output_shape);
  w.add_node("op", type, params(w.builder()), node_inputs, {out});
  w.set_inputs(graph_inputs);
  w.set_outputs({out});
  return w.finish();
}

// Runs the model on the given graph inputs and returns its only output's values.
inline std::vector<float> run_single(const std::vector<uint8_t>& model,
                                     const std::vector<std::vector<float>>& inputs) {
  auto outputs = run_model(model, inputs);
  return outputs.at(0).data;
}

inline ::testing::AssertionResult rejected(const std::vector<uint8_t>& model, const std::string& fragment) {
  try {
    Model::from_bytes(model);
  } catch (const ModelError& e) {
    if (std::string(e.what()).find(fragment) != std::string::npos) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "rejected, but the message lacks '" << fragment << "': " << e.what();
  }
  return ::testing::AssertionFailure() << "the model loaded; expected an error mentioning '" << fragment << "'";
}

inline size_t count_of(const std::vector<int64_t>& shape) { return static_cast<size_t>(element_count(shape)); }

}  // namespace vkbnn::test
