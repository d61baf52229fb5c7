#pragma once

// The converter's internal representation between its stages (convert_model in converter.cpp
// runs them in this order; each folder of converter/ is one stage):
//   onnx/import, onnx/transposes: ONNX model -> ImportedGraph (static shapes, constants folded,
//                transposes moved and cancelled)
//   lowering/:   ImportedGraph -> Program of vkbnn ops and binarization pattern ops
//   passes/:     Program -> Program: fusion (bias, BatchNormalization, activations, HardSwish),
//                binarization (sign -> conv/matmul into binary layers with fused epilogues),
//                dead-node removal
//   quantize/:   Program -> Program of int8 layers, from QDQ pairs in the model (fuse_qdq) or
//                calibrated on sample inputs (quantize_and_emit, --quantize int8)
//   writer/:     Program -> .vkbnn bytes

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <variant>
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
  std::set<std::string> integer_values;      // non-constant values of an ONNX integer type
  std::set<std::string> boolean_outputs;     // graph outputs of ONNX type bool
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
// NHWC input read only through a Transpose to NCHW as NCHW (onnx/transposes.cpp).
void simplify_transposes(ImportedGraph& graph);
// Rewrites 1-D Conv, ConvTranspose, MaxPool and AveragePool into their 2-D forms over a unit
// height between Reshapes (onnx/lift_1d.cpp); import_onnx does it last.
void lift_1d_ops(ImportedGraph& graph);

// Evaluates `nodes` in order (ops the folding stage evaluates) from `values`, which hold every
// value they read; all values after, or nullopt when a node cannot be evaluated or the results
// would exceed `budget` elements.
std::optional<std::map<std::string, Constant>> evaluate_nodes(const std::vector<const onnx::NodeProto*>& nodes,
                                                              std::map<std::string, Constant> values, int64_t opset,
                                                              int64_t budget);
// Replaces each subgraph that computes a layer normalization over trailing axes (ReduceMean, Sub,
// Pow, ReduceMean, Add, Sqrt, Div, Mul, Add, or any other spelling of it) by one
// LayerNormalization node, found by evaluating candidates (onnx/layer_norm.cpp).
void fuse_layer_norms(onnx::GraphProto& graph, const std::map<std::string, Shape>& shapes,
                      std::map<std::string, Constant>& constants, int64_t opset,
                      const std::set<std::string>& graph_outputs);

const onnx::AttributeProto* find_attr(const onnx::NodeProto& node, const std::string& name);
int64_t attr_int(const onnx::NodeProto& node, const std::string& name, int64_t fallback);
float attr_float(const onnx::NodeProto& node, const std::string& name, float fallback);
std::string attr_string(const onnx::NodeProto& node, const std::string& name, const std::string& fallback);
std::vector<int64_t> attr_ints(const onnx::NodeProto& node, const std::string& name);

// "'name'" for a named node, "#index" otherwise: how errors point at an ONNX node.
std::string node_label(const ImportedGraph& graph, const onnx::NodeProto& node);
[[noreturn]] void unsupported(const std::string& what, const onnx::NodeProto& node,
                              const ImportedGraph& graph);

// Ops kept as parts of patterns the binarization pass fuses (signs and the comparisons,
// selections and casts that spell them; Tile and Expand as Elastic-Link channel matching). They
// never reach the file: those the pass leaves become the engine's run-time ops
// (lower_unfused_patterns, and engine Tiles), and emit rejects any other left over.
namespace pattern {
struct Sign {
  static constexpr const char* kName = "Sign";
};
// Greater, GreaterOrEqual, Less, LessOrEqual or Equal of the two inputs (1 or 0).
enum class CompareKind { Greater, GreaterOrEqual, Less, LessOrEqual, Equal };
struct Compare {
  static constexpr const char* kName = "Compare";
  CompareKind kind = CompareKind::Greater;
};
struct Not {
  static constexpr const char* kName = "Not";
};
struct Where {
  static constexpr const char* kName = "Where";
};
// What the target type does to a value (booleans are 0 and 1).
enum class CastKind { Float, Bool, Integer };
struct Cast {
  static constexpr const char* kName = "Cast";
  CastKind kind = CastKind::Float;
};
struct Tile {
  static constexpr const char* kName = "Tile";
  std::vector<int64_t> repeats;
};
// The output shape says it all.
struct Expand {
  static constexpr const char* kName = "Expand";
};
}  // namespace pattern

using PatternParams = std::variant<std::monostate, pattern::Sign, pattern::Compare, pattern::Not, pattern::Where,
                                   pattern::Cast, pattern::Tile, pattern::Expand>;

template <class T>
concept FileParams = fb::OpParamsUnionTraits<T>::enum_value != fb::OpParams::NONE;

// One op of the Program: a node of the file, whose parameters are the schema's own table
// (fb::OpParamsUnion holds the object API's ...T), or a pattern op.
struct Op {
  std::string name;
  std::vector<std::string> inputs;  // activations or names in Program::weights
  std::string output;
  fb::OpParamsUnion params;  // NONE for a pattern op
  PatternParams pattern;     // monostate for an op of the file

