#pragma once

// The converter's internal representation between its stages:
//   onnx_import: ONNX model -> ImportedGraph (static shapes, constants folded)
//   lowering:    ImportedGraph -> Program of vkbnn ops
//   passes:      Program -> Program (BatchNormalization folding, fusion, dead-node removal)
//   emit:        Program -> .vkbnn bytes

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "converter.hpp"
#include "vkbnn/shape.hpp"
#include "vkbnn_model_generated.h"

namespace vkbnn::convert::detail {

using Shape = std::vector<int64_t>;

// The element count when every dimension is >= 0 and the product is at most `limit`, computed
// without overflow; shapes read from a file go through this before any other size arithmetic.
std::optional<int64_t> bounded_element_count(const Shape& shape, int64_t limit);

// A value known at conversion time. Integer tensors feed shape arithmetic, and the integer
// weights, zero points and biases of the quantized ops, which lowering turns into engine data.
struct Constant {
  bool is_float = true;
  bool is_bool = false;  // integer values 0/1 that ONNX types as BOOL (Equal's result)
  Shape dims;
  std::vector<float> f;
  std::vector<int64_t> i;
  // onnx::TensorProto::INT8 or UINT8 for 8-bit integer tensors (quantized weights and zero
  // points, whose signedness decides what the bytes mean), 0 for any other.
  int32_t int8_type = 0;
  // The ONNX element type (onnx::TensorProto data type) of the value, so that a folded shape
  // computation keeps the types the rest of the graph expects (an INT32 Cast stays INT32);
  // 0 for FLOAT (is_float) or INT64.
  int32_t elem_type = 0;

