// Transposes as exporters for NHWC frameworks write them (tf2onnx: Transpose to NCHW before each
// Conv and back after it): moved past the element-wise ops and reductions between them until
// inverse pairs meet and cancel, so that the convolutions run on NCHW tensors end to end. An NHWC
// graph input read only through a Transpose to NCHW is taken as NCHW.

#include <algorithm>
#include <numeric>
#include <optional>

#include "ir.hpp"

namespace vkbnn::convert::detail {
namespace {

using Perm = std::vector<int64_t>;

bool is_identity(const Perm& p) {
  for (size_t d = 0; d < p.size(); ++d)
    if (p[d] != static_cast<int64_t>(d)) return false;
  return true;
}

// Transpose b applied after a: out[d] = x[a[b[d]]].
Perm compose(const Perm& a, const Perm& b) {
  Perm c;
  for (int64_t d : b) c.push_back(a[static_cast<size_t>(d)]);
  return c;
}

Perm inverse(const Perm& p) {
  Perm inv(p.size());
  for (size_t d = 0; d < p.size(); ++d) inv[static_cast<size_t>(p[d])] = static_cast<int64_t>(d);
  return inv;
}

Shape permuted(const Shape& s, const Perm& p) {
  Shape out;
  for (int64_t d : p) out.push_back(s[static_cast<size_t>(d)]);
  return out;
}

const std::set<std::string> kUnary = {"Relu", "Sigmoid", "Clip", "LeakyRelu", "HardSigmoid", "HardSwish",
                                      "Erf", "Tanh", "Exp", "Log", "Sqrt", "Reciprocal", "Abs", "Neg",
                                      "Softplus", "Mish"};
const std::set<std::string> kBinary = {"Add", "Sub", "Mul", "Div", "Pow"};
const std::set<std::string> kReduce = {"ReduceMean", "ReduceSum",  "ReduceMax",      "ReduceMin",
                                       "ReduceL1",   "ReduceL2",   "ReduceSumSquare"};

class Transposes {
 public:
  explicit Transposes(ImportedGraph& g) : g_(g) {}

  void run() {
    take_nhwc_inputs_as_nchw();
    while (step()) {
    }
  }

 private:
  bool is_output(const std::string& v) const {
    return std::find(g_.outputs.begin(), g_.outputs.end(), v) != g_.outputs.end();
  }

  size_t uses(const std::string& v) const {
    size_t n = is_output(v) ? 1 : 0;
    for (const auto& node : g_.nodes)
      for (const auto& in : node.input()) n += in == v;
    return n;
  }

  // The index of the Transpose producing v when nothing else reads v.
  std::optional<size_t> sole_transpose(const std::string& v) const {
    for (size_t i = 0; i < g_.nodes.size(); ++i)
      if (g_.nodes[i].op_type() == "Transpose" && g_.nodes[i].output(0) == v)
        return uses(v) == 1 && !is_output(v) ? std::optional<size_t>(i) : std::nullopt;
    return std::nullopt;
  }

  Perm perm_of(const onnx::NodeProto& t) const {
    Perm p = attr_ints(t, "perm");
    if (p.empty())
      for (size_t d = g_.shapes.at(t.input(0)).size(); d-- > 0;) p.push_back(static_cast<int64_t>(d));
    return p;
  }

  static void set_perm(onnx::NodeProto& t, const Perm& p) {
    for (int k = 0; k < t.attribute_size(); ++k)
      if (t.attribute(k).name() == "perm") t.mutable_attribute()->DeleteSubrange(k, 1);
    auto* a = t.add_attribute();
    a->set_name("perm");
    a->set_type(onnx::AttributeProto_AttributeType_INTS);
    for (int64_t v : p) a->add_ints(v);
  }

  void rename_uses(const std::string& from, const std::string& to) {
    for (auto& node : g_.nodes)
      for (auto& in : *node.mutable_input())
        if (in == from) in = to;
  }

  std::string fresh(const std::string& base) const {
    std::string name = base;
    for (int k = 1; g_.shapes.count(name) || g_.constants.count(name); ++k) name = base + "_" + std::to_string(k);
    return name;
  }

