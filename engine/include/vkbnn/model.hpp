#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "vkbnn/shape.hpp"

namespace vkbnn {

namespace fb {
struct Model;
}

enum class ChannelOrder { RGB, BGR, Gray };

struct ModelMetadata {
  int input_height = 0;
  int input_width = 0;
  std::string layout = "NCHW";
  ChannelOrder channel_order = ChannelOrder::RGB;
  std::vector<float> mean;
  std::vector<float> std;
  std::vector<std::string> labels;
  std::string description;
};

struct TensorDesc {
  std::string name;
  std::vector<int64_t> shape;
  // The values are integers carried as exact floats (an ONNX int64 output such as ArgMax's
  // indices): what a client hands out as an integer array.
  bool integer = false;
  // The values are booleans carried as the floats 0 and 1 (an ONNX bool output such as a
  // comparison's): what a client hands out as a boolean array. Never together with integer.
  bool boolean = false;
  size_t elements() const;
};

// A verified model file. Loading checks the FlatBuffers structure and then the semantics
// (shapes, buffer lengths, op parameters, graph references), so anything past the constructor
// can be trusted. Failures throw ModelError with one line naming the problem.
class Model {
 public:
  static Model load(const std::filesystem::path& path);
  static Model from_bytes(std::vector<uint8_t> bytes, const std::string& origin = "<memory>");

  const ModelMetadata& metadata() const { return metadata_; }
  const std::vector<TensorDesc>& inputs() const { return inputs_; }
  const std::vector<TensorDesc>& outputs() const { return outputs_; }
  size_t node_count() const;
  size_t weight_bytes() const { return weight_bytes_; }
  size_t file_bytes() const { return bytes_->size(); }
  // The model file's contents.
  std::span<const uint8_t> bytes() const { return *bytes_; }
  const std::string& origin() const { return origin_; }

  // The batch the shapes are for when the model has a dynamic batch (converted with
  // --dynamic-batch), else 0: the shapes hold for their batch only.
  int64_t dynamic_batch() const;
  // This model at another batch: inputs, outputs and every activation along its batch axis
  // scaled, checked as a loaded file is. Throws ModelError for a model without a dynamic batch
  // (unless `batch` is the one it has) and for a batch out of range.
  Model with_batch(int64_t batch) const;

  // Whether the model is size-generic (converted with --dynamic-size): a Network may be built for
  // other lengths of the inputs' axes after N and C (with_input_sizes).
  bool dynamic_size() const;
  // This model at other input sizes: `sizes` holds, per model input in order, the lengths of its
  // axes after N and C (H and W of an NCHW image); an empty entry keeps that input's. Every
  // activation's shape is derived by its op's shape function and the result is checked as a
  // loaded file is (so a size too small for a kernel fails), and the metadata's input size
  // follows the first 4-D input. Throws ModelError, naming the node that pins the size where one
  // does, for a model without dynamic_size (unless the sizes are its own), a count or rank of
  // sizes that does not match the inputs, and lengths outside 1 to kMaxTensorElements.
  Model with_input_sizes(const std::vector<std::vector<int64_t>>& sizes) const;

  const fb::Model& schema() const { return *root_; }

 private:
  Model() = default;
  std::shared_ptr<const std::vector<uint8_t>> bytes_;
  const fb::Model* root_ = nullptr;
  std::string origin_;
  ModelMetadata metadata_;
  std::vector<TensorDesc> inputs_;
  std::vector<TensorDesc> outputs_;
  size_t weight_bytes_ = 0;
};

}  // namespace vkbnn
