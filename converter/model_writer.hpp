#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <flatbuffers/flatbuffers.h>

#include "vkbnn/model.hpp"
#include "vkbnn_model_generated.h"

namespace vkbnn::convert {

inline constexpr uint16_t kFormatMajor = 1;
inline constexpr uint16_t kFormatMinor = 0;

// Builds a .vkbnn file. Op parameter tables are created directly on builder() with the
// generated fb::Create* functions and passed to add_node.
class ModelWriter {
 public:
  ModelWriter();

  flatbuffers::FlatBufferBuilder& builder() { return builder_; }

  uint32_t add_tensor(const std::string& name, const std::vector<int64_t>& shape);
  uint32_t add_constant(const std::string& name, const std::vector<int64_t>& shape,
                        std::span<const float> data);
  void add_node(const std::string& name, fb::OpParams type, flatbuffers::Offset<void> params,
                const std::vector<uint32_t>& inputs, const std::vector<uint32_t>& outputs);
  void set_inputs(std::vector<uint32_t> inputs) { inputs_ = std::move(inputs); }
  void set_outputs(std::vector<uint32_t> outputs) { outputs_ = std::move(outputs); }
  void set_metadata(const ModelMetadata& metadata) { metadata_ = metadata; }
  void set_producer(const std::string& producer) { producer_ = producer; }

  std::vector<uint8_t> finish();

 private:
  flatbuffers::FlatBufferBuilder builder_;
  std::vector<flatbuffers::Offset<fb::Tensor>> tensors_;
  std::vector<flatbuffers::Offset<fb::Node>> nodes_;
  std::vector<uint32_t> inputs_;
  std::vector<uint32_t> outputs_;
  ModelMetadata metadata_;
  std::string producer_ = "vkbnn";
};

}  // namespace vkbnn::convert