  // Image inputs in NHWC that the graph turns into NCHW first: the input itself becomes NCHW.
  void take_nhwc_inputs_as_nchw() {
    const Perm to_nchw{0, 3, 1, 2};
    for (const auto& input : g_.inputs) {
      std::vector<size_t> readers;
      bool only_to_nchw = !is_output(input);
      for (size_t i = 0; i < g_.nodes.size(); ++i)
        for (const auto& in : g_.nodes[i].input())
          if (in == input) {
            readers.push_back(i);
            only_to_nchw = only_to_nchw && g_.nodes[i].op_type() == "Transpose" &&
                           attr_ints(g_.nodes[i], "perm") == to_nchw && !is_output(g_.nodes[i].output(0));
          }
      if (readers.empty() || !only_to_nchw) continue;
      const Shape nhwc = g_.shapes.at(input);
      g_.shapes[input] = permuted(nhwc, to_nchw);
      for (size_t k = readers.size(); k-- > 0;) {
        const std::string out = g_.nodes[readers[k]].output(0);
        g_.nodes.erase(g_.nodes.begin() + static_cast<std::ptrdiff_t>(readers[k]));
        g_.shapes.erase(out);
        rename_uses(out, input);
      }
      g_.notes.push_back("input '" + input + "' is NHWC " + shape_string(nhwc) +
                         " in the ONNX model and read only through a Transpose to NCHW; the vkbnn model takes it as NCHW " +
                         shape_string(g_.shapes[input]));
    }
  }

  bool step() {
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      onnx::NodeProto& node = g_.nodes[i];
      if (node.op_type() == "Transpose" && (merge_pair(i) || drop_identity(i))) return true;
      if (node.input_size() == 0) continue;
      if (kUnary.count(node.op_type()) && sink_unary(i)) return true;
      if (kBinary.count(node.op_type()) && sink_binary(i)) return true;
      if (kReduce.count(node.op_type()) && sink_reduce(i)) return true;
    }
    return false;
  }

  // Transpose(Transpose(x)) is one Transpose of x.
  bool merge_pair(size_t i) {
    auto first = sole_transpose(g_.nodes[i].input(0));
    if (!first) return false;
    const Perm p = compose(perm_of(g_.nodes[*first]), perm_of(g_.nodes[i]));
    g_.nodes[i].set_input(0, g_.nodes[*first].input(0));
    set_perm(g_.nodes[i], p);
    g_.nodes.erase(g_.nodes.begin() + static_cast<std::ptrdiff_t>(*first));
    ++g_.folded;
    return true;
  }

  bool drop_identity(size_t i) {
    const onnx::NodeProto& t = g_.nodes[i];
    if (!is_identity(perm_of(t)) || is_output(t.output(0))) return false;
    const std::string from = t.output(0), to = t.input(0);
    g_.nodes.erase(g_.nodes.begin() + static_cast<std::ptrdiff_t>(i));
    rename_uses(from, to);
    ++g_.folded;
    return true;
  }

  // op(Transpose(x)) -> Transpose(op(x)): the op now runs at the Transpose's position.
  void swap_below(size_t t_index, size_t op_index, const Perm& perm_after) {
    onnx::NodeProto t = g_.nodes[t_index];
    onnx::NodeProto op = g_.nodes[op_index];
    const std::string x = t.input(0), out = op.output(0);
    const std::string moved = fresh(out + "_untransposed");
    Shape moved_shape = g_.shapes.at(out);
    moved_shape = permuted(moved_shape, inverse(perm_after));
    g_.shapes[moved] = moved_shape;
    for (auto& in : *op.mutable_input())
      if (in == t.output(0)) in = x;
    op.set_output(0, moved);
    g_.shapes.erase(t.output(0));
    t.set_input(0, moved);
    t.set_output(0, out);
    set_perm(t, perm_after);
    g_.nodes[t_index] = std::move(op);
    g_.nodes[op_index] = std::move(t);
  }

  bool constant_inputs_after_first(const onnx::NodeProto& node) const {
    for (int k = 1; k < node.input_size(); ++k)
      if (!node.input(k).empty() && !g_.constants.count(node.input(k))) return false;
    return true;
  }

  bool sink_unary(size_t i) {
    const onnx::NodeProto& node = g_.nodes[i];
    if (node.output_size() != 1 || !constant_inputs_after_first(node)) return false;
    auto t = sole_transpose(node.input(0));
    if (!t) return false;
    swap_below(*t, i, perm_of(g_.nodes[*t]));
    return true;
  }

