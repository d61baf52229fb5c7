#pragma once

// How a model node becomes GPU work. Each op family (one file each in this folder) provides a
// semantic check, run when the model is loaded, and a lowering into compute dispatches, run when
// a Network is built. Lowering is pure: it sees planned arena offsets and constant data and
// returns dispatches, so it needs no Vulkan and can be tested alone.

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "vkbnn/device.hpp"
#include "vkbnn/error.hpp"
#include "shader_interface.hpp"
#include "vkbnn/network.hpp"
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
inline int32_t i32(int64_t v) { return static_cast<int32_t>(v); }
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

// A node as the load-time checks (and the layer metadata) see it.
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

// An activation tensor as a dispatch sees it. Each dispatch binds the tensors it reads and
// writes from their starts (see Dispatch), so `offset` (4-byte words into the binding) is 0; an
// op adds to it where it addresses a part.
struct TensorRef {
  uint32_t offset = 0;
  Shape shape;
  fb::DataType type = fb::DataType::Float32;
  Quant quant;
};

// Weights as the ops repack them for their shaders; offsets are in 4-byte words and aligned to
// 16 bytes so shaders may read vec4. The words are held as integers, floats by their bit pattern,
// so packed bits and integer data never pass through a float.
//
// A device binds at most so many bytes of one buffer (maxStorageBufferRange and its kin), so the
// words go into pages of at most page_words() words, each its own buffer, and a dispatch binds the
// one page it reads (Dispatch::weight_page). Offsets are relative to their page. add() fills the
// current page; an op whose weights alone may fill a page splits its work into dispatches whose
// weights fit one each, and calls reserve() before each dispatch's adds. For every other op the
// network checks after lowering that its weights fit, and lowers it again onto a fresh page when
// they do not (mark(), rollback(), new_page()).
class WeightPacker {
 public:
  // Pages without a size limit beyond the 32-bit offsets'.
  WeightPacker() = default;
  explicit WeightPacker(uint64_t page_words);
  uint32_t add(std::span<const float> values);
  // Integer words (packed bits, counts) kept bit for bit.
  uint32_t add_words(std::span<const uint32_t> values);
  // Words a block of `values` adds at most, alignment included: what reserve() is given.
  static uint64_t footprint(uint64_t values) { return (values + 3) / 4 * 4; }
  // Makes room for `words` words (a sum of footprint()s) in the current page, starting a new
  // page when it lacks it; returns the page they go to. Throws MemoryLimitError when `words`
  // exceed a page.
  uint32_t reserve(uint64_t words);
  void new_page();
  uint32_t page() const { return static_cast<uint32_t>(pages_.size() - 1); }
  uint64_t page_words() const { return page_words_; }
  // Whether the current page has grown past page_words().
  bool overfull() const { return pages_.back().size() > page_words_; }
  const std::vector<std::vector<uint32_t>>& pages() const { return pages_; }
  uint64_t total_words() const;

  struct Mark {
    size_t page = 0;
    size_t words = 0;
  };
  Mark mark() const { return {pages_.size() - 1, pages_.back().size()}; }
  // Drops every word added since `m`.
  void rollback(const Mark& m);

 private:
  void align();
  uint64_t page_words_ = uint64_t{1} << 32;
  std::vector<std::vector<uint32_t>> pages_ = std::vector<std::vector<uint32_t>>(1);
};

// Activation tensors one dispatch reads at most: the operand slots in_*[k] of shaders/common.glsl.
inline constexpr uint32_t kOperandSlots = 3;

// Words [begin, end) of a tensor.
struct WordRange {
  uint64_t begin = 0, end = 0;
};

// One compute dispatch: an embedded shader, the values of its specialization constants and
// push constants (the shader's generated Spec and Push structs, see shader_interface.hpp, kept
// as words: the pipeline is keyed by shader and spec), and the number of workgroups.
//
// Its descriptor set binds only what it touches (shaders/common.glsl): output 0 for writing
// (dst), the node inputs in `operands` for reading, the weight page. The recorder puts a barrier
// before a dispatch exactly where these ranges meet those of the dispatches since the last one,
// and synchronization validation checks the same ranges.
struct Dispatch {
  ShaderId shader{};
  std::span<const SpecEntry> spec_entries;
  std::vector<uint32_t> spec;
  std::vector<uint32_t> push;
  std::array<uint32_t, 3> groups{1, 1, 1};
  // The node inputs bound to operand slots 0, 1, ... (at most kOperandSlots); constants bind
  // nothing. Unset: input k in slot k, for every activation input.
  std::optional<std::vector<uint32_t>> operands;
  // The part of output 0 it writes (words from the output's start; see output_part()); unset:
  // all of it.
  std::optional<WordRange> written;
  // The weight page it binds (see WeightPacker); unset: the page its node's weights went to.
  std::optional<uint32_t> weight_page;
};

