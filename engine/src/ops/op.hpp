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
#include "vkbnn/shape.hpp"
#include "vkbnn_model_generated.h"

namespace vkbnn::detail {

using Shape = std::vector<int64_t>;

// Every Vulkan device supports this many workgroups per dimension (maxComputeWorkGroupCount).
inline constexpr int64_t kMaxGroups = 65535;
// Invocations per workgroup at most; lanes beyond the work compute clamped copies.
inline constexpr uint32_t kMaxLocalSize = 64;

// Sizes and offsets travel to the shaders as 32-bit specialization constants; the load-time
// checks bound them (kMaxTensorElements, kMaxGroups) first.
inline uint32_t u32(int64_t v) { return static_cast<uint32_t>(v); }
inline constexpr int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
// 4-byte words a tensor occupies: one per element for Float32 and Int32; axis 1 packed 32 to a
// word for Bit and 4 to a word for Int8.
size_t storage_words(const Shape& shape, fb::DataType type);

// Visits every element of a tensor packed `per_word` to a 32-bit word along axis 1 (Bit: 32,
// Int8: 4) in row-major order of `shape`: f(element index, word index, position in the word).
template <typename F>
void for_each_packed(const Shape& shape, uint64_t per_word, F f) {
  const auto batch = static_cast<uint64_t>(shape[0]), channels = static_cast<uint64_t>(shape[1]);
  const uint64_t channel_words = (channels + per_word - 1) / per_word;
  const uint64_t inner = element_count(shape) / (batch * channels);
  for (uint64_t n = 0; n < batch; ++n)
    for (uint64_t c = 0; c < channels; ++c)
      for (uint64_t i = 0; i < inner; ++i)
        f((n * channels + c) * inner + i, (n * channel_words + c / per_word) * inner + i, c % per_word);
}

// An Int8 tensor's quantization (real = scale * (q - zero_point)); zero for other types.
struct Quant {
  float scale = 0;
  int32_t zero_point = 0;
};
Quant quant_of(const fb::Tensor& tensor);

// A node as the load-time checks see it.
struct NodeDesc {
  const fb::Node& node;
  std::vector<Shape> inputs;
  std::vector<bool> input_is_constant;
  std::vector<fb::DataType> input_types;
  std::vector<Shape> outputs;
  std::vector<fb::DataType> output_types;
  std::vector<Quant> input_quant;
  std::vector<Quant> output_quant;
  std::vector<std::span<const uint8_t>> input_data;  // a constant's bytes; empty for the rest
  // Throws ModelError("node '<name>' (<Op>): <what>").
  [[noreturn]] void fail(const std::string& what) const;
  void require(bool condition, const std::string& what) const {
    if (!condition) fail(what);
  }
};

// The inputs of a node that multiplies data by constant weights: X, constant W and optionally a
// constant B; one output.
void check_data_weights_bias(const NodeDesc& desc);

// Convolution geometry as the Conv2D-like ops store it; all zero when the vectors have the wrong
// lengths, which check_conv_shapes rejects.
struct ConvGeometry {
  int64_t kernel_h = 0, kernel_w = 0, stride_h = 0, stride_w = 0, dilation_h = 0, dilation_w = 0;
  int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0, group = 0;
};
ConvGeometry conv_geometry(const flatbuffers::Vector<int32_t>& kernel, const flatbuffers::Vector<int32_t>& strides,
                           const flatbuffers::Vector<int32_t>& dilations, const flatbuffers::Vector<int32_t>& pads,
                           int32_t group);
int64_t conv_output_length(int64_t size, int64_t kernel, int64_t stride, int64_t dilation, int64_t pad_begin,
                           int64_t pad_end);
// X [N, C, H, W], W [M, C/group, kH, kW] and Y agree with the geometry.
void check_conv_shapes(const NodeDesc& desc, const ConvGeometry& geometry, const Shape& x, const Shape& w,
                       const Shape& y);

// An activation tensor once memory is planned: offset in float elements in the arena.
struct TensorRef {
  uint32_t offset = 0;
  Shape shape;
  fb::DataType type = fb::DataType::Float32;
  Quant quant;
};

// Weights as the ops repack them for their shaders; offsets are in 4-byte words and aligned to
// 16 bytes so shaders may read vec4. The words are held as integers, floats by their bit pattern,
// so packed bits and integer data never pass through a float.
class WeightPacker {
 public:
  uint32_t add(std::span<const float> values);
  // Integer words (packed bits, counts) kept bit for bit.
  uint32_t add_words(std::span<const uint32_t> values);
  const std::vector<uint32_t>& words() const { return words_; }

 private:
  void align();
  std::vector<uint32_t> words_;
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
  bool typed = false;
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
void check_transpose(const NodeDesc&);
std::vector<Dispatch> lower_transpose(const NodeLowering&);
void check_resize(const NodeDesc&);
std::vector<Dispatch> lower_resize(const NodeLowering&);
void check_slice(const NodeDesc&);
std::vector<Dispatch> lower_slice(const NodeLowering&);
void check_binarize(const NodeDesc&);
std::vector<Dispatch> lower_binarize(const NodeLowering&);
void check_binary_conv2d(const NodeDesc&);
std::vector<Dispatch> lower_binary_conv2d(const NodeLowering&);
void check_binary_fully_connected(const NodeDesc&);
std::vector<Dispatch> lower_binary_fully_connected(const NodeLowering&);
void check_quantize(const NodeDesc&);
std::vector<Dispatch> lower_quantize(const NodeLowering&);
void check_dequantize(const NodeDesc&);
std::vector<Dispatch> lower_dequantize(const NodeLowering&);
void check_int8_conv2d(const NodeDesc&);
std::vector<Dispatch> lower_int8_conv2d(const NodeLowering&);
void check_int8_fully_connected(const NodeDesc&);
std::vector<Dispatch> lower_int8_fully_connected(const NodeLowering&);
void check_int8_add(const NodeDesc&);
std::vector<Dispatch> lower_int8_add(const NodeLowering&);
void check_int8_global_average_pool(const NodeDesc&);
std::vector<Dispatch> lower_int8_global_average_pool(const NodeLowering&);
std::vector<Dispatch> lower_int8_max_pool2d(const NodeLowering&);

}  // namespace vkbnn::detail