  // With a constant operand c: op(T(x), c) = T(op(x, c')) for c' = T^-1(c), c brought to x's rank.
  bool sink_binary(size_t i) {
    const onnx::NodeProto& node = g_.nodes[i];
    if (node.input_size() != 2) return false;
    for (int k = 0; k < 2; ++k) {
      const std::string& operand = node.input(1 - k);
      auto t = sole_transpose(node.input(k));
      auto c = g_.constants.find(operand);
      if (!t || c == g_.constants.end()) continue;
      const Perm perm = perm_of(g_.nodes[*t]);
      const Shape& out = g_.shapes.at(node.output(0));
      if (c->second.dims.size() > perm.size() || out != g_.shapes.at(node.input(k))) continue;
      Constant padded = c->second;
      padded.dims.insert(padded.dims.begin(), perm.size() - c->second.dims.size(), 1);
      const std::string name = fresh(operand + "_untransposed");
      g_.constants[name] = transposed(padded, inverse(perm));
      g_.nodes[i].set_input(1 - k, name);
      swap_below(*t, i, perm);
      return true;
    }
    return false;
  }

  static Constant transposed(const Constant& c, const Perm& perm) {
    Constant out = c;
    out.dims = permuted(c.dims, perm);
    Shape in_strides(c.dims.size(), 1);
    for (size_t d = c.dims.size(); d-- > 1;) in_strides[d - 1] = in_strides[d] * c.dims[d];
    const auto count = static_cast<size_t>(element_count(out.dims));
    Shape index(out.dims.size(), 0);
    for (size_t k = 0; k < count; ++k) {
      int64_t src = 0;
      for (size_t d = 0; d < perm.size(); ++d) src += index[d] * in_strides[static_cast<size_t>(perm[d])];
      if (c.is_float) out.f[k] = c.f[static_cast<size_t>(src)];
      else out.i[k] = c.i[static_cast<size_t>(src)];
      for (size_t d = index.size(); d-- > 0;) {
        if (++index[d] < out.dims[d]) break;
        index[d] = 0;
      }
    }
    return out;
  }

  // Reducing T(x) over axes A reduces x over perm[A]; what is left of T follows.
  bool sink_reduce(size_t i) {
    const onnx::NodeProto& node = g_.nodes[i];
    auto t = sole_transpose(node.input(0));
    // Axes given as an input (ReduceSum from opset 13, ReduceMean from 18) are left alone.
    if (!t || node.input_size() > 1) return false;
    const Perm perm = perm_of(g_.nodes[*t]);
    const auto rank = static_cast<int64_t>(perm.size());
    std::vector<int64_t> axes = attr_ints(node, "axes");
    if (axes.empty()) return false;
    std::vector<bool> reduced(perm.size(), false);
    for (int64_t a : axes) {
      if (a < -rank || a >= rank) return false;
      reduced[static_cast<size_t>(a < 0 ? a + rank : a)] = true;
    }
    std::vector<int64_t> x_axes;
    std::vector<bool> x_reduced(perm.size(), false);
    for (size_t d = 0; d < perm.size(); ++d)
      if (reduced[d]) {
        x_axes.push_back(perm[d]);
        x_reduced[static_cast<size_t>(perm[d])] = true;
      }
    std::sort(x_axes.begin(), x_axes.end());
    Perm after = perm;
    if (attr_int(node, "keepdims", 1) == 0) {
      after.clear();
      for (size_t d = 0; d < perm.size(); ++d)
        if (!reduced[d]) {
          const auto below = std::count(x_reduced.begin(), x_reduced.begin() + perm[d], false);
          after.push_back(static_cast<int64_t>(below));
        }
    }
    for (auto& a : *g_.nodes[i].mutable_attribute())
      if (a.name() == "axes") {
        a.clear_ints();
        for (int64_t v : x_axes) a.add_ints(v);
      }
    swap_below(*t, i, after);
    return true;
  }

  ImportedGraph& g_;
};

}  // namespace

void simplify_transposes(ImportedGraph& graph) { Transposes(graph).run(); }

}  // namespace vkbnn::convert::detail