// `spec` with its window constants (KH, KW, SH, SW, DH, DW, PT, PL, named alike in every
// convolution and pooling shader) taken from `g` (a ConvGeometry or a struct with its field names).
template <typename Spec, typename Geometry>
Spec with_window(Spec spec, const Geometry& g) {
  spec.KH = i32(g.kernel_h);
  spec.KW = i32(g.kernel_w);
  spec.SH = i32(g.stride_h);
  spec.SW = i32(g.stride_w);
  spec.DH = i32(g.dilation_h);
  spec.DW = i32(g.dilation_w);
  spec.PT = i32(g.pad_top);
  spec.PL = i32(g.pad_left);
  return spec;
}

// `spec` with whichever of the size constants N, C, H, W (the input), M, OH and OW (the output)
// it has, named alike in every convolution-like shader, taken from `s` (a struct with the fields
// batch, in_channels, in_h, in_w, out_channels, out_h and out_w); sizes_of() makes one from X
// [N, C, H, W] and Y [N, M, OH, OW].
template <typename Spec, typename Sizes>
Spec with_sizes(Spec spec, const Sizes& s) {
  auto set = [](auto& field, int64_t value) { field = static_cast<std::remove_reference_t<decltype(field)>>(value); };
  if constexpr (requires { spec.N; }) set(spec.N, s.batch);
  if constexpr (requires { spec.C; }) set(spec.C, s.in_channels);
  if constexpr (requires { spec.H; }) set(spec.H, s.in_h);
  if constexpr (requires { spec.W; }) set(spec.W, s.in_w);
  if constexpr (requires { spec.M; }) set(spec.M, s.out_channels);
  if constexpr (requires { spec.OH; }) set(spec.OH, s.out_h);
  if constexpr (requires { spec.OW; }) set(spec.OW, s.out_w);
  return spec;
}
struct LayerSizes {
  int64_t batch, in_channels, in_h, in_w, out_channels, out_h, out_w;
};
inline LayerSizes sizes_of(const Shape& x, const Shape& y) { return {x[0], x[1], x[2], x[3], y[1], y[2], y[3]}; }

// A dispatch of shader S (a struct of shader::): make_dispatch<shader::pad>({...}, {...}, groups).
template <typename S>
Dispatch make_dispatch(const typename S::Spec& spec, const typename S::Push& push, std::array<uint32_t, 3> groups) {
  Dispatch d{S::id, S::spec_entries, std::vector<uint32_t>(S::spec_entries.size()),
             std::vector<uint32_t>(S::push_size / 4), groups};
  if (!d.spec.empty()) std::memcpy(d.spec.data(), &spec, d.spec.size() * sizeof(uint32_t));
  if (!d.push.empty()) std::memcpy(d.push.data(), &push, S::push_size);
  return d;
}

// The specialization constants a dispatch of shader S carries (for tests of the lowering).
template <typename S>
typename S::Spec spec_of(const Dispatch& d) {
  if (d.shader != S::id) throw std::logic_error(std::string("the dispatch is not one of ") + shader_name(S::id));
  typename S::Spec spec;
  static_assert(std::is_trivially_copyable_v<typename S::Spec>);
  if (!d.spec.empty()) std::memcpy(static_cast<void*>(&spec), d.spec.data(), d.spec.size() * sizeof(uint32_t));
  return spec;
}

struct NodeLowering {
  const fb::Node& node;
  std::vector<TensorRef> inputs;  // for constant inputs only the shape is meaningful
  std::vector<std::optional<std::span<const float>>> constants;  // set where an input is constant
  std::vector<TensorRef> outputs;
  WeightPacker& weights;
  const DeviceInfo& device;
  // Where a binding may start, in words: tensors are planned at multiples of it.
  uint64_t binding_alignment = 16;
  ConvAlgorithm conv_algorithm = ConvAlgorithm::Auto;  // NetworkOptions::conv_algorithm

  // The words of constant input `index` (Bit constants are read this way).
  std::vector<uint32_t> constant_words(size_t index) const;
};

// What a dispatch that writes only words [begin, end) of output 0 binds (Dispatch::written), so
// that dispatches writing other parts need no barrier between them: from the aligned word at or
// below `begin`, which the shader then addresses at begin - part.begin.
inline WordRange output_part(const NodeLowering& l, uint64_t begin, uint64_t end) {
  return {begin / l.binding_alignment * l.binding_alignment, end};
}