  // The parameters when the op is a T (an fb ...T table or a pattern struct), else nullptr.
  template <class T>
  T* get() {
    if constexpr (FileParams<T>)
      return params.type == fb::OpParamsUnionTraits<T>::enum_value ? static_cast<T*>(params.value) : nullptr;
    else
      return std::get_if<T>(&pattern);
  }
  template <class T>
  const T* get() const {
    return const_cast<Op*>(this)->get<T>();
  }
  template <class T>
  bool is() const {
    return get<T>() != nullptr;
  }
  // Makes the op a T with these parameters; a table with a fused activation always holds one,
  // as the file has always written it.
  template <class T>
  T& set(T value) {
    if constexpr (FileParams<T>) {
      if constexpr (requires { value.activation; })
        if (!value.activation) value.activation = std::make_unique<fb::ActivationT>();
      pattern = std::monostate{};
      params.Set(std::move(value));
    } else {
      params.Reset();
      pattern = std::move(value);
    }
    return *get<T>();
  }
  bool is_pattern() const { return !std::holds_alternative<std::monostate>(pattern); }
  // The schema's name of the op (fb::EnumNameOpParams), or the pattern's.
  std::string type_name() const;

  // The activation fused into the op (kind None for ops that fuse none).
  fb::ActivationT act() const;
  // Fuses an activation into an op that has one (Conv2D, FullyConnected, ChannelAffine,
  // ActivationOp, Binary).
  void set_act(const fb::ActivationT& act);
};

std::string activation_string(const fb::ActivationT& act);

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

struct Program {
  std::vector<Op> ops;
  std::map<std::string, Shape> shapes;  // activations
  std::map<std::string, Weight> weights;
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  std::set<std::string> reserved;  // ONNX constant names, which may become weights later
  std::set<std::string> bit_values;  // activations stored as packed signs (fb::DataType::Bit)
  // Activations of an ONNX integer type (ArgMax's indices and what moves them), which the engine
  // carries as exact floats (fb::Tensor::integer).
  std::set<std::string> integer_values;
  std::set<std::string> boolean_outputs;  // graph outputs of ONNX type bool (fb::Tensor::boolean)
  std::map<std::string, Quantization> int8_values;  // activations stored as int8
  std::vector<std::string> notes;    // what the user should know about the conversion
  // Layers that look binarized but stay real: op name -> why (NodeSummary::note).
  std::map<std::string, std::string> layer_notes;
  size_t folded_batchnorms = 0;
  size_t fused_activations = 0;
  // With Options::dynamic_batch: the batch the shapes are for, and the axis of each activation
  // that scales with it (absent: none); see passes/dynamic_batch.cpp.
  int32_t batch = 0;
  std::map<std::string, int> batch_axes;
  // With Options::dynamic_size: the model is size-generic (passes/dynamic_size.cpp checked it).
  bool dynamic_size = false;

  bool is_weight(const std::string& name) const { return weights.count(name) != 0; }
  // A name no tensor has yet, derived from base.
  std::string fresh_name(const std::string& base);
};

Program lower(const ImportedGraph& graph);
// The ONNX op types lowering turns into vkbnn ops (the registrations of lowering/'s families).
const std::set<std::string>& lowered_onnx_ops();
void optimize(Program& program);
// Turns sign -> conv/matmul with +-alpha weights into binary layers and fuses their epilogues
// (Elastic-Link add, PReLU/RPReLU, the next layer's binarization); see passes/binarize.cpp.
void binarize(Program& program);
// The sign patterns binarize() left (comparisons, Not, Where, Cast, Sign) as the engine's run-time
// ops (passes/unfused_patterns.cpp).
void lower_unfused_patterns(Program& program);
// Models in QDQ format (QuantizeLinear/DequantizeLinear around float ops, as ONNX Runtime's
// quantizer writes them): a float op with an int8 form whose activation inputs all come from
// Dequantize and whose only reader is a Quantize becomes that int8 op (quantize/quantize.cpp).
void fuse_qdq(Program& program);
// Rewrites the program into int8 layers calibrated on options.quantize's samples (quantize/quantize.cpp);
// fills the summary's quantization table.
Result quantize_and_emit(Program& program, const ImportedGraph& graph, const Options& options);
Result emit(const Program& program, const ImportedGraph& graph, const Options& options);
// For Options::dynamic_batch: converts `source` again at batch + 1, sets program.batch and
// program.batch_axes from how each activation's shape changed, and checks that the model at
// batch + 1 is the batch-`batch` one with those axes scaled (passes/dynamic_batch.cpp).
void find_batch_axes(Program& program, const ImportedGraph& graph, onnx::ModelProto source, const Options& options);
// For Options::dynamic_size: converts `source` again at twice the input size and checks that the
// model there is the engine's shape functions applied to this one (Model::with_input_sizes), then
// sets program.dynamic_size; refuses naming the node that pins the size (passes/dynamic_size.cpp).
void check_dynamic_size(Program& program, const ImportedGraph& graph, onnx::ModelProto source, const Options& options);

}  // namespace vkbnn::convert::detail
