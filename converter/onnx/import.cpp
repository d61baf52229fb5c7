#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include "ir.hpp"
#include "onnx/opset18.hpp"

namespace vkbnn::convert::detail {
namespace {

using onnx::TensorProto_DataType;

// What folding may produce in all, in elements: this many, plus a few for each element of the
// file's initializers (binarized or quantized weights are folded through two or three ops).
constexpr int64_t kMinFoldBudget = int64_t{1} << 22;
constexpr int64_t kFoldBudgetPerElement = 4;

// Ops the folding stage evaluates (lowered_onnx_ops() are those the lowering stage maps).
const std::set<std::string> kFoldedOps = {
    "Constant", "Shape", "Gather", "Unsqueeze", "Squeeze", "Concat", "Reshape", "Flatten", "Cast",
    "Mul", "Add", "Sub", "Div", "Neg", "Sqrt", "Reciprocal", "Pow", "Identity", "Transpose",
    "Slice", "ConstantOfShape", "Range", "Floor", "Ceil", "Min", "Max", "Equal", "Where",
    // Weights binarized in the graph: Sign(W) * mean(|W|), in any of its spellings
    // (Where(W >= 0, 1, -1), Cast(W >= 0) * 2 - 1, clamp(W, -1, 1) in front).
    "Sign", "Abs", "ReduceMean", "ReduceSum", "Expand", "Greater", "GreaterOrEqual", "Less", "LessOrEqual",
    "Not", "Clip",
    // Masks computed from constants (causal attention masks, a floor division's sign correction).
    "And", "Or", "Xor",
    // Swin's shifted-window mask: the padding arithmetic (Mod) and the regions written into it.
    "Mod", "ScatterND",
    // repeat_interleave's export splits its repeat counts.
    "Split",
    // Quantized weights stored as integers (QDQ format) or quantized in the graph.
    "QuantizeLinear", "DequantizeLinear"};
// Ops of quantized models that the engine cannot run, and why.
const std::map<std::string, std::string> kRejectedOps = {
    {"ConvInteger",
     "it produces int32 values, and vkbnn has no int32 activations (its int8 layers requantize their int32 "
     "accumulators to int8 inside the op); quantize with QLinearConv or QuantizeLinear/DequantizeLinear instead"},
    {"MatMulInteger",
     "it produces int32 values, and vkbnn has no int32 activations (its int8 layers requantize their int32 "
     "accumulators to int8 inside the op); quantize with QLinearMatMul or QuantizeLinear/DequantizeLinear instead"},
    {"DynamicQuantizeLinear",
     "it computes its scale and zero point from the data at run time, while vkbnn fixes the quantization of "
     "every int8 tensor at conversion; quantize statically (QuantizeLinear with a constant scale and zero point)"}};

std::string type_name(int32_t type) {
  return TensorProto_DataType_Name(static_cast<TensorProto_DataType>(type));
}

bool is_float_type(int32_t type) {
  return type == TensorProto_DataType::TensorProto_DataType_FLOAT ||
         type == TensorProto_DataType::TensorProto_DataType_DOUBLE ||
         type == TensorProto_DataType::TensorProto_DataType_FLOAT16 ||
         type == TensorProto_DataType::TensorProto_DataType_BFLOAT16;
}

bool is_integer_type(int32_t type) {
  using DT = TensorProto_DataType;
  switch (type) {
    case DT::TensorProto_DataType_INT8: case DT::TensorProto_DataType_UINT8: case DT::TensorProto_DataType_INT16:
    case DT::TensorProto_DataType_UINT16: case DT::TensorProto_DataType_INT32: case DT::TensorProto_DataType_UINT32:
    case DT::TensorProto_DataType_INT64: case DT::TensorProto_DataType_UINT64: case DT::TensorProto_DataType_BOOL:
      return true;
    default:
      return false;
  }
}

// The element type a constant is written back into the graph with.
int32_t onnx_type(const Constant& c) {
  if (c.elem_type != 0) return c.elem_type;
  if (c.int8_type != 0) return c.int8_type;
  if (c.is_bool) return TensorProto_DataType::TensorProto_DataType_BOOL;
  return c.is_float ? TensorProto_DataType::TensorProto_DataType_FLOAT : TensorProto_DataType::TensorProto_DataType_INT64;
}

template <typename T, typename From>
std::string raw_bytes(const std::vector<From>& values) {
  std::string bytes(values.size() * sizeof(T), '\0');
  for (size_t k = 0; k < values.size(); ++k) {
    const T v = static_cast<T>(values[k]);
    std::memcpy(bytes.data() + k * sizeof(T), &v, sizeof(T));
  }
  return bytes;
}

template <typename T>
std::vector<T> read_raw(const onnx::TensorProto& t) {
  const std::string& raw = t.raw_data();
  if (raw.size() % sizeof(T) != 0)
    throw ModelError("tensor '" + t.name() + "' has raw_data of " + std::to_string(raw.size()) +
                     " bytes, not a whole number of " + type_name(t.data_type()) + " values");
  std::vector<T> out(raw.size() / sizeof(T));
  if (!out.empty()) std::memcpy(out.data(), raw.data(), raw.size());
  return out;
}

template <typename From, typename To>
std::vector<To> cast_all(const std::vector<From>& in) {
  return std::vector<To>(in.begin(), in.end());
}

Shape strides_of(const Shape& dims) {
  // An empty tensor's other dimensions are unchecked and their product may overflow; nothing is
  // indexed in it anyway.
  if (std::find(dims.begin(), dims.end(), 0) != dims.end()) return Shape(dims.size(), 0);
  Shape s(dims.size(), 1);
  for (size_t k = dims.size(); k-- > 1;) s[k - 1] = s[k] * dims[k];
  return s;
}

int64_t normalize_axis(int64_t axis, size_t rank) {
  return axis < 0 ? axis + static_cast<int64_t>(rank) : axis;
}

// An axis attribute or input resolved against a rank it must lie within.
size_t checked_axis(int64_t axis, size_t rank) {
  const int64_t a = normalize_axis(axis, rank);
  if (a < 0 || a >= static_cast<int64_t>(rank))
    throw ModelError("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  return static_cast<size_t>(a);
}

// A folded tensor is allocated only once its shape fits in what is left of the model's budget
// of folded elements (Folder::fold charges its results to it).
Constant make_like(bool is_float, Shape dims, int64_t budget) {
  if (!bounded_element_count(dims, budget))
    throw ModelError("its result of shape " + shape_string(dims) + " exceeds the " + std::to_string(budget) +
                     " elements left for folded constants in this model");
  Constant c;
  c.is_float = is_float;
  c.dims = std::move(dims);
  if (is_float) c.f.resize(static_cast<size_t>(element_count(c.dims)));
  else c.i.resize(static_cast<size_t>(element_count(c.dims)));
  return c;
}

// Integers come from int64 inputs and small arithmetic on them; a result beyond int64 (a
// division by zero, a huge power) is an error, not a wrapped value.
int64_t to_integer(double v) {
  if (!(std::abs(v) < 9.2e18)) throw ModelError("the integer result " + std::to_string(v) + " is out of range");
  return static_cast<int64_t>(v);
}

void set_value(Constant& c, size_t k, double v) {
  if (c.is_float) c.f[k] = static_cast<float>(v);
  else c.i[k] = to_integer(v);
}

// Gathers the elements of `in` in the order given by an index map over an output shape.
template <typename IndexOf>
Constant remap(const Constant& in, Shape out_dims, int64_t limit, IndexOf index_of) {
  Constant out = make_like(in.is_float, std::move(out_dims), limit);
  out.int8_type = in.int8_type;
  // The output index advances like an odometer: no division per axis and element.
  Shape idx(out.dims.size(), 0);
  for (size_t k = 0; k < out.size(); ++k) {
    const size_t src = index_of(idx);
    if (src >= in.size()) throw ModelError("an element outside its input is read");
    if (out.is_float) out.f[k] = in.f[src];
    else out.i[k] = in.i[src];
    for (size_t d = idx.size(); d-- > 0;) {
      if (++idx[d] < out.dims[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

// The shape numpy-style broadcasting gives operands of these shapes.
Shape broadcast_shape(const std::vector<const Shape*>& shapes) {
  size_t rank = 0;
  for (const auto* s : shapes) rank = std::max(rank, s->size());
  Shape dims(rank, 1);
  for (const auto* s : shapes)
    for (size_t d = 0; d < s->size(); ++d) {
      int64_t& o = dims[rank - s->size() + d];
      int64_t v = (*s)[d];
      if (o != 1 && v != 1 && o != v) throw ModelError("its inputs' shapes do not broadcast");
      if (v != 1) o = v;
    }
  return dims;
}

// The strides that read a tensor of shape `dims` broadcast to `rank` axes: 0 along the axes it
// lacks or has once.
Shape broadcast_strides(const Shape& dims, size_t rank) {
  const Shape s = strides_of(dims);
  Shape padded(rank, 0);
  for (size_t d = 0; d < dims.size(); ++d) padded[rank - dims.size() + d] = dims[d] == 1 ? 0 : s[d];
  return padded;
}

// Numpy-style broadcasting of an element-wise function over any number of operands.
template <typename Fn>
Constant broadcast(const std::vector<const Constant*>& args, bool is_float, int64_t limit, Fn fn) {
  std::vector<const Shape*> shapes;
  for (const auto* a : args) shapes.push_back(&a->dims);
  const Shape dims = broadcast_shape(shapes);
  const size_t rank = dims.size();
  for (const auto* a : args)
    if (static_cast<int64_t>(a->size()) != element_count(a->dims)) throw ModelError("an input's values do not fill its shape");
  Constant out = make_like(is_float, dims, limit);
  std::vector<Shape> arg_strides;
  for (const auto* a : args) arg_strides.push_back(broadcast_strides(a->dims, rank));
  // The output index advances like an odometer and each operand's offset with it, so that a fold
  // of the whole budget costs a few operations per element, not a division per axis and operand.
  std::vector<double> values(args.size());
  std::vector<int64_t> src(args.size(), 0);
  Shape idx(rank, 0);
  for (size_t k = 0; k < out.size(); ++k) {
    for (size_t a = 0; a < args.size(); ++a) values[a] = args[a]->at(static_cast<size_t>(src[a]));
    set_value(out, k, fn(values));
    for (size_t d = rank; d-- > 0;) {
      for (size_t a = 0; a < args.size(); ++a) src[a] += arg_strides[a][d];
      if (++idx[d] < dims[d]) break;
      for (size_t a = 0; a < args.size(); ++a) src[a] -= arg_strides[a][d] * dims[d];
      idx[d] = 0;
    }
  }
  return out;
}

Constant scalar_or_vector(const std::vector<int64_t>& v) {
  Constant c;
  c.is_float = false;
  c.dims = {static_cast<int64_t>(v.size())};
  c.i = v;
  return c;
}

Constant reshaped(Constant c, Shape dims) {
  c.dims = std::move(dims);
  return c;
}

// Resolves a Reshape target (0 copies, -1 infers) against the input shape; the result holds the
// input's elements.
Shape reshape_target(const Shape& in, std::vector<int64_t> target, bool allowzero) {
  int64_t known = 1, infer = -1;
  for (size_t d = 0; d < target.size(); ++d) {
    if (target[d] == 0 && !allowzero) {
      if (d >= in.size()) throw ModelError("its target copies dimension " + std::to_string(d) + ", which the input lacks");
      target[d] = in[d];
    }
    if (target[d] == -1) {
      if (infer >= 0) throw ModelError("its target has more than one -1");
      infer = static_cast<int64_t>(d);
    } else if (target[d] < 0 || (target[d] > 0 && known > kMaxTensorElements / target[d])) {
      throw ModelError("its target " + shape_string(target) + " is not a shape of at most " +
                       std::to_string(kMaxTensorElements) + " elements");
    } else {
      known *= target[d];
    }
  }
  const int64_t count = element_count(in);
  if (infer >= 0 && known > 0) target[static_cast<size_t>(infer)] = count / known;
  if (!bounded_element_count(target, kMaxTensorElements) || element_count(target) != count)
    throw ModelError("its target " + shape_string(target) + " does not hold the " + std::to_string(count) +
                     " elements of its input " + shape_string(in));
  return target;
}

class Folder {
 public:
  // Folded results may hold `budget` elements in all (the Folder uses them up).
  Folder(ImportedGraph& graph, const std::map<std::string, Shape>& shapes, int64_t opset, int64_t& budget)
      : graph_(graph), shapes_(shapes), opset_(opset), budget_(budget) {}

  // Evaluates the node when its inputs are known; returns false when it has to stay.
  bool fold(const onnx::NodeProto& node) {
    const std::string& op = node.op_type();
    if (!kFoldedOps.count(op)) return false;
    if (op == "Shape") return fold_shape(node);
    for (const auto& in : node.input())
      if (!in.empty() && !graph_.constants.count(in)) return false;
    std::vector<Constant> outputs;
    try {
      outputs = evaluate(node);
    } catch (const UnsupportedError&) {
      throw;
    } catch (const Error& e) {
      throw ModelError("cannot fold op '" + op + "' at node " + node_label(graph_, node) + ": " + e.what());
    }
    // Copies (Identity, Reshape, ...) count as much as computed results: a chain of them must not
    // multiply the file's data either.
    for (const Constant& c : outputs) {
      if (static_cast<int64_t>(c.size()) > budget_)
        throw ModelError("cannot fold op '" + op + "' at node " + node_label(graph_, node) +
                         ": the model's folded constants exceed the elements its file allows");
      budget_ -= static_cast<int64_t>(c.size());
    }
    const int32_t type = result_type(node);
    for (int k = 0; k < node.output_size() && k < static_cast<int>(outputs.size()); ++k) {
      Constant& out = outputs[static_cast<size_t>(k)];
      if (type != 0 && is_float_type(type) == out.is_float) out.elem_type = type;
      graph_.constants[node.output(k)] = std::move(out);
    }
    return true;
  }

 private:
  const Constant& in(const onnx::NodeProto& node, int k) {
    if (!has(node, k)) throw ModelError("input " + std::to_string(k) + " is missing");
    return graph_.constants.at(node.input(k));
  }
  bool has(const onnx::NodeProto& node, int k) {
    return node.input_size() > k && !node.input(k).empty();
  }

  bool fold_shape(const onnx::NodeProto& node) {
    // A folded constant knows its dims even where shape inference did not.
    auto it = shapes_.find(node.input(0));
    Shape dims;
    if (graph_.constants.count(node.input(0))) dims = graph_.constants.at(node.input(0)).dims;
    else if (it != shapes_.end()) dims = it->second;
    else return false;
    if (std::any_of(dims.begin(), dims.end(), [](int64_t d) { return d <= 0; })) return false;
    auto rank = static_cast<int64_t>(dims.size());
    int64_t start = std::clamp(normalize_axis(attr_int(node, "start", 0), dims.size()), int64_t{0}, rank);
    int64_t end = std::clamp(normalize_axis(attr_int(node, "end", rank), dims.size()), int64_t{0}, rank);
    graph_.constants[node.output(0)] =
        scalar_or_vector(std::vector<int64_t>(dims.begin() + start, dims.begin() + std::max(start, end)));
    return true;
  }

  // The ONNX element type of a folded node's outputs: what Cast names, what ConstantOfShape's
  // value has, otherwise that of the input whose type the op passes on. 0 keeps the default.
  int32_t result_type(const onnx::NodeProto& node) {
    const std::string& op = node.op_type();
    if (op == "Cast") return static_cast<int32_t>(attr_int(node, "to", 0));
    if (op == "Shape" || op == "Equal") return 0;
    if (op == "ConstantOfShape") {
      const auto* a = find_attr(node, "value");
      return a ? a->t().data_type() : 0;
    }
    if (op == "QuantizeLinear" || op == "DequantizeLinear") return 0;
    const int source = op == "Where" ? 1 : 0;
    if (!has(node, source)) return 0;
    return onnx_type(in(node, source));
  }

  std::vector<int64_t> axes_of(const onnx::NodeProto& node, int input_index) {
    if (opset_ >= 13 || find_attr(node, "axes") == nullptr)
      return has(node, input_index) ? in(node, input_index).ints() : std::vector<int64_t>{};
    return attr_ints(node, "axes");
  }

  std::vector<Constant> evaluate(const onnx::NodeProto& node) {
    const std::string& op = node.op_type();
    if (op == "Constant") return {constant_attr(node)};
    if (op == "Identity") return {in(node, 0)};
    if (op == "Cast") {
      auto to = static_cast<int32_t>(attr_int(node, "to", TensorProto_DataType::TensorProto_DataType_FLOAT));
      if (!is_float_type(to) && !is_integer_type(to)) unsupported("a cast to " + type_name(to), node, graph_);
      const bool to_float = is_float_type(to);
      const bool to_bool = to == TensorProto_DataType::TensorProto_DataType_BOOL;
      const Constant& x = in(node, 0);
      Constant out = make_like(to_float, x.dims, budget_);
      out.is_bool = to_bool;
      if (to == TensorProto_DataType::TensorProto_DataType_INT8 || to == TensorProto_DataType::TensorProto_DataType_UINT8)
        out.int8_type = to;
      for (size_t k = 0; k < x.size(); ++k)
        set_value(out, k, to_float ? x.at(k) : to_bool ? double(x.at(k) != 0) : std::trunc(x.at(k)));
      return {out};
    }
    if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div" || op == "Pow" || op == "Min" ||
        op == "Max" || op == "Equal" || op == "Greater" || op == "GreaterOrEqual" || op == "Less" ||
        op == "LessOrEqual") {
      std::vector<const Constant*> args;
      bool is_float = false;
      for (int k = 0; k < node.input_size(); ++k) {
        args.push_back(&in(node, k));
        is_float = is_float || args.back()->is_float;
      }
      const bool comparison = op == "Equal" || op == "Greater" || op == "GreaterOrEqual" || op == "Less" ||
                              op == "LessOrEqual";
      if (comparison) is_float = false;
      Constant result = broadcast(args, is_float, budget_, [&](const std::vector<double>& v) {
        if (op == "Greater") return v[0] > v[1] ? 1.0 : 0.0;
        if (op == "GreaterOrEqual") return v[0] >= v[1] ? 1.0 : 0.0;
        if (op == "Less") return v[0] < v[1] ? 1.0 : 0.0;
        if (op == "LessOrEqual") return v[0] <= v[1] ? 1.0 : 0.0;
        if (op == "Add") return v[0] + v[1];
        if (op == "Sub") return v[0] - v[1];
        if (op == "Mul") return v[0] * v[1];
        if (op == "Div") return is_float ? v[0] / v[1] : std::trunc(v[0] / v[1]);
        if (op == "Pow") return std::pow(v[0], v[1]);
        if (op == "Equal") return v[0] == v[1] ? 1.0 : 0.0;
        double r = v[0];
        for (double x : v) r = op == "Min" ? std::min(r, x) : std::max(r, x);
        return r;
      });
      result.is_bool = comparison;
      return {result};
    }
    if (op == "Mod") return {mod(node)};
    if (op == "ScatterND") return {scatter_nd(node)};
    if (op == "And" || op == "Or" || op == "Xor") {
      Constant result = broadcast({&in(node, 0), &in(node, 1)}, false, budget_, [&](const std::vector<double>& v) {
        const bool a = v[0] != 0, b = v[1] != 0;
        return (op == "And" ? a && b : op == "Or" ? a || b : a != b) ? 1.0 : 0.0;
      });
      result.is_bool = true;
      return {result};
    }
    if (op == "Not") {
      Constant result = broadcast({&in(node, 0)}, false, budget_, [](const std::vector<double>& v) { return v[0] == 0 ? 1.0 : 0.0; });
      result.is_bool = true;
      return {result};
    }
    if (op == "Clip") {
      // Bounds are inputs from opset 11, attributes before; absent ones do not clip.
      const Constant& x = in(node, 0);
      double lo = -std::numeric_limits<double>::infinity(), hi = std::numeric_limits<double>::infinity();
      if (opset_ < 11) {
        lo = attr_float(node, "min", -std::numeric_limits<float>::infinity());
        hi = attr_float(node, "max", std::numeric_limits<float>::infinity());
      } else {
        if (has(node, 1)) lo = in(node, 1).at(0);
        if (has(node, 2)) hi = in(node, 2).at(0);
      }
      return {broadcast({&x}, x.is_float, budget_, [&](const std::vector<double>& v) { return std::min(std::max(v[0], lo), hi); })};
    }
    if (op == "Where") {
      const Constant& x = in(node, 1);
      return {broadcast({&in(node, 0), &x, &in(node, 2)}, x.is_float, budget_,
                        [](const std::vector<double>& v) { return v[0] != 0 ? v[1] : v[2]; })};
    }
    if (op == "Neg" || op == "Sqrt" || op == "Reciprocal" || op == "Floor" || op == "Ceil" || op == "Sign" ||
        op == "Abs") {
      const Constant& x = in(node, 0);
      return {broadcast({&x}, x.is_float, budget_, [&](const std::vector<double>& v) {
        if (op == "Neg") return -v[0];
        if (op == "Sign") return double((v[0] > 0) - (v[0] < 0));
        if (op == "Abs") return std::abs(v[0]);
        if (op == "Sqrt") return std::sqrt(v[0]);
        if (op == "Reciprocal") return 1.0 / v[0];
        if (op == "Floor") return std::floor(v[0]);
        return std::ceil(v[0]);
      })};
    }
    if (op == "Unsqueeze") {
      const Constant& x = in(node, 0);
      auto axes = axes_of(node, 1);
      size_t rank = x.dims.size() + axes.size();
      for (auto& a : axes) a = static_cast<int64_t>(checked_axis(a, rank));
      std::sort(axes.begin(), axes.end());
      if (std::adjacent_find(axes.begin(), axes.end()) != axes.end()) throw ModelError("an axis is listed twice");
      Shape dims = x.dims;
      for (int64_t a : axes) dims.insert(dims.begin() + a, 1);
      return {reshaped(x, dims)};
    }
    if (op == "Squeeze") {
      const Constant& x = in(node, 0);
      auto axes = axes_of(node, 1);
      for (auto& a : axes) a = static_cast<int64_t>(checked_axis(a, x.dims.size()));
      Shape dims;
      for (size_t d = 0; d < x.dims.size(); ++d) {
        bool listed = std::find(axes.begin(), axes.end(), static_cast<int64_t>(d)) != axes.end();
        if (listed && x.dims[d] != 1) throw ModelError("axis " + std::to_string(d) + " has size " + std::to_string(x.dims[d]) + ", not 1");
        if (axes.empty() ? x.dims[d] != 1 : !listed) dims.push_back(x.dims[d]);
      }
      return {reshaped(x, dims)};
    }
    if (op == "Reshape") {
      const Constant& x = in(node, 0);
      return {reshaped(x, reshape_target(x.dims, in(node, 1).ints(), attr_int(node, "allowzero", 0)))};
    }
    if (op == "Flatten") {
      const Constant& x = in(node, 0);
      const auto axis = static_cast<int64_t>(checked_axis(attr_int(node, "axis", 1), x.dims.size() + 1));
      int64_t outer = 1;
      for (int64_t d = 0; d < axis; ++d) outer *= x.dims[static_cast<size_t>(d)];
      return {reshaped(x, {outer, outer ? element_count(x.dims) / outer : 0})};
    }
    if (op == "Concat") {
      const Constant& first = in(node, 0);
      const size_t axis = checked_axis(attr_int(node, "axis", 0), first.dims.size());
      bool is_float = first.is_float;
      Shape dims = first.dims;
      dims[axis] = 0;
      for (int k = 0; k < node.input_size(); ++k) {
        const Shape& part = in(node, k).dims;
        for (size_t d = 0; d < dims.size(); ++d)
          if (part.size() != dims.size() || (d != axis && part[d] != dims[d]))
            throw ModelError("input " + std::to_string(k) + " of shape " + shape_string(part) +
                             " does not match input 0 of shape " + shape_string(first.dims));
        if (part[axis] > budget_ - dims[axis]) throw ModelError("its result is too large");
        dims[axis] += part[axis];
      }
      Constant out = make_like(is_float, dims, budget_);
      int64_t outer = 1;
      for (size_t d = 0; d < axis; ++d) outer *= dims[d];
      size_t pos = 0;
      for (int64_t o = 0; o < outer; ++o)
        for (int k = 0; k < node.input_size(); ++k) {
          const Constant& x = in(node, k);
          auto chunk = static_cast<size_t>(element_count(x.dims) / outer);
          for (size_t e = 0; e < chunk; ++e) set_value(out, pos++, x.at(static_cast<size_t>(o) * chunk + e));
        }
      return {out};
    }
    if (op == "Gather") {
      const Constant& x = in(node, 0);
      const Constant& indices = in(node, 1);
      const size_t axis = checked_axis(attr_int(node, "axis", 0), x.dims.size());
      auto idx_list = indices.ints();
      for (int64_t& g : idx_list) {
        if (g < -x.dims[axis] || g >= x.dims[axis])
          throw ModelError("index " + std::to_string(g) + " is out of range for axis " + std::to_string(axis) +
                           " of size " + std::to_string(x.dims[axis]));
        if (g < 0) g += x.dims[axis];
      }
      Shape dims(x.dims.begin(), x.dims.begin() + static_cast<int64_t>(axis));
      dims.insert(dims.end(), indices.dims.begin(), indices.dims.end());
      dims.insert(dims.end(), x.dims.begin() + static_cast<int64_t>(axis) + 1, x.dims.end());
      Shape x_strides = strides_of(x.dims);
      size_t q = indices.dims.size();
      return {remap(x, dims, budget_, [&](const Shape& idx) {
        int64_t src = 0;
        for (size_t d = 0; d < axis; ++d) src += idx[d] * x_strides[d];
        Shape in_idx(idx.begin() + static_cast<int64_t>(axis), idx.begin() + static_cast<int64_t>(axis + q));
        int64_t flat = 0;
        for (size_t d = 0; d < q; ++d) flat = flat * indices.dims[d] + in_idx[d];
        src += idx_list[static_cast<size_t>(flat)] * x_strides[axis];
        for (size_t d = axis + 1; d < x.dims.size(); ++d) src += idx[d + q - 1] * x_strides[d];
        return static_cast<size_t>(src);
      })};
    }
    if (op == "Transpose") {
      const Constant& x = in(node, 0);
      auto perm = attr_ints(node, "perm");
      if (perm.empty())
        for (size_t d = x.dims.size(); d-- > 0;) perm.push_back(static_cast<int64_t>(d));
      std::vector<int64_t> sorted = perm;
      std::sort(sorted.begin(), sorted.end());
      for (size_t d = 0; d < sorted.size(); ++d)
        if (sorted.size() != x.dims.size() || sorted[d] != static_cast<int64_t>(d))
          throw ModelError("its perm is not a permutation of the input's " + std::to_string(x.dims.size()) + " axes");
      Shape dims;
      for (int64_t p : perm) dims.push_back(x.dims[static_cast<size_t>(p)]);
      Shape x_strides = strides_of(x.dims);
      return {remap(x, dims, budget_, [&](const Shape& idx) {
        int64_t src = 0;
        for (size_t d = 0; d < perm.size(); ++d) src += idx[d] * x_strides[static_cast<size_t>(perm[d])];
        return static_cast<size_t>(src);
      })};
    }
    if (op == "Slice") return {slice(node)};
    if (op == "Expand") {
      // A view of x with strides 0 along the broadcast axes; the target shape is never filled.
      const Constant& x = in(node, 0);
      const Shape target = in(node, 1).ints();
      const Shape dims = broadcast_shape({&x.dims, &target});
      const Shape x_strides = broadcast_strides(x.dims, dims.size());
      return {remap(x, dims, budget_, [&](const Shape& idx) {
        int64_t src = 0;
        for (size_t d = 0; d < idx.size(); ++d) src += idx[d] * x_strides[d];
        return static_cast<size_t>(src);
      })};
    }
    if (op == "ReduceMean" || op == "ReduceSum") return {reduce(node, op == "ReduceMean")};
    if (op == "QuantizeLinear" || op == "DequantizeLinear") return {linear_quantization(node, op == "QuantizeLinear")};
    if (op == "Split") return split(node);
    if (op == "ConstantOfShape") {
      Constant value;
      value.f = {0.0f};
      if (const auto* a = find_attr(node, "value")) value = constant_from_proto(a->t());
      if (value.size() != 1) throw ModelError("its value holds " + std::to_string(value.size()) + " elements, not 1");
      Constant out = make_like(value.is_float, in(node, 0).ints(), budget_);
      for (size_t k = 0; k < out.size(); ++k) set_value(out, k, value.at(0));
      return {out};
    }
    if (op == "Range") {
      for (int k = 0; k < 3; ++k)
        if (in(node, k).size() != 1) throw ModelError("input " + std::to_string(k) + " is not a scalar");
      double start = in(node, 0).at(0), limit = in(node, 1).at(0), delta = in(node, 2).at(0);
      const double count = std::max(0.0, std::ceil((limit - start) / delta));
      if (!(count <= static_cast<double>(budget_)))
        throw ModelError("it asks for " + std::to_string(count) + " elements, more than the " +
                         std::to_string(budget_) + " left for folded constants in this model");
      const auto n = static_cast<int64_t>(count);
      Constant out = make_like(in(node, 0).is_float, {n}, budget_);
      for (int64_t k = 0; k < n; ++k) set_value(out, static_cast<size_t>(k), start + static_cast<double>(k) * delta);
      return {out};
    }
    throw ModelError("constant folding has no rule for op '" + op + "'");
  }

  // fmod=1: C's fmod, the sign of the dividend; fmod=0 (integers only, as ONNX requires): the
  // sign of the divisor, like Python's %.
  Constant mod(const onnx::NodeProto& node) {
    const Constant& a = in(node, 0);
    const Constant& b = in(node, 1);
    const bool is_float = a.is_float || b.is_float;
    const bool c_style = attr_int(node, "fmod", 0) != 0;
    if (is_float && !c_style) throw ModelError("fmod=0 on floating-point inputs (ONNX requires fmod=1 for them)");
    return broadcast({&a, &b}, is_float, budget_, [&](const std::vector<double>& v) {
      if (is_float) return std::fmod(v[0], v[1]);
      const int64_t x = to_integer(v[0]), y = to_integer(v[1]);
      if (y == 0) throw ModelError("an integer division by zero");
      // -2^63 % -1 overflows in C++; its remainder is 0.
      int64_t r = y == -1 ? 0 : x % y;
      if (!c_style && r != 0 && (r < 0) != (y < 0)) r += y;
      return static_cast<double>(r);
    });
  }

  // ScatterND: a copy of data with the slices named by the last axis of `indices` replaced by (or,
  // with a reduction, combined with) `updates`.
  Constant scatter_nd(const onnx::NodeProto& node) {
    const Constant& data = in(node, 0);
    const Constant& indices = in(node, 1);
    const Constant& updates = in(node, 2);
    const std::string reduction = attr_string(node, "reduction", "none");
    if (reduction != "none" && reduction != "add" && reduction != "mul" && reduction != "max" && reduction != "min")
      throw ModelError("its reduction '" + reduction + "' is none of none, add, mul, max and min");
    if (indices.is_float) throw ModelError("its indices are not integers");
    const size_t rank = data.dims.size(), q = indices.dims.size();
    if (q == 0 || indices.dims.back() < 1 || indices.dims.back() > static_cast<int64_t>(rank))
      throw ModelError("its indices " + shape_string(indices.dims) + " do not index data of rank " +
                       std::to_string(rank));
    const auto k = static_cast<size_t>(indices.dims.back());
    // updates = indices.shape[:-1] + data.shape[k:]
    Shape expected(indices.dims.begin(), indices.dims.end() - 1);
    expected.insert(expected.end(), data.dims.begin() + static_cast<int64_t>(k), data.dims.end());
    if (updates.dims != expected)
      throw ModelError("its updates " + shape_string(updates.dims) + " should be " + shape_string(expected));
    if (static_cast<int64_t>(data.size()) != element_count(data.dims) ||
        static_cast<int64_t>(indices.size()) != element_count(indices.dims) ||
        static_cast<int64_t>(updates.size()) != element_count(updates.dims))
      throw ModelError("an input's values do not fill its shape");
    Constant out = make_like(data.is_float, data.dims, budget_);
    for (size_t e = 0; e < data.size(); ++e) set_value(out, e, data.at(e));
    const Shape strides = strides_of(data.dims);
    const auto slice = static_cast<size_t>(strides[k - 1]);  // the elements of data.shape[k:]
    const size_t count = indices.size() / k;
    for (size_t n = 0; n < count; ++n) {
      size_t base = 0;
      for (size_t d = 0; d < k; ++d) {
        int64_t index = indices.i[n * k + d];
        if (index < -data.dims[d] || index >= data.dims[d])
          throw ModelError("index " + std::to_string(index) + " is out of range for axis " + std::to_string(d) +
                           " of size " + std::to_string(data.dims[d]));
        if (index < 0) index += data.dims[d];
        base += static_cast<size_t>(index * strides[d]);
      }
      for (size_t e = 0; e < slice; ++e) {
        const double u = updates.at(n * slice + e), old = out.at(base + e);
        set_value(out, base + e,
                  reduction == "add"   ? old + u
                  : reduction == "mul" ? old * u
                  : reduction == "max" ? std::max(old, u)
                  : reduction == "min" ? std::min(old, u)
                                       : u);
      }
    }
    out.is_bool = data.is_bool;
    out.int8_type = data.int8_type;
    return out;
  }

  std::vector<Constant> split(const onnx::NodeProto& node) {
    const Constant& x = in(node, 0);
    const auto axis = static_cast<int64_t>(checked_axis(attr_int(node, "axis", 0), x.dims.size()));
    const int64_t length = x.dims[static_cast<size_t>(axis)];
    std::vector<int64_t> sizes = has(node, 1) ? in(node, 1).ints() : attr_ints(node, "split");
    const auto parts = static_cast<int64_t>(node.output_size());
    if (sizes.empty())
      for (int64_t k = 0; k < parts; ++k) sizes.push_back(length / parts + (k < length % parts ? 1 : 0));
    if (static_cast<int64_t>(sizes.size()) != parts) throw ModelError("its sizes do not match its outputs");
    const Shape st = strides_of(x.dims);
    const int64_t outer = element_count(x.dims) / (length * st[static_cast<size_t>(axis)]);
    std::vector<Constant> outputs;
    int64_t start = 0;
    for (int64_t size : sizes) {
      if (size < 0 || size > length - start)
        throw ModelError("its sizes " + shape_string(sizes) + " do not split an axis of " + std::to_string(length));
      Shape dims = x.dims;
      dims[static_cast<size_t>(axis)] = size;
      Constant out = make_like(x.is_float, dims, budget_);
      size_t k = 0;
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t a = start; a < start + size; ++a)
          for (int64_t i = 0; i < st[static_cast<size_t>(axis)]; ++i)
            set_value(out, k++, x.at(static_cast<size_t>((o * length + a) * st[static_cast<size_t>(axis)] + i)));
      outputs.push_back(std::move(out));
      start += size;
    }
    return outputs;
  }

  Constant reduce(const onnx::NodeProto& node, bool mean) {
    const Constant& x = in(node, 0);
    const auto rank = static_cast<int64_t>(x.dims.size());
    // ReduceSum takes its axes as an input from opset 13, ReduceMean from opset 18.
    std::vector<int64_t> axes = has(node, 1) ? in(node, 1).ints() : attr_ints(node, "axes");
    std::vector<bool> reduced(static_cast<size_t>(rank), axes.empty());
    for (int64_t a : axes) reduced[checked_axis(a, x.dims.size())] = true;
    const bool keep = attr_int(node, "keepdims", 1) != 0;
    Shape kept_dims, out_dims;
    for (int64_t d = 0; d < rank; ++d) {
      const bool r = reduced[static_cast<size_t>(d)];
      kept_dims.push_back(r ? 1 : x.dims[static_cast<size_t>(d)]);
      if (!r || keep) out_dims.push_back(kept_dims.back());
    }
    std::vector<double> sums(static_cast<size_t>(element_count(kept_dims)), 0.0);
    const Shape in_strides = strides_of(x.dims), out_strides = strides_of(kept_dims);
    for (size_t k = 0; k < x.size(); ++k) {
      int64_t rest = static_cast<int64_t>(k), dst = 0;
      for (int64_t d = 0; d < rank; ++d) {
        const int64_t idx = rest / in_strides[static_cast<size_t>(d)];
        rest %= in_strides[static_cast<size_t>(d)];
        if (!reduced[static_cast<size_t>(d)]) dst += idx * out_strides[static_cast<size_t>(d)];
      }
      sums[static_cast<size_t>(dst)] += x.at(k);
    }
    const double count = static_cast<double>(x.size()) / static_cast<double>(sums.size());
    Constant out = make_like(x.is_float, out_dims, budget_);
    for (size_t k = 0; k < sums.size(); ++k) set_value(out, k, mean ? sums[k] / count : sums[k]);
    return out;
  }

  // QuantizeLinear: saturate(round_half_even(x / scale) + zero_point), of the zero point's type
  // (UINT8 without one); DequantizeLinear: (x - zero_point) * scale. One scale and zero point for
  // the tensor, or one per slice along `axis`.
  Constant linear_quantization(const onnx::NodeProto& node, bool quantize) {
    const Constant& x = in(node, 0);
    const std::vector<float> scale = in(node, 1).floats();
    const Constant* zero_point = has(node, 2) ? &in(node, 2) : nullptr;
    int64_t inner = 1, channels = 1;
    if (scale.empty() || (zero_point && zero_point->size() != 1 && zero_point->size() != scale.size()))
      unsupported("a scale and zero point of " + std::to_string(scale.size()) + " and " +
                      std::to_string(zero_point ? zero_point->size() : 0) + " values",
                  node, graph_);
    if (scale.size() > 1) {
      const auto axis = static_cast<size_t>(normalize_axis(attr_int(node, "axis", 1), x.dims.size()));
      if (axis >= x.dims.size() || x.dims[axis] != static_cast<int64_t>(scale.size()))
        unsupported("per-axis scales that do not match the axis", node, graph_);
      channels = x.dims[axis];
      for (size_t d = axis + 1; d < x.dims.size(); ++d) inner *= x.dims[d];
    }
    auto channel_of = [&](size_t k) { return static_cast<size_t>(static_cast<int64_t>(k) / inner % channels); };
    auto zero_point_of = [&](size_t c) { return zero_point ? zero_point->at(zero_point->size() == 1 ? 0 : c) : 0.0; };
    if (!quantize) {
      Constant out = make_like(true, x.dims, budget_);
      for (size_t k = 0; k < x.size(); ++k) {
        const size_t c = channel_of(k);
        out.f[k] = static_cast<float>((x.at(k) - zero_point_of(c)) * scale[c]);
      }
      return out;
    }
    Constant out = make_like(false, x.dims, budget_);
    out.int8_type = zero_point ? zero_point->int8_type : TensorProto_DataType::TensorProto_DataType_UINT8;
    if (out.int8_type == 0) unsupported("a zero point that is neither INT8 nor UINT8", node, graph_);
    const bool is_signed = out.int8_type == TensorProto_DataType::TensorProto_DataType_INT8;
    for (size_t k = 0; k < x.size(); ++k) {
      const size_t c = channel_of(k);
      const double level = std::nearbyint(static_cast<float>(x.at(k)) / scale[c]) + zero_point_of(c);
      out.i[k] = static_cast<int64_t>(std::clamp(level, is_signed ? -128.0 : 0.0, is_signed ? 127.0 : 255.0));
    }
    return out;
  }

  Constant slice(const onnx::NodeProto& node) {
    const Constant& x = in(node, 0);
    std::vector<int64_t> starts, ends, axes, steps;
    if (opset_ < 10) {
      starts = attr_ints(node, "starts");
      ends = attr_ints(node, "ends");
      axes = attr_ints(node, "axes");
    } else {
      starts = in(node, 1).ints();
      ends = in(node, 2).ints();
      if (has(node, 3)) axes = in(node, 3).ints();
      if (has(node, 4)) steps = in(node, 4).ints();
    }
    if (axes.empty())
      for (size_t d = 0; d < starts.size(); ++d) axes.push_back(static_cast<int64_t>(d));
    if (steps.empty()) steps.assign(starts.size(), 1);
    if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
      throw ModelError("its starts, ends, axes and steps differ in length");
    size_t rank = x.dims.size();
    Shape begin(rank, 0), step(rank, 1), dims = x.dims;
    for (size_t k = 0; k < axes.size(); ++k) {
      const size_t a = checked_axis(axes[k], rank);
      int64_t n = x.dims[a], s = steps[k];
      if (s == 0) throw ModelError("a step is 0");
      auto clamp_index = [&](int64_t v) {
        if (v < 0) v = v < -n ? -1 : v + n;
        return s > 0 ? std::clamp(v, int64_t{0}, n) : std::clamp(v, int64_t{-1}, n - 1);
      };
      int64_t b = clamp_index(starts[k]), e = clamp_index(ends[k]);
      begin[a] = b;
      step[a] = s;
      // Steps longer than the axis take one element at most (and -s could overflow).
      const int64_t stride = s > 0 ? std::min(s, n + 1) : std::min(-std::max(s, -n - 1), n + 1);
      dims[a] = s > 0 ? (e > b ? (e - b - 1) / stride + 1 : 0) : (b > e ? (b - e - 1) / stride + 1 : 0);
    }
    Shape x_strides = strides_of(x.dims);
    return remap(x, dims, budget_, [&](const Shape& idx) {
      int64_t src = 0;
      for (size_t d = 0; d < rank; ++d) src += (begin[d] + idx[d] * step[d]) * x_strides[d];
      return static_cast<size_t>(src);
    });
  }

  Constant constant_attr(const onnx::NodeProto& node) {
    for (const auto& a : node.attribute()) {
      if (a.name() == "value") return constant_from_proto(a.t());
      if (a.name() == "value_float") return make_float({}, {a.f()});
      if (a.name() == "value_floats")
        return make_float({a.floats_size()}, {a.floats().begin(), a.floats().end()});
      if (a.name() == "value_int") return reshaped(scalar_or_vector({a.i()}), {});
      if (a.name() == "value_ints") return scalar_or_vector({a.ints().begin(), a.ints().end()});
    }
    unsupported("a Constant without a numeric value", node, graph_);
  }

  static Constant make_float(Shape dims, std::vector<float> values) {
    Constant c;
    c.dims = std::move(dims);
    c.f = std::move(values);
    return c;
  }

  ImportedGraph& graph_;
  const std::map<std::string, Shape>& shapes_;
  int64_t opset_;
  int64_t& budget_;  // elements left to folded results
};

Shape shape_of_type(const onnx::TypeProto& type) {
  Shape dims;
  if (!type.has_tensor_type() || !type.tensor_type().has_shape()) return {-1};
  for (const auto& d : type.tensor_type().shape().dim())
    dims.push_back(d.has_dim_value() ? d.dim_value() : -1);
  return dims;
}

void collect_shapes(const onnx::GraphProto& g, std::map<std::string, Shape>& shapes) {
  shapes.clear();
  for (const auto& v : g.input()) shapes[v.name()] = shape_of_type(v.type());
  for (const auto& v : g.value_info()) shapes[v.name()] = shape_of_type(v.type());
  for (const auto& v : g.output()) shapes[v.name()] = shape_of_type(v.type());
}

// ONNX 1.12's shape inference gives an Einsum's output its rank only; its lengths are those of the
// operands' axes that the equation's output indices name. Declares them (as value_info) where
// inference left them unknown and the operands' shapes are known; returns whether it declared any.
bool declare_einsum_shapes(onnx::GraphProto& g, const std::map<std::string, Shape>& shapes) {
  auto is_static = [](const Shape& s) { return s != Shape{-1} && std::all_of(s.begin(), s.end(), [](int64_t d) { return d > 0; }); };
  std::map<std::string, int32_t> elem_types;
  for (const auto* list : {&g.input(), &g.value_info(), &g.output()})
    for (const auto& v : *list) elem_types[v.name()] = v.type().tensor_type().elem_type();
  bool declared = false;
  for (const auto& node : g.node()) {
    if (node.op_type() != "Einsum" || node.output_size() != 1) continue;
    const auto known = shapes.find(node.output(0));
    if (known != shapes.end() && is_static(known->second)) continue;
    std::string equation;
    for (char ch : attr_string(node, "equation", ""))
      if (ch != ' ') equation += ch;
    const auto arrow = equation.find("->");
    if (arrow == std::string::npos || equation.find('.') != std::string::npos) continue;
    std::vector<std::string> terms;
    std::stringstream operands(equation.substr(0, arrow));
    for (std::string t; std::getline(operands, t, ',');) terms.push_back(t);
    if (static_cast<int>(terms.size()) != node.input_size()) continue;
    std::map<char, int64_t> length;
    bool ok = elem_types.count(node.input(0)) > 0;
    for (size_t k = 0; k < terms.size() && ok; ++k) {
      const auto s = shapes.find(node.input(static_cast<int>(k)));
      ok = s != shapes.end() && is_static(s->second) && s->second.size() == terms[k].size();
      for (size_t d = 0; ok && d < terms[k].size(); ++d) {
        int64_t& n = length.emplace(terms[k][d], s->second[d]).first->second;
        // Lengths of 1 broadcast.
        ok = n == s->second[d] || n == 1 || s->second[d] == 1;
        n = std::max(n, s->second[d]);
      }
    }
    Shape out;
    for (char ch : equation.substr(arrow + 2)) {
      if (!length.count(ch)) ok = false;
      else out.push_back(length.at(ch));
    }
    if (!ok) continue;
    onnx::ValueInfoProto* v = nullptr;
    for (auto* list : {g.mutable_value_info(), g.mutable_output()})
      for (auto& entry : *list)
        if (entry.name() == node.output(0)) v = &entry;
    if (!v) {
      v = g.add_value_info();
      v->set_name(node.output(0));
    }
    v->mutable_type()->mutable_tensor_type()->set_elem_type(elem_types.at(node.input(0)));
    auto* dims = v->mutable_type()->mutable_tensor_type()->mutable_shape();
    dims->clear_dim();
    for (int64_t n : out) dims->add_dim()->set_dim_value(n);
    declared = true;
  }
  return declared;
}

// An example --input-shape for an input: its static dimensions, and 1 or 224 for the others.
std::string shape_hint(const onnx::TensorShapeProto& shape, int first_spatial) {
  std::string hint;
  for (int d = 0; d < shape.dim_size(); ++d) {
    const auto& dim = shape.dim(d);
    const bool spatial = shape.dim_size() == 4 && d >= first_spatial && d < first_spatial + 2;
    const int64_t value = dim.has_dim_value() && dim.dim_value() > 0 ? dim.dim_value() : spatial ? 224 : 1;
    hint += (d ? "x" : "") + std::to_string(value);
  }
  return hint;
}

// Makes every graph input static: the whole shape where options give one, else the batch
// (default 1) for a dynamic first dimension and --input-size for H and W. `nhwc` names the
// inputs the graph reads only through a transpose to NCHW.
void fix_input_shapes(onnx::GraphProto& g, const std::set<std::string>& initializers,
                      const Options& options, const std::set<std::string>& nhwc) {
  if (options.batch < 1) throw ModelError("--batch must be at least 1");
  for (const auto& given : options.input_shapes) {
    const std::string& name = given.first;
    const auto& dims = given.second;
    const auto& inputs = g.input();
    if (std::none_of(inputs.begin(), inputs.end(),
                     [&](const auto& v) { return v.name() == name && !initializers.count(name); }))
      throw ModelError("--input-shape names '" + name + "', which is not an input of the model");
    if (dims.empty() || std::any_of(dims.begin(), dims.end(), [](int64_t d) { return d < 1; }))
      throw ModelError("--input-shape " + name + ": every dimension must be at least 1");
  }
  const bool single_input =
      std::count_if(g.input().begin(), g.input().end(), [&](const auto& v) { return !initializers.count(v.name()); }) == 1;
  for (auto& v : *g.mutable_input()) {
    if (initializers.count(v.name())) continue;
    if (!v.type().has_tensor_type())
      throw UnsupportedError("graph input '" + v.name() + "' is not a tensor");
    int32_t elem = v.type().tensor_type().elem_type();
    const bool quantized = elem == TensorProto_DataType::TensorProto_DataType_INT8 ||
                           elem == TensorProto_DataType::TensorProto_DataType_UINT8;
    // Integers of 16 bits or more are fed as the floats that hold them (exactly below 2^24) and
    // marked integer; booleans (masks) as 0 and 1; 8-bit integers are quantized data, which
    // vkbnn takes as float.
    const bool boolean = elem == TensorProto_DataType::TensorProto_DataType_BOOL;
    const bool integer = is_integer_type(elem) && !quantized && !boolean;
    if (elem != TensorProto_DataType::TensorProto_DataType_FLOAT && !integer && !boolean)
      throw UnsupportedError("graph input '" + v.name() + "' has type " + type_name(elem) +
                             "; only float and integer (16 to 64-bit) inputs are supported, and bool ones (fed as 0 "
                             "and 1)" +
                             (quantized ? " (a quantized model takes float input and quantizes it with QuantizeLinear)"
                                        : ""));
    if (!v.type().tensor_type().has_shape())
      throw ModelError("graph input '" + v.name() + "' has no shape");
    auto* shape = v.mutable_type()->mutable_tensor_type()->mutable_shape();
    if (auto given = options.input_shapes.find(v.name()); given != options.input_shapes.end()) {
      if (given->second.size() != static_cast<size_t>(shape->dim_size()))
        throw ModelError("--input-shape " + v.name() + ": the model's input has rank " +
                         std::to_string(shape->dim_size()) + ", the shape given has rank " +
                         std::to_string(given->second.size()));
      for (size_t d = 0; d < given->second.size(); ++d) shape->mutable_dim(static_cast<int>(d))->set_dim_value(given->second[d]);
      if (options.dynamic_batch) shape->mutable_dim(0)->set_dim_value(options.batch);
      continue;
    }
    int rank = shape->dim_size();
    // H and W follow C in NCHW; an NHWC input that the graph transposes first has them before C.
    const int first_spatial = nhwc.count(v.name()) ? 1 : 2;
    for (int d = 0; d < rank; ++d) {
      auto* dim = shape->mutable_dim(d);
      const bool spatial = rank == 4 && d >= first_spatial && d < first_spatial + 2;
      const bool dynamic = !dim->has_dim_value() || dim->dim_value() < 0;
      const std::string dim_name = dim->has_dim_param() && !dim->dim_param().empty() ? " ('" + dim->dim_param() + "')" : "";
      // With several inputs, the size applies only where the model leaves it open.
      if (spatial && options.input_size && (dynamic || single_input)) {
        dim->set_dim_value(d == first_spatial ? options.input_size->first : options.input_size->second);
      } else if (dim->has_dim_value() && dim->dim_value() == 0) {
        throw UnsupportedError("graph input '" + v.name() + "' is empty (dimension " + std::to_string(d) + " is 0)");
      } else if (d == 0 && (dynamic || options.dynamic_batch)) {
        dim->set_dim_value(options.batch);
      } else if (dynamic) {
        throw ModelError("graph input '" + v.name() + "' has a dynamic " +
                         (spatial ? std::string("height or width") : "dimension " + std::to_string(d)) + dim_name +
                         "; give " + (spatial ? "one with --input-size HxW or " : "") + "the whole shape with --input-shape " +
                         v.name() + ":" + shape_hint(*shape, first_spatial));
      }
    }
    Shape dims;
    for (const auto& dim : shape->dim()) dims.push_back(dim.dim_value());
    if (!bounded_element_count(dims, kMaxTensorElements))
      throw UnsupportedError("graph input '" + v.name() + "' has shape " + shape_string(dims) + ", more than the " +
                             std::to_string(kMaxTensorElements) + " elements a vkbnn tensor may have");
  }
}

// ONNX's shape inference trusts attribute and shape values (it divides by strides and adds
// pads in int64), so nonsensical ones are refused before it runs.
void check_before_inference(onnx::GraphProto& g, const ImportedGraph& graph) {
  auto fail = [&](const onnx::NodeProto& node, const std::string& what) {
    throw ModelError("op '" + node.op_type() + "' at node " + node_label(graph, node) + ": " + what);
  };
  auto check_range = [&](const onnx::NodeProto& node, const std::string& what, const std::vector<int64_t>& values,
                         int64_t lo) {
    for (int64_t v : values)
      if (v < lo || v > kMaxTensorElements) {
        std::string list;
        for (int64_t x : values) list += (list.empty() ? "" : ", ") + std::to_string(x);
        fail(node, what + " [" + list + "] is out of range (each must be in [" + std::to_string(lo) + ", " +
                       std::to_string(kMaxTensorElements) + "])");
      }
  };
  auto constant_input = [&](const onnx::NodeProto& node, int k) -> const Constant* {
    if (node.input_size() <= k || node.input(k).empty()) return nullptr;
    auto it = graph.constants.find(node.input(k));
    return it == graph.constants.end() ? nullptr : &it->second;
  };
  for (auto& node : *g.mutable_node()) {
    const std::string& op = node.op_type();
    if ((op == "Conv" || op == "QLinearConv") && !find_attr(node, "kernel_shape")) {
      // Without kernel_shape, ONNX takes the kernel from the weights' shape and reads that many
      // spatial dimensions of the input without checking its rank; given explicitly, it checks.
      const Constant* w = constant_input(node, op == "Conv" ? 1 : 3);
      if (!w) fail(node, "weights that are not constant are not supported");
      if (w->dims.size() < 3) fail(node, "weights of shape " + shape_string(w->dims) + " (need [M, C/group, k...])");
      auto* a = node.add_attribute();
      a->set_name("kernel_shape");
      a->set_type(onnx::AttributeProto_AttributeType_INTS);
      for (size_t d = 2; d < w->dims.size(); ++d) a->add_ints(w->dims[d]);
    }
    if (op == "Conv" || op == "QLinearConv" || op == "MaxPool" || op == "AveragePool") {
      check_range(node, "kernel_shape", attr_ints(node, "kernel_shape"), 1);
      check_range(node, "strides", attr_ints(node, "strides"), 1);
      check_range(node, "dilations", attr_ints(node, "dilations"), 1);
      check_range(node, "pads", attr_ints(node, "pads"), 0);
      if (op == "Conv" || op == "QLinearConv") check_range(node, "group", {attr_int(node, "group", 1)}, 1);
    } else if (op == "Split") {
      check_range(node, "split", attr_ints(node, "split"), 0);
      if (const Constant* sizes = constant_input(node, 1)) check_range(node, "split", sizes->ints(), 0);
      if (find_attr(node, "num_outputs")) check_range(node, "num_outputs", {attr_int(node, "num_outputs", 1)}, 1);
    } else if (op == "Pad" || op == "Tile" || op == "Expand" || op == "Reshape" || op == "ConstantOfShape") {
      // Their sizes: pads, repeats or shapes (Reshape's may hold -1).
      const int k = op == "ConstantOfShape" ? 0 : 1;
      const int64_t lo = op == "Pad" ? -kMaxTensorElements : (op == "Reshape" ? -1 : 0);
      if (const Constant* sizes = constant_input(node, k)) check_range(node, "input " + std::to_string(k), sizes->ints(), lo);
      if (op == "Pad") check_range(node, "pads", attr_ints(node, "pads"), lo);
    }
  }
}

// The model without the values of its large initializers (weights), which become graph inputs
// of their type and shape: inference reads only small constants' values (shapes, axes, sizes).
onnx::ModelProto without_weights(onnx::ModelProto& model) {
  constexpr int64_t kMaxProbedElements = 4096;
  onnx::GraphProto& g = *model.mutable_graph();
  google::protobuf::RepeatedPtrField<onnx::TensorProto> initializers;
  initializers.Swap(g.mutable_initializer());
  onnx::ModelProto probe;
  try {
    probe = model;
  } catch (...) {
    initializers.Swap(g.mutable_initializer());
    throw;
  }
  initializers.Swap(g.mutable_initializer());
  std::set<std::string> inputs;
  for (const auto& v : g.input()) inputs.insert(v.name());
  onnx::GraphProto& pg = *probe.mutable_graph();
  for (const auto& t : g.initializer()) {
    int64_t elements = 1;
    for (const int64_t d : t.dims())
      elements = std::min(elements * std::clamp<int64_t>(d, 0, kMaxProbedElements + 1), kMaxProbedElements + 1);
    if (elements <= kMaxProbedElements) {
      *pg.add_initializer() = t;
      continue;
    }
    if (!inputs.insert(t.name()).second) continue;
    onnx::ValueInfoProto& v = *pg.add_input();
    v.set_name(t.name());
    auto& type = *v.mutable_type()->mutable_tensor_type();
    type.set_elem_type(t.data_type());
    auto& shape = *type.mutable_shape();
    for (const int64_t d : t.dims()) shape.add_dim()->set_dim_value(d);
  }
  return probe;
}

// Data propagation (shapes computed by Shape, Gather, Concat, ...) is what folds shape subgraphs,
// but ONNX 1.12 goes on after a node's inference fails and its propagation then dereferences the
// shape that node left unset (a Shape of a Concat whose inputs disagree crashed the converter).
// A first pass without it stops at such a graph; the second runs only on one that passed.
void infer_shapes(onnx::ModelProto& model) {
  try {
    onnx::ModelProto probe = without_weights(model);
    onnx::shape_inference::InferShapes(probe, onnx::OpSchemaRegistry::Instance(),
                                       onnx::ShapeInferenceOptions(false, 1, false));
    onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(),
                                       onnx::ShapeInferenceOptions(false, 1, true));
  } catch (const std::exception& e) {
    std::string what = e.what();
    std::replace(what.begin(), what.end(), '\n', ' ');
    throw ModelError("ONNX shape inference failed: " + what);
  }
}

// Inputs read only by Transpose(perm 0,3,1,2): NHWC images, as tf2onnx exports them.
std::set<std::string> nhwc_inputs(const onnx::GraphProto& g) {
  std::map<std::string, bool> only_nchw_transposes;
  for (const auto& v : g.input()) only_nchw_transposes[v.name()] = false;
  std::set<std::string> read;
  for (const auto& node : g.node())
    for (const auto& in : node.input()) {
      auto it = only_nchw_transposes.find(in);
      if (it == only_nchw_transposes.end()) continue;
      const bool to_nchw = node.op_type() == "Transpose" && attr_ints(node, "perm") == std::vector<int64_t>{0, 3, 1, 2};
      it->second = (read.insert(in).second || it->second) && to_nchw;
    }
  std::set<std::string> nhwc;
  for (const auto& [name, yes] : only_nchw_transposes)
    if (yes) nhwc.insert(name);
  return nhwc;
}

// "unsupported op 'Erf' at node 'a'", or for several: each op with its count and nodes.
std::string unsupported_ops(const ImportedGraph& graph, const std::vector<const onnx::NodeProto*>& nodes,
                            const std::string& why) {
  std::vector<std::string> order;
  std::map<std::string, std::vector<std::string>> labels;
  for (const auto* node : nodes) {
    std::string op = node->op_type();
    if (!node->domain().empty() && node->domain() != "ai.onnx") op = node->domain() + "." + op;
    if (!labels.count(op)) order.push_back(op);
    labels[op].push_back(node_label(graph, *node));
  }
  auto reason = [&](const std::string& op) {
    auto rejected = kRejectedOps.find(op);
    return rejected == kRejectedOps.end() ? why : ": " + rejected->second;
  };
  if (nodes.size() == 1) return "unsupported op '" + order[0] + "' at node " + labels[order[0]][0] + reason(order[0]);
  constexpr size_t kNamesShown = 5;
  std::string text = "unsupported ops in " + std::to_string(nodes.size()) + " nodes: ";
  for (const auto& op : order) {
    const auto& names = labels[op];
    if (op != order.front()) text += "; ";
    text += "'" + op + "' x" + std::to_string(names.size()) + " at node" + (names.size() > 1 ? "s " : " ");
    for (size_t k = 0; k < std::min(names.size(), kNamesShown); ++k) text += (k ? ", " : "") + names[k];
    if (names.size() > kNamesShown) text += " and " + std::to_string(names.size() - kNamesShown) + " more";
    text += reason(op);
  }
  return text;
}

// Notes each declared element type that the graph computes otherwise.
void note_type_conflicts(const onnx::GraphProto& g, ImportedGraph& graph, const std::map<std::string, int32_t>& declared) {
  std::map<std::string, int32_t> computed;
  for (const auto* list : {&g.input(), &g.value_info(), &g.output()})
    for (const auto& v : *list)
      if (v.type().has_tensor_type() && v.type().tensor_type().elem_type() != 0)
        computed[v.name()] = v.type().tensor_type().elem_type();
  for (const auto& [name, c] : graph.constants) computed[name] = onnx_type(c);
  for (const auto& [name, type] : declared) {
    auto it = computed.find(name);
    if (it == computed.end() || it->second == type) continue;
    graph.notes.push_back("'" + name + "' is declared " + type_name(type) + " but the graph computes " +
                          type_name(it->second) + "; the computed type is used");
  }
}

}  // namespace

std::optional<std::map<std::string, Constant>> evaluate_nodes(const std::vector<const onnx::NodeProto*>& nodes,
                                                              std::map<std::string, Constant> values, int64_t opset,
                                                              int64_t budget) {
  ImportedGraph scratch;
  scratch.constants = std::move(values);
  const std::map<std::string, Shape> no_shapes;
  Folder folder(scratch, no_shapes, opset, budget);
  try {
    for (const auto* node : nodes)
      if (!folder.fold(*node)) return std::nullopt;
  } catch (const Error&) {
    return std::nullopt;
  }
  return std::move(scratch.constants);
}

const onnx::AttributeProto* find_attr(const onnx::NodeProto& node, const std::string& name) {
  for (const auto& a : node.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

int64_t attr_int(const onnx::NodeProto& node, const std::string& name, int64_t fallback) {
  const auto* a = find_attr(node, name);
  return a ? a->i() : fallback;
}

float attr_float(const onnx::NodeProto& node, const std::string& name, float fallback) {
  const auto* a = find_attr(node, name);
  return a ? a->f() : fallback;
}

std::string attr_string(const onnx::NodeProto& node, const std::string& name, const std::string& fallback) {
  const auto* a = find_attr(node, name);
  return a ? a->s() : fallback;
}

std::vector<int64_t> attr_ints(const onnx::NodeProto& node, const std::string& name) {
  const auto* a = find_attr(node, name);
  if (!a) return {};
  return {a->ints().begin(), a->ints().end()};
}

std::optional<int64_t> bounded_element_count(const Shape& shape, int64_t limit) {
  int64_t count = 1;
  for (int64_t d : shape) {
    if (d < 0 || (d > 0 && count > limit / d)) return std::nullopt;
    count *= d;
  }
  if (count > limit) return std::nullopt;
  return count;
}

std::vector<int64_t> Constant::ints() const {
  if (!is_float) return i;
  std::vector<int64_t> out;
  out.reserve(f.size());
  for (float v : f) out.push_back(to_integer(v));
  return out;
}

std::vector<float> Constant::floats() const { return is_float ? f : cast_all<int64_t, float>(i); }

Constant constant_from_proto(const onnx::TensorProto& t) {
  if (t.data_location() == onnx::TensorProto_DataLocation_EXTERNAL)
    throw UnsupportedError("tensor '" + t.name() + "' keeps its data in an external file");
  Constant c;
  c.dims.assign(t.dims().begin(), t.dims().end());
  c.elem_type = t.data_type();
  if (!bounded_element_count(c.dims, kMaxTensorElements))
    throw ModelError("tensor '" + t.name() + "' has shape " + shape_string(c.dims) + ", which is not a shape of at most " +
                     std::to_string(kMaxTensorElements) + " elements");
  const std::string& raw = t.raw_data();
  bool has_raw = t.has_raw_data();
  switch (t.data_type()) {
    case TensorProto_DataType::TensorProto_DataType_FLOAT:
      c.f = has_raw ? read_raw<float>(t) : std::vector<float>(t.float_data().begin(), t.float_data().end());
      break;
    case TensorProto_DataType::TensorProto_DataType_DOUBLE:
      c.f = cast_all<double, float>(has_raw ? read_raw<double>(t)
                                            : std::vector<double>(t.double_data().begin(), t.double_data().end()));
      break;
    case TensorProto_DataType::TensorProto_DataType_INT64:
      c.is_float = false;
      c.i = has_raw ? read_raw<int64_t>(t) : std::vector<int64_t>(t.int64_data().begin(), t.int64_data().end());
      break;
    case TensorProto_DataType::TensorProto_DataType_INT32:
      c.is_float = false;
      c.i = cast_all<int32_t, int64_t>(has_raw ? read_raw<int32_t>(t)
                                               : std::vector<int32_t>(t.int32_data().begin(), t.int32_data().end()));
      break;
    case TensorProto_DataType::TensorProto_DataType_INT8:
    case TensorProto_DataType::TensorProto_DataType_UINT8:
    case TensorProto_DataType::TensorProto_DataType_BOOL:
      c.is_float = false;
      c.is_bool = true;
      if (t.data_type() != TensorProto_DataType::TensorProto_DataType_BOOL) c.int8_type = t.data_type();
      if (has_raw) {
        bool is_signed = t.data_type() == TensorProto_DataType::TensorProto_DataType_INT8;
        for (char byte : raw)
          c.i.push_back(is_signed ? static_cast<int8_t>(byte) : static_cast<uint8_t>(byte));
      } else {
        c.i.assign(t.int32_data().begin(), t.int32_data().end());
      }
      break;
    default:
      throw UnsupportedError("tensor '" + t.name() + "' has unsupported type " + type_name(t.data_type()));
  }
  if (static_cast<int64_t>(c.size()) != element_count(c.dims))
    throw ModelError("tensor '" + t.name() + "' holds " + std::to_string(c.size()) +
                     " values but its shape " + shape_string(c.dims) + " needs " +
                     std::to_string(element_count(c.dims)));
  return c;
}

onnx::TensorProto constant_to_proto(const std::string& name, const Constant& c) {
  onnx::TensorProto t;
  t.set_name(name);
  for (int64_t d : c.dims) t.add_dims(d);
  using DT = TensorProto_DataType;
  int32_t type = onnx_type(c);
  // Half-precision values are carried as float; they are written back as float, which only the
  // graph's own type inference sees.
  if (c.is_float && type != DT::TensorProto_DataType_DOUBLE) type = DT::TensorProto_DataType_FLOAT;
  t.set_data_type(type);
  if (c.is_float) {
    t.set_raw_data(type == DT::TensorProto_DataType_DOUBLE ? raw_bytes<double>(c.f) : raw_bytes<float>(c.f));
    return t;
  }
  std::vector<int64_t> values = c.i;
  if (type == DT::TensorProto_DataType_BOOL)
    for (auto& v : values) v = v != 0;
  switch (type) {
    case DT::TensorProto_DataType_INT8: t.set_raw_data(raw_bytes<int8_t>(values)); break;
    case DT::TensorProto_DataType_UINT8:
    case DT::TensorProto_DataType_BOOL: t.set_raw_data(raw_bytes<uint8_t>(values)); break;
    case DT::TensorProto_DataType_INT16: t.set_raw_data(raw_bytes<int16_t>(values)); break;
    case DT::TensorProto_DataType_UINT16: t.set_raw_data(raw_bytes<uint16_t>(values)); break;
    case DT::TensorProto_DataType_INT32: t.set_raw_data(raw_bytes<int32_t>(values)); break;
    case DT::TensorProto_DataType_UINT32: t.set_raw_data(raw_bytes<uint32_t>(values)); break;
    case DT::TensorProto_DataType_UINT64: t.set_raw_data(raw_bytes<uint64_t>(values)); break;
    default:
      t.set_data_type(DT::TensorProto_DataType_INT64);
      t.set_raw_data(raw_bytes<int64_t>(values));
  }
  return t;
}

std::string node_label(const ImportedGraph& graph, const onnx::NodeProto& node) {
  // Built by appending: GCC 12 warns falsely (-Wrestrict) about "'" + name + "'".
  std::string label;
  if (!node.name().empty()) {
    label.append("'").append(node.name()).append("'");
    return label;
  }
  auto it = node.output_size() ? graph.node_index.find(node.output(0)) : graph.node_index.end();
  if (it == graph.node_index.end()) return "(unnamed)";
  label.append("#").append(std::to_string(it->second));
  return label;
}

void unsupported(const std::string& what, const onnx::NodeProto& node, const ImportedGraph& graph) {
  throw UnsupportedError(what + " in op '" + node.op_type() + "' at node " + node_label(graph, node));
}

ImportedGraph import_onnx(onnx::ModelProto model, const Options& options) {
  ImportedGraph graph;
  auto* g = model.mutable_graph();
  graph.onnx_nodes = static_cast<size_t>(g->node_size());
  for (int n = 0; n < g->node_size(); ++n)
    for (const auto& out : g->node(n).output()) graph.node_index.emplace(out, static_cast<size_t>(n));

  for (const auto& opset : model.opset_import())
    if (opset.domain().empty() || opset.domain() == "ai.onnx") graph.opset = opset.version();
  // Past the ONNX library's newest opset, its checker would judge nodes by older schemas and
  // blame the model; one opset past 17 is read by rewriting the nodes whose schemas changed.
  const int64_t newest = onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map().at(onnx::ONNX_DOMAIN).second;
  const bool rewrite_18 = newest == kRewrittenOpset - 1;
  const int64_t accepted = rewrite_18 ? kRewrittenOpset : newest;
  if (graph.opset > accepted)
    throw UnsupportedError("the model uses ONNX opset " + std::to_string(graph.opset) + ", and vkbnn-convert reads " +
                           "opsets up to " + std::to_string(accepted) +
                           (rewrite_18 ? " (18 by rewriting its nodes into opset 17, the newest of the ONNX library "
                                         "it is built with)"
                                       : "") +
                           "; export the model with opset " + std::to_string(accepted) + " or lower");
  // Unknown ops are reported before the checker, which would only say it has no schema; all of
  // them at once, so that one try tells what a model lacks.
  std::vector<const onnx::NodeProto*> unknown;
  for (const auto& node : g->node()) {
    const bool known_domain = node.domain().empty() || node.domain() == "ai.onnx";
    if (!known_domain || kRejectedOps.count(node.op_type()) ||
        (!lowered_onnx_ops().count(node.op_type()) && !kFoldedOps.count(node.op_type())))
      unknown.push_back(&node);
  }
  if (!unknown.empty()) throw UnsupportedError(unsupported_ops(graph, unknown, ""));
  if (rewrite_18 && graph.opset == kRewrittenOpset) {
    const auto [rewritten, added] = rewrite_opset18_nodes(model, graph);
    graph.opset = kRewrittenOpset - 1;
    // The added nodes are among those folded away or fused that the summary counts.
    graph.notes.push_back("the model was read as ONNX opset 17 after rewriting " + std::to_string(rewritten) +
                          (rewritten == 1 ? " opset-18 node into its opset-17 form"
                                          : " opset-18 nodes into their opset-17 forms") +
                          (added ? ", adding " + std::to_string(added) + (added == 1 ? " node" : " nodes") : ""));
  }
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    std::string what = e.what();
    std::replace(what.begin(), what.end(), '\n', ' ');
    throw ModelError("invalid ONNX model: " + what);
  }

  std::set<std::string> initializer_names;
  for (const auto& t : g->initializer()) {
    initializer_names.insert(t.name());
    graph.constants[t.name()] = constant_from_proto(t);
  }
  // Old models also list initializers as inputs; only the others are fed at run time.
  auto* inputs = g->mutable_input();
  for (int k = inputs->size(); k-- > 0;)
    if (initializer_names.count(inputs->Get(k).name())) inputs->DeleteSubrange(k, 1);
  if (model.ir_version() < 4) model.set_ir_version(4);
  fix_input_shapes(*g, initializer_names, options, nhwc_inputs(*g));
  for (const auto& v : g->input()) graph.inputs.push_back(v.name());
  for (const auto& v : g->output()) graph.outputs.push_back(v.name());
  if (graph.inputs.empty()) throw ModelError("the graph has no inputs (other than initializers)");
  if (graph.outputs.empty()) throw ModelError("the graph has no outputs");
  // Folding may expand what the file holds (ConstantOfShape, Expand, Range), but not beyond this.
  int64_t fold_budget = kMinFoldBudget;
  for (const auto& [name, c] : graph.constants) fold_budget += kFoldBudgetPerElement * static_cast<int64_t>(c.size());
  // Declared intermediate and output types and shapes may be stale once the input size changed,
  // or wrong (exporters declare INT32 for INT64 shapes, which onnxruntime ignores): the graph's
  // own inference decides, and a declared type it contradicts is reported.
  std::map<std::string, int32_t> declared;
  for (const auto* list : {&g->value_info(), &g->output(), &g->input()})
    for (const auto& v : *list)
      if (v.type().has_tensor_type() && v.type().tensor_type().elem_type() != 0)
        declared[v.name()] = v.type().tensor_type().elem_type();
  g->clear_value_info();
  for (auto& v : *g->mutable_output())
    if (v.type().has_tensor_type()) v.mutable_type()->mutable_tensor_type()->Clear();

  std::map<std::string, std::string> renamed;
  auto resolve = [&](const std::string& name) {
    auto it = renamed.find(name);
    return it == renamed.end() ? name : it->second;
  };
  std::set<std::string> graph_outputs(graph.outputs.begin(), graph.outputs.end());
  std::map<std::string, Shape> shapes;
  // Folding first (with the shapes of the last inference, none at first), then ONNX's shape
  // inference on what is left: it needs the weights of convolutions folded to constants (see
  // check_before_inference), and folding can make new shapes known (Reshape targets), which
  // makes more nodes foldable. The first round folds what needs no shapes.
  for (int round = 0;; ++round) {
    bool changed = false;
    Folder folder(graph, shapes, graph.opset, fold_budget);
    google::protobuf::RepeatedPtrField<onnx::NodeProto> kept;
    std::set<std::string> read;
    for (const auto& node : g->node()) read.insert(node.input().begin(), node.input().end());
    // Dropout outside training, or of ratio 0 in training: an identity, with a mask of all ones
    // that torch.onnx.export names even where nothing reads it. (torchvision's Swin attention
    // drops with ratio 0 in training mode, in eval mode too.)
    auto scalar_is = [&](const onnx::NodeProto& node, int k, double value) {
      const auto c = graph.constants.find(node.input(k));
      return c != graph.constants.end() && c->second.size() == 1 && c->second.at(0) == value;
    };
    auto identity_dropout = [&](const onnx::NodeProto& node) {
      const bool mask_unused = node.output_size() < 2 || node.output(1).empty() ||
                               (!read.count(node.output(1)) && !graph_outputs.count(node.output(1)));
      const bool training = node.input_size() > 2 && !node.input(2).empty() && !scalar_is(node, 2, 0);
      const bool drops = !(node.input_size() > 1 && !node.input(1).empty() && scalar_is(node, 1, 0));  // 0.5 if absent
      return mask_unused && (!training || !drops);
    };
    for (auto& node : *g->mutable_node()) {
      for (auto& in : *node.mutable_input()) in = resolve(in);
      const std::string& op = node.op_type();
      bool pass_through = op == "Identity" || (op == "Dropout" && identity_dropout(node));
      if (pass_through && !graph_outputs.count(node.output(0)) && !graph.constants.count(node.input(0))) {
        renamed[node.output(0)] = node.input(0);
        changed = true;
        ++graph.folded;
        continue;
      }
      if (folder.fold(node)) {
        for (const auto& out : node.output())
          if (graph.constants.count(out) && !initializer_names.count(out)) {
            *g->add_initializer() = constant_to_proto(out, graph.constants.at(out));
            initializer_names.insert(out);
          }
        changed = true;
        ++graph.folded;
        continue;
      }
      *kept.Add() = std::move(node);
    }
    g->mutable_node()->Swap(&kept);
    check_before_inference(*g, graph);
    // What the last round inferred of values folded since may disagree with their constants.
    g->clear_value_info();
    infer_shapes(model);
    collect_shapes(*g, shapes);
    // Each pass declares at least one more Einsum's shape (inference keeps declared shapes).
    for (int pass = 0; pass < g->node_size() && declare_einsum_shapes(*g, shapes); ++pass) {
      infer_shapes(model);
      collect_shapes(*g, shapes);
    }
    if (!changed && round > 0) break;
  }

  for (const auto& out : graph.outputs)
    if (graph.constants.count(out))
      throw UnsupportedError("graph output '" + out + "' is a constant (the graph computes nothing from its inputs)");
  fuse_layer_norms(*g, shapes, graph.constants, graph.opset, graph_outputs);
  std::vector<const onnx::NodeProto*> unfolded;
  for (const auto& node : g->node())
    if (!lowered_onnx_ops().count(node.op_type())) unfolded.push_back(&node);
  if (!unfolded.empty())
    throw UnsupportedError(unsupported_ops(graph, unfolded, " (evaluated only when all its inputs are constants)"));
  note_type_conflicts(*g, graph, declared);
  for (const auto& node : g->node()) {
    for (const auto& name : node.output()) {
      if (name.empty()) continue;
      auto it = shapes.find(name);
      if (it != shapes.end() && std::count(it->second.begin(), it->second.end(), 0))
        throw UnsupportedError("'" + name + "' (output of node " + node_label(graph, node) + ") is empty, shape " +
                               shape_string(it->second) + "; vkbnn has no empty tensors");
      if (it == shapes.end() || it->second == Shape{-1} ||
          std::any_of(it->second.begin(), it->second.end(), [](int64_t d) { return d <= 0; }))
        throw ModelError("the shape of '" + name + "' (output of node " + node_label(graph, node) +
                         ") is unknown or not static");
      if (!bounded_element_count(it->second, kMaxTensorElements))
        throw UnsupportedError("the output '" + name + "' of node " + node_label(graph, node) + " has shape " +
                               shape_string(it->second) + ", more than the " + std::to_string(kMaxTensorElements) +
                               " elements a vkbnn tensor may have");
    }
    // Shape inference takes a Reshape's target as given; the data has to fit it.
    const std::string& op = node.op_type();
    if ((op == "Reshape" || op == "Flatten" || op == "Squeeze" || op == "Unsqueeze") && node.input_size() > 0 &&
        shapes.count(node.input(0)) && !graph.constants.count(node.input(0))) {
      const int64_t in = element_count(shapes.at(node.input(0))), out = element_count(shapes.at(node.output(0)));
      if (in != out)
        throw ModelError("op '" + op + "' at node " + node_label(graph, node) + " turns " + std::to_string(in) +
                         " elements into " + std::to_string(out));
    }
  }
  for (const auto& name : graph.inputs) graph.shapes[name] = shapes.at(name);
  for (const auto* list : {&g->value_info(), &g->output(), &g->input()})
    for (const auto& v : *list)
      if (v.type().has_tensor_type() && is_integer_type(v.type().tensor_type().elem_type()) &&
          v.type().tensor_type().elem_type() != TensorProto_DataType::TensorProto_DataType_BOOL &&
          !graph.constants.count(v.name()))
        graph.integer_values.insert(v.name());
  for (const auto& v : g->output())
    if (v.type().tensor_type().elem_type() == TensorProto_DataType::TensorProto_DataType_BOOL)
      graph.boolean_outputs.insert(v.name());
  for (const auto& node : g->node())
    for (const auto& name : node.output())
      if (!name.empty()) graph.shapes[name] = shapes.at(name);
  graph.nodes.assign(g->node().begin(), g->node().end());
  lift_1d_ops(graph);
  return graph;
}

}  // namespace vkbnn::convert::detail

namespace vkbnn::convert {

std::vector<std::string> folded_only_ops() {
  std::vector<std::string> ops;
  for (const auto& op : detail::kFoldedOps)
    if (!detail::lowered_onnx_ops().count(op)) ops.push_back(op);
  return ops;
}

}  // namespace vkbnn::convert