// Layer metadata (LayerInfo). The precision of layers that compute in the type of their tensors: int8 when any tensor is
// Int8, bits when the output is Bit, else fp32.
Precision precision_of_tensors(const NodeDesc& desc);
// Multiply-accumulates of an op whose input 1 holds weights [M, K...]: each output element takes
// one product per weight of its output channel.
uint64_t macs_per_weight_row(const NodeDesc& desc);

// A node's output shapes at other input shapes, for a model converted with --dynamic-size that
// a Network is built for at another input size (Model::with_input_sizes).
struct ShapeQuery {
  const NodeDesc& desc;       // the node at the size it was converted at
  std::vector<Shape> inputs;  // its input shapes at the new size; constants keep theirs
  // Throws ModelError naming the node and saying why its output cannot follow the input size.
  [[noreturn]] void pins(const std::string& why) const;
  // The shape of input `index` with its new lengths, for ops whose output is that input's shape.
  std::vector<Shape> same_as(size_t index) const { return {inputs.at(index)}; }
};
// Output shapes of an op that keeps its outputs' shapes while its inputs keep theirs, and cannot
// follow other input shapes (e.g. a fixed-size Resize): fails naming the node otherwise.
std::vector<Shape> fixed_shapes(const ShapeQuery& q);
// [N, M, OH, OW] of a 2-D convolution (or pooling window, out_channels = C) at the new X.
Shape conv_output_shape(const ShapeQuery& q, const ConvGeometry& g, int64_t out_channels);
// [N, M] of a layer whose weights take X's features (every axis after N): they must not change.
std::vector<Shape> fully_connected_shapes(const ShapeQuery& q);
// The numpy broadcast of the inputs' new shapes.
Shape broadcast_inputs(const ShapeQuery& q);

// What an input of an op is, by position: computed by the network (an activation, or a graph
// input), a constant the op packs into its weight pages (weights, a bias, a scale), or either.
enum class InputRole : uint8_t { Activation, Weight, Either };
struct InputSpec {
  const char* name;  // as messages name it: "input X", "weights W"
  InputRole role = InputRole::Either;
};
// X, then weights W and a bias B (convolutions, fully connected layers).
inline const std::vector<InputSpec> kDataWeightsBias{
    {"input X", InputRole::Activation}, {"weights W", InputRole::Weight}, {"bias B", InputRole::Weight}};
// One activation input, however many parameters follow as node fields (most data movement).
inline const std::vector<InputSpec> kOneActivation{{"input", InputRole::Activation}};

// What the engine knows of one schema op. Each op family's file defines op_kind_of<> for its ops
// (below); the engine's table of them is built from flatc's OpParams enum, so the schema is the
// one list of ops and an op without a definition fails to link.
struct OpKind {
  void (*check)(const NodeDesc&);
  std::vector<Dispatch> (*lower)(const NodeLowering&) = nullptr;
  // The output is the input's memory seen with another shape; lower() is never called.
  bool alias = false;
  // check() validates the data types itself; for every other op all tensors must be Float32.
  bool typed = false;
  // Its inputs by position, as far as their roles are fixed. The model check enforces them before
  // check() runs; check() counts the inputs and checks the rest (an Elastic-Link input's position
  // depends on the node's fields, a Binary's operands may be either).
  std::vector<InputSpec> inputs;
  Precision (*precision)(const NodeDesc&) = precision_of_tensors;
  // Multiply-accumulates per run; none counted where null.
  uint64_t (*macs)(const NodeDesc&) = nullptr;
  // The output shapes at other input shapes (ShapeQuery). Every op has one: tests walk the
  // registry for it, and a model with an op lacking it cannot be built for another input size.
  std::vector<Shape> (*shapes)(const ShapeQuery&) = nullptr;
};

template <fb::OpParams Op>
const OpKind& op_kind_of();
// One declaration per member of the schema's OpParams union (the list is generated from
// engine/schema/vkbnn_model.fbs by engine/CMakeLists.txt).
#define VKBNN_OP(Name) \
  template <>          \
  const OpKind& op_kind_of<fb::OpParams::Name>();
#include "vkbnn_ops.inc"
#undef VKBNN_OP

// Fails naming the first input whose constness contradicts kind.inputs.
void check_input_roles(const NodeDesc& desc, const OpKind& kind);

// Throws ModelError for a type the schema does not have. The op's name is
// fb::EnumNameOpParams(type).
const OpKind& op_kind(fb::OpParams type);

// Pool2D on Int8 tensors (int8.cpp), which pool.cpp's lowering hands over to.
std::vector<Dispatch> lower_int8_max_pool2d(const NodeLowering&);

// The load-time description of `node` of `model`, whose tensor indices have been checked.
NodeDesc describe_node(const fb::Model& model, const fb::Node& node);

}  // namespace vkbnn::detail
