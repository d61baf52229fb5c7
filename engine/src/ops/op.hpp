#pragma once

// How a model node becomes GPU work. Each op family (one file each in this folder) provides a
// semantic check, run when the model is loaded, and a lowering into compute dispatches, run when
// a Network is built. Lowering is pure: it sees planned arena offsets and constant data and
// returns dispatches, so it needs no Vulkan and can be tested alone.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "vkbnn/device.hpp"
#include "vkbnn/error.hpp"
#include "vkbnn_model_generated.h"

namespace vkbnn::detail {

using Shape = std::vector<int64_t>;

size_t element_count(const Shape& shape);
std::string shape_string(const Shape& shape);
// 4-byte words a tensor occupies: one per element for Float32; for Bit, axis 1 packed 32 to a word.
size_t storage_words(const Shape& shape, fb::DataType type);

// A node as the load-time checks see it.
struct NodeDesc {
  const fb::Node& node;
  std::vector<Shape> inputs;
  std::vector<bool> input_is_constant;
  std::vector<fb::DataType> input_types;
  std::vector<Shape> outputs;
  std::vector<fb::DataType> output_types;
  // Throws ModelError("node '<name>' (<Op>): <what>").
  [[noreturn]] void fail(const std::string& what) const;
  void require(bool condition, const std::string& what) const {
    if (!condition) fail(what);
  }
};

// The inputs of a node that multiplies data by constant weights: X, constant W and optionally a
// constant B; one output.
void check_data_weights_bias(const NodeDesc& desc);

// An activation tensor once memory is planned: offset in float elements in the arena.
struct TensorRef {
  uint32_t offset = 0;
  Shape shape;
  fb::DataType type = fb::DataType::Float32;
};

// Weights as the ops repack them for their shaders; offsets are in 4-byte words and aligned to
// 16 bytes so shaders may read vec4.
class WeightPacker {
 public:
  uint32_t add(std::span<const float> values);
  uint32_t add_zeros(size_t count);
  // Integer words (packed bits, counts) kept bit for bit.
  uint32_t add_words(std::span<const uint32_t> values);
  const std::vector<float>& words() const { return words_; }

 private:
  void align();
  std::vector<float> words_;
};

// One compute dispatch: an embedded shader by name (the file name in shaders/ without .comp),
// the values of its specialization constants (constant_id i takes spec[i]; floats are bit-cast
// with as_spec), and the number of workgroups.
// By default a dispatch waits for the node's previous dispatch; `independent` drops that wait
// when the dispatches touch disjoint memory (e.g. one per Concat input).
struct Dispatch {
  std::string shader;
  std::vector<uint32_t> spec;
  std::array<uint32_t, 3> groups{1, 1, 1};
  bool independent = false;
};

uint32_t as_spec(float value);

struct NodeLowering {
  const fb::Node& node;
  std::vector<TensorRef> inputs;  // for constant inputs only the shape is meaningful
  std::vector<std::optional<std::span<const float>>> constants;  // set where an input is constant
  std::vector<TensorRef> outputs;
  WeightPacker& weights;
  const DeviceInfo& device;

  // The words of constant input `index` (Bit constants are read this way).
  std::vector<uint32_t> constant_words(size_t index) const;
};

struct OpKind {
  const char* name;
  void (*check)(const NodeDesc&);
  std::vector<Dispatch> (*lower)(const NodeLowering&);
  // The output is the input's memory seen with another shape; lower() is never called.
  bool alias = false;
  // check() validates the data types itself; for every other op all tensors must be Float32.
  bool bit_aware = false;
};

const OpKind& op_kind(fb::OpParams type);

// Per op family (conv.cpp, fully_connected.cpp, ...).
void check_conv2d(const NodeDesc&);
std::vector<Dispatch> lower_conv2d(const NodeLowering&);
void check_fully_connected(const NodeDesc&);
std::vector<Dispatch> lower_fully_connected(const NodeLowering&);
void check_channel_affine(const NodeDesc&);
std::vector<Dispatch> lower_channel_affine(const NodeLowering&);
void check_activation(const NodeDesc&);
std::vector<Dispatch> lower_activation(const NodeLowering&);
void check_prelu(const NodeDesc&);
std::vector<Dispatch> lower_prelu(const NodeLowering&);
void check_pool2d(const NodeDesc&);
std::vector<Dispatch> lower_pool2d(const NodeLowering&);
void check_global_pool(const NodeDesc&);
std::vector<Dispatch> lower_global_pool(const NodeLowering&);
void check_binary(const NodeDesc&);
std::vector<Dispatch> lower_binary(const NodeLowering&);
void check_concat(const NodeDesc&);
std::vector<Dispatch> lower_concat(const NodeLowering&);
void check_reshape(const NodeDesc&);
void check_softmax(const NodeDesc&);
std::vector<Dispatch> lower_softmax(const NodeLowering&);
void check_pad(const NodeDesc&);
std::vector<Dispatch> lower_pad(const NodeLowering&);
void check_binarize(const NodeDesc&);
std::vector<Dispatch> lower_binarize(const NodeLowering&);
void check_binary_conv2d(const NodeDesc&);
std::vector<Dispatch> lower_binary_conv2d(const NodeLowering&);
void check_binary_fully_connected(const NodeDesc&);
std::vector<Dispatch> lower_binary_fully_connected(const NodeLowering&);

}  // namespace vkbnn::detail