  size_t size() const { return is_float ? f.size() : i.size(); }
  double at(size_t k) const { return is_float ? double(f[k]) : double(i[k]); }
  std::vector<int64_t> ints() const;
  std::vector<float> floats() const;
};

Constant constant_from_proto(const onnx::TensorProto& tensor);
onnx::TensorProto constant_to_proto(const std::string& name, const Constant& c);

// The ONNX graph once every shape is static and every computation on constants is done.
struct ImportedGraph {
  std::vector<onnx::NodeProto> nodes;        // topological order, Identity/Dropout removed
  std::map<std::string, Shape> shapes;       // every non-constant value
  std::map<std::string, Constant> constants;
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  std::map<std::string, size_t> node_index;  // first output -> index in the original graph
  int64_t opset = 0;
  size_t onnx_nodes = 0;
  size_t folded = 0;
  std::vector<std::string> notes;  // what the user should know about the import
};

ImportedGraph import_onnx(onnx::ModelProto model, const Options& options);
// Moves Transposes past element-wise ops and reductions until inverse pairs cancel, and takes an
// NHWC input read only through a Transpose to NCHW as NCHW (transposes.cpp).
void simplify_transposes(ImportedGraph& graph);

const onnx::AttributeProto* find_attr(const onnx::NodeProto& node, const std::string& name);
int64_t attr_int(const onnx::NodeProto& node, const std::string& name, int64_t fallback);
float attr_float(const onnx::NodeProto& node, const std::string& name, float fallback);
std::string attr_string(const onnx::NodeProto& node, const std::string& name, const std::string& fallback);
std::vector<int64_t> attr_ints(const onnx::NodeProto& node, const std::string& name);

// "'name'" for a named node, "#index" otherwise: how errors point at an ONNX node.
std::string node_label(const ImportedGraph& graph, const onnx::NodeProto& node);
[[noreturn]] void unsupported(const std::string& what, const onnx::NodeProto& node,
                              const ImportedGraph& graph);

enum class OpType {
  Conv, FullyConnected, ChannelAffine, Activation, PRelu, Pool, GlobalPool, Binary, Concat,
  Reshape, Softmax, Pad, Transpose, Resize, Binarize, BinaryConv, BinaryFullyConnected,
  // One axis, step 1 (Split's parts, ONNX Slice); also read by the binarization pass as part of
  // Elastic-Link channel matching.
  Slice,
  // Only as parts of patterns the binarization pass fuses (signs and the comparisons, selections
  // and casts that spell them, Elastic-Link channel matching); emit rejects any left over.
  Sign, Compare, Not, Where, Cast, Tile, Expand, Reduce,
  // Made by the int8 quantization pass (quantize.cpp).
  Quantize, Dequantize, Int8Conv, Int8FullyConnected, Int8Add, Int8GlobalPool
};
const char* op_type_name(OpType type);

// Compare: Greater, GreaterOrEqual, Less, LessOrEqual or Equal of its two inputs (1 or 0).
enum class CompareKind { Greater, GreaterOrEqual, Less, LessOrEqual, Equal };
// Cast: what the target type does to a value (booleans are 0 and 1).
enum class CastKind { Float, Bool, Integer };

struct Activation {
  fb::ActivationKind kind = fb::ActivationKind::None;
  float alpha = 0;
  float beta = 0;
};
std::string activation_string(const Activation& act);

// One of data, bits, int8 and int32 holds the values.
struct Weight {
  Shape shape;
  std::vector<float> data;
  std::vector<uint32_t> bits;  // a Bit constant (fb::DataType::Bit layout)
  std::vector<int8_t> int8;    // row-major; packed when emitted
  std::vector<int32_t> int32;
};

// An Int8 activation's quantization: real = scale * (q - zero_point).
struct Quantization {
  float scale = 1;
  int32_t zero_point = 0;
};

// The BinaryEpilogue of a binary layer (see the schema); its constants are the op's inputs.
struct BinaryEpilogue {
  fb::BinaryActivationKind activation = fb::BinaryActivationKind::None;
  bool activation_after_link = true;
  bool has_link = false;
  fb::LinkChannels channels = fb::LinkChannels::Identity;
  fb::LinkGroupOrder group_order = fb::LinkGroupOrder::Contiguous;
  fb::LinkReduce reduce = fb::LinkReduce::Mean;
  int32_t pool = 1;
};

struct Op {
  OpType type;
  std::string name;
  std::vector<std::string> inputs;  // activations or names in Program::weights
  std::string output;
  Activation act;
  // Conv2D and Pool2D
  std::vector<int32_t> kernel, strides, dilations, pads;
  int32_t group = 1;
  fb::PoolKind pool = fb::PoolKind::Max;
  bool count_include_pad = false;
  fb::BinaryKind binary = fb::BinaryKind::Add;
  int32_t axis = 0;  // Concat, Softmax
  std::vector<int64_t> pad_amounts;
  fb::PadMode pad_mode = fb::PadMode::Constant;
  float pad_value = 0;
  // Tile (repeats), Expand (the output shape says it all), Slice (one axis), Reduce (Mean or Sum)
  std::vector<int64_t> repeats, axes;
  std::vector<int32_t> perm;  // Transpose
  // Resize: scales of H and W, empty where the output sizes were given
  fb::ResizeMode resize_mode = fb::ResizeMode::Nearest;
  fb::ResizeCoordinates coordinates = fb::ResizeCoordinates::HalfPixel;
  fb::ResizeNearest nearest = fb::ResizeNearest::RoundPreferFloor;
  std::vector<float> scales;
  int64_t slice_start = 0, slice_end = 0;
  bool keep_dims = true;
  bool reduce_mean = true;
  CompareKind compare = CompareKind::Greater;
  CastKind cast = CastKind::Float;
  // BinaryConv, BinaryFullyConnected
  fb::BinaryPadding padding = fb::BinaryPadding::Zero;
  BinaryEpilogue epilogue;
  // Int8Conv, Int8FullyConnected, Int8Add (clamps, multipliers, shift); Int8GlobalPool
  // (multiplier_a, shift)
  int32_t clamp_min = -128, clamp_max = 127;
  int32_t multiplier_a = 0, multiplier_b = 0, shift = 1;
};

struct Program {
  std::vector<Op> ops;
  std::map<std::string, Shape> shapes;  // activations
  std::map<std::string, Weight> weights;
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  std::set<std::string> reserved;  // ONNX constant names, which may become weights later
  std::set<std::string> bit_values;  // activations stored as packed signs (fb::DataType::Bit)
  std::map<std::string, Quantization> int8_values;  // activations stored as int8
  std::vector<std::string> notes;    // what the user should know about the conversion
  // Layers that look binarized but stay real: op name -> why (NodeSummary::note).
  std::map<std::string, std::string> layer_notes;
  size_t folded_batchnorms = 0;
  size_t fused_activations = 0;

  bool is_weight(const std::string& name) const { return weights.count(name) != 0; }
  // A name no tensor has yet, derived from base.
  std::string fresh_name(const std::string& base);
};

Program lower(const ImportedGraph& graph);
void optimize(Program& program);
// Turns sign -> conv/matmul with +-alpha weights into binary layers and fuses their epilogues
// (Elastic-Link add, PReLU/RPReLU, the next layer's binarization); see binarize.cpp.
void binarize(Program& program);
// Models in QDQ format (QuantizeLinear/DequantizeLinear around float ops, as ONNX Runtime's
// quantizer writes them): a float op with an int8 form whose activation inputs all come from
// Dequantize and whose only reader is a Quantize becomes that int8 op (quantize.cpp).
void fuse_qdq(Program& program);
// Rewrites the program into int8 layers calibrated on options.quantize's samples (quantize.cpp);
// fills the summary's quantization table.
Result quantize_and_emit(Program& program, const ImportedGraph& graph, const Options& options);
Result emit(const Program& program, const ImportedGraph& graph, const Options& options);

}  // namespace vkbnn::convert::detail
