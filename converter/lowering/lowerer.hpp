// Lowering: ONNX nodes of an ImportedGraph to the vkbnn ops of a Program. Each op family has its
// own file here, which defines its lowerings and registers them in a register_<file>_lowerings()
// function; CMake names one per file (lowering_families.inc), so a new family is a new file and
// nothing central changes. This header is what the families share: the Lowerer, whose helpers
// read the ONNX node and add ops, weights and shapes to the Program.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ir.hpp"

namespace vkbnn::convert::detail {

// Integers of at most this magnitude are exact in the engine's float words (Tensor.integer).
inline constexpr int64_t kExactIntegerLimit = int64_t{1} << 24;

// How an operand of an element-wise op lines up with the output. The engine broadcasts an
// operand that, aligned to the right, matches the output on one run of axes and is 1 elsewhere.
enum class Broadcast { Same, Run, Other };
Broadcast classify(const Shape& operand, const Shape& out);
// Repeats a broadcastable constant to the full output shape.
std::vector<float> expand(const Constant& c, const Shape& out);

// The kind that computes op(b, a) as op'(a, b): the symmetric kinds themselves, the ordered
// comparisons mirrored (Greater and Less); none for the others (Sub, Div, ...).
std::optional<fb::BinaryKind> swapped_kind(fb::BinaryKind kind);
// A new op of type T named `name` (see Op::get).
template <class T>
Op make_op(const std::string& name, std::vector<std::string> inputs, const std::string& output) {
  Op op;
  op.name = name;
  op.inputs = std::move(inputs);
  op.output = output;
  op.set(T{});
  return op;
}
// The ops that copy x to the shape of `output` (numpy broadcasting, x of at most its rank): a
// Reshape where nothing repeats, else an Expand after leading axes of length 1 are added.
std::vector<Op> expand_ops(Program& p, const std::string& name, const std::string& x, const std::string& output);
// Puts the operands of a Binary named `name` into the order the engine takes them: input 0 fills
// the output and input 1 broadcasts onto it along one run of axes (classify), a constant that
// does not being stored repeated to the output's shape; swaps them, with `kind` as swapped_kind
// says, where that helps. An operand that fits neither role (x - max(x, axis 1), two masks that
// broadcast against each other, c / x with c per channel) is brought to the output's shape, input
// 0 first and then input 1 if still needed: a constant stored repeated, a computed one expanded by
// ops added to `expansions`, which must run before the Binary.
void order_binary_operands(Program& p, const std::string& name, fb::BinaryKind& kind, std::string& a, std::string& b,
                           const std::string& output, std::vector<Op>& expansions);

class Lowerer {
 public:
  explicit Lowerer(const ImportedGraph& graph);
  Program run();

  [[noreturn]] void fail(const onnx::NodeProto& node, const std::string& what) const { unsupported(what, node, g); }

  std::string op_name(const onnx::NodeProto& node) const {
    if (!node.name().empty()) return node.name();
    return node.op_type() + "_" + node.output(0);
  }

  bool has(const onnx::NodeProto& node, int k) const { return node.input_size() > k && !node.input(k).empty(); }

  const Constant* constant(const onnx::NodeProto& node, int k) const;
  const Constant& require_constant(const onnx::NodeProto& node, int k, const std::string& what) const;
  // Input k, which must be computed (not a constant).
  const std::string& activation(const onnx::NodeProto& node, int k) const;
  const Shape& shape(const std::string& name) const { return p.shapes.at(name); }
  // An axis attribute of a tensor of rank `rank` in [0, rank); one outside [-rank, rank) fails.
  int64_t axis_in(const onnx::NodeProto& node, int64_t axis, size_t rank) const;
  // A scalar constant input k, or fallback where it is absent.
  float scalar_input(const onnx::NodeProto& node, int k, float fallback) const;

  std::string add_weight(const std::string& base, Shape dims, std::vector<float> data);
  // A constant input used as is, under its ONNX name.
  std::string weight_input(const onnx::NodeProto& node, int k);
  // Input k as a weight where it is constant, else the computed tensor.
  std::string operand(const onnx::NodeProto& node, int k) {
    return constant(node, k) ? weight_input(node, k) : node.input(k);
  }

  // A new op of type T (see Op::get); the parameters returned are valid until the next op.
  template <class T>
  T& add_op(const std::string& name, std::vector<std::string> inputs, const std::string& output) {
    p.ops.push_back(make_op<T>(name, std::move(inputs), output));
    return *p.ops.back().get<T>();
  }
  void add_reshape(const std::string& name, const std::string& input, const std::string& output, Shape out_shape);
  // x broadcast to the shape of output (expand_ops).
  void add_expand(const std::string& name, const std::string& x, const std::string& output);
  // An element-wise op of a and b, each a weight or a computed tensor, broadcast to output
  // (order_binary_operands).
  void add_binary(const onnx::NodeProto& node, const std::string& name, fb::BinaryKind kind, std::string a,
                  std::string b, const std::string& output);

  // The 2-D geometry attributes: pairs (kernel_shape, strides, dilations), pads as top, left,
  // bottom, right, and explicit pads from auto_pad or the pads attribute.
  std::vector<int32_t> pair_attr(const onnx::NodeProto& node, const std::string& name, int32_t fallback) const;
  std::vector<int32_t> pair_pads(const onnx::NodeProto& node) const;
  std::vector<int32_t> resolve_pads(const onnx::NodeProto& node, const Shape& in, const std::vector<int32_t>& kernel,
                                    const std::vector<int32_t>& strides, const std::vector<int32_t>& dilations) const;
  // Kernel, strides, dilations, group and pads of Conv or QLinearConv with weights of shape w.
  template <class T>
  void conv_geometry(const onnx::NodeProto& node, const Shape& x, const Shape& w, T& op) const {
    std::vector<int32_t> kernel{static_cast<int32_t>(w[2]), static_cast<int32_t>(w[3])};
    if (find_attr(node, "kernel_shape") && pair_attr(node, "kernel_shape", 0) != kernel)
      fail(node, "kernel_shape that disagrees with the weights");
    op.kernel = kernel;
    op.strides = pair_attr(node, "strides", 1);
    op.dilations = pair_attr(node, "dilations", 1);
    op.group = static_cast<int32_t>(attr_int(node, "group", 1));
    op.pads = resolve_pads(node, x, op.kernel, op.strides, op.dilations);
  }

  // An int8 ONNX value: the engine tensor holding it, its ONNX type, and what computed it.
  struct Int8Value {
    std::string tensor;
    bool is_uint8 = false;
    std::string op, node;
  };

  const ImportedGraph& g;
  Program p;
  std::map<std::string, Int8Value> int8;

 private:
  void lower(const onnx::NodeProto& node);
};

using LowerFn = void (*)(Lowerer&, const onnx::NodeProto&);

// Which ONNX op types each lowering handles; the importer accepts exactly these (and the ones it
// folds).
struct Lowering {
  std::vector<std::string> onnx_ops;
  LowerFn lower;
  // What of these ops is supported, for the README's table (vkbnn-convert --list-ops).
  std::string notes;
  bool reads_int8 = false;  // only these read int8 tensors
};

class LoweringTable {
 public:
  void add(std::vector<std::string> onnx_ops, LowerFn lower, std::string notes, bool reads_int8 = false) {
    entries_.push_back({std::move(onnx_ops), lower, std::move(notes), reads_int8});
  }
  const std::vector<Lowering>& entries() const { return entries_; }

 private:
  std::vector<Lowering> entries_;
};

// Every family's registrations (lowerer.cpp).
const std::vector<Lowering>& lowerings();

}  // namespace vkbnn::convert::detail
