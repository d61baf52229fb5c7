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
// 1.1: Bit tensors and the binary ops; 1.2: Int8 and the int8 ops; 1.3: grouped BinaryConv2D,
// Transpose, Resize and Slice; 1.4: dynamic batch (Model.batch, Tensor.batch_axis), the unary
// activations from Erf on, Min, Max and Pow; 1.5: ConvTranspose2D, Gather, Tile, MatMul,
// and the Silu and Gelu activations; 1.6: ArgReduce, GatherIndexed, Tensor.integer and dynamic input
// size (Model.dynamic_size, Pool2D.ceil_mode); 1.7: integer arithmetic (BinaryKind TruncDiv, Mod,
// Fmod; ActivationKind Floor, Ceil, Round, Trunc); 1.8: comparisons and logic at run time
// (BinaryKind Equal to Xor, ActivationKind Not and Sign, Where); 1.9: Tensor.boolean
inline constexpr uint16_t kFormatMinor = 9;

// Builds a .vkbnn file. Op parameter tables are created directly on builder() with the
// generated fb::Create* functions and passed to add_node.
class ModelWriter {
 public:
  ModelWriter();

  flatbuffers::FlatBufferBuilder& builder() { return builder_; }

  // An activation; batch_axis, integer and boolean as Tensor.batch_axis, Tensor.integer and
  // Tensor.boolean in the schema.
  uint32_t add_tensor(const std::string& name, const std::vector<int64_t>& shape,
                      fb::DataType type = fb::DataType::Float32, int8_t batch_axis = -1, bool integer = false,
                      bool boolean = false);
  uint32_t add_constant(const std::string& name, const std::vector<int64_t>& shape,
                        std::span<const float> data);
  // An Int8 activation with its quantization (real = scale * (q - zero_point)).
  uint32_t add_int8_tensor(const std::string& name, const std::vector<int64_t>& shape, float scale,
                           int32_t zero_point, int8_t batch_axis = -1);
  // An Int8 constant from row-major values; packed here as fb::DataType::Int8 describes.
  uint32_t add_int8_constant(const std::string& name, const std::vector<int64_t>& shape,
                             std::span<const int8_t> values);
  uint32_t add_int32_constant(const std::string& name, const std::vector<int64_t>& shape,
                              std::span<const int32_t> values);
  // A Bit constant: `words` packed along axis 1 as fb::DataType::Bit describes.
  uint32_t add_bit_constant(const std::string& name, const std::vector<int64_t>& shape,
                            std::span<const uint32_t> words);
  void add_node(const std::string& name, fb::OpParams type, flatbuffers::Offset<void> params,
                const std::vector<uint32_t>& inputs, const std::vector<uint32_t>& outputs);
  void set_inputs(std::vector<uint32_t> inputs) { inputs_ = std::move(inputs); }
  void set_outputs(std::vector<uint32_t> outputs) { outputs_ = std::move(outputs); }
  void set_metadata(const ModelMetadata& metadata) { metadata_ = metadata; }
  void set_producer(const std::string& producer) { producer_ = producer; }
  // Model.batch: 0 for a fixed batch.
  void set_batch(int32_t batch) { batch_ = batch; }
  void set_dynamic_size(bool dynamic) { dynamic_size_ = dynamic; }

  std::vector<uint8_t> finish();

 private:
  uint32_t add_data(const std::string& name, const std::vector<int64_t>& shape, fb::DataType type,
                    std::span<const std::byte> bytes);

  flatbuffers::FlatBufferBuilder builder_;
  std::vector<flatbuffers::Offset<fb::Tensor>> tensors_;
  std::vector<flatbuffers::Offset<fb::Node>> nodes_;
  std::vector<uint32_t> inputs_;
  std::vector<uint32_t> outputs_;
  ModelMetadata metadata_;
  std::string producer_ = "vkbnn";
  int32_t batch_ = 0;
  bool dynamic_size_ = false;
};

}  // namespace vkbnn::convert
