#include "onnx/opset18.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace vkbnn::convert::detail {
namespace {

using onnx::TensorProto_DataType;

// The Reduce ops whose axes moved from an attribute to an optional input in opset 18 (ReduceSum
// did so in 13).
const std::set<std::string> kReduceOps = {"ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
                                          "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"};

bool has_input(const onnx::NodeProto& node, int k) { return node.input_size() > k && !node.input(k).empty(); }

// Drops the named attribute; returns whether the node had it.
bool remove_attr(onnx::NodeProto& node, const std::string& name) {
  auto* attrs = node.mutable_attribute();
  for (int k = 0; k < attrs->size(); ++k)
    if (attrs->Get(k).name() == name) {
      attrs->DeleteSubrange(k, 1);
      return true;
    }
  return false;
}

void set_ints(onnx::NodeProto& node, const std::string& name, const std::vector<int64_t>& values) {
  auto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto_AttributeType_INTS);
  for (int64_t v : values) a->add_ints(v);
}

void set_int(onnx::NodeProto& node, const std::string& name, int64_t value) {
  auto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto_AttributeType_INT);
  a->set_i(value);
}

Constant int64s(Shape dims, std::vector<int64_t> values) {
  Constant c;
  c.is_float = false;
  c.dims = std::move(dims);
  c.i = std::move(values);
  return c;
}

class Rewriter {
 public:
  Rewriter(onnx::GraphProto& g, const ImportedGraph& graph) : g_(g), graph_(graph) {
    for (const auto& v : g.input()) names_.insert(v.name());
    for (const auto& v : g.output()) names_.insert(v.name());
    for (const auto& t : g.initializer()) {
      names_.insert(t.name());
      initializers_[t.name()] = &t;
    }
    for (const auto& node : g.node()) {
      names_.insert(node.output().begin(), node.output().end());
      if (node.op_type() == "Constant" && node.output_size() == 1 && node.attribute_size() == 1)
        constant_nodes_[node.output(0)] = node.attribute(0);
    }
  }

  Opset18Rewrite run() {
    google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
    nodes.Swap(g_.mutable_node());
    Opset18Rewrite result;
    for (auto& node : nodes) {
      const bool default_domain = node.domain().empty() || node.domain() == "ai.onnx";
      if (default_domain && rewrite(node)) ++result.rewritten;
      out_.push_back(std::move(node));
    }
    result.added = out_.size() - static_cast<size_t>(nodes.size());
    for (auto& node : out_) *g_.add_node() = std::move(node);
    for (auto& t : added_) *g_.add_initializer() = std::move(t);
    return result;
  }

 private:
  bool rewrite(onnx::NodeProto& node) {
    // Nodes without their data input or an output are the checker's to report.
    if (!has_input(node, 0) || node.output_size() == 0 || node.output(0).empty()) return false;
    const std::string& op = node.op_type();
    if (kReduceOps.count(op)) return reduce(node);
    if (op == "Split") return split(node);
    if (op == "Pad") return pad(node);
    if (op == "Resize") return resize(node);
    if (op == "Mish") return mish(node);
    return false;
  }

  // Axes as a constant input become the attribute; no axes with noop_with_empty_axes, an Identity.
  bool reduce(onnx::NodeProto& node) {
    bool changed = false;
    std::vector<int64_t> axes;
    if (node.input_size() == 2) {
      if (!node.input(1).empty()) {
        auto c = constant(node.input(1));
        if (!c) refuse(node, "axes computed in the graph", "vkbnn needs a constant axes input");
        axes = c->ints();
      }
      node.mutable_input()->RemoveLast();
      changed = true;
    }
    const bool noop = attr_int(node, "noop_with_empty_axes", 0) != 0;
    changed |= remove_attr(node, "noop_with_empty_axes");
    if (axes.empty() && noop) {
      // Reduces nothing: a copy of the input.
      node.set_op_type("Identity");
      node.clear_attribute();
      return true;
    }
    if (!axes.empty()) {
      remove_attr(node, "axes");
      set_ints(node, "axes", axes);
    }
    return changed;
  }

  // num_outputs: the sizes as opset 18 defines them, ceil(d / n) for each output but the last,
  // which takes what is left. They depend on the input's shape, so the graph computes them.
  bool split(onnx::NodeProto& node) {
    if (!find_attr(node, "num_outputs")) return false;
    const int64_t n = attr_int(node, "num_outputs", 0);
    remove_attr(node, "num_outputs");
    if (n < 1 || n != node.output_size())
      throw ModelError("op 'Split' at node " + node_label(graph_, node) + " has num_outputs=" + std::to_string(n) +
                       " but " + std::to_string(node.output_size()) + " outputs");
    if (has_input(node, 1))
      throw ModelError("op 'Split' at node " + node_label(graph_, node) +
                       " has both split sizes and num_outputs (opset 18 allows one of them)");
    const std::string base = stem(node) + "_split";
    const std::string dim = add("Gather", {add("Shape", {node.input(0)}, base + "_shape"),
                                           constant(base + "_axis", int64s({1}, {attr_int(node, "axis", 0)}))},
                                base + "_dim");
    std::string sizes = dim;
    if (n > 1) {
      const std::string rest = constant(base + "_rest", int64s({1}, {n - 1}));
      const std::string chunk =
          add("Div", {add("Add", {dim, rest}, base + "_dim_up"), constant(base + "_count", int64s({1}, {n}))},
              base + "_chunk");
      const std::string last = add("Sub", {dim, add("Mul", {chunk, rest}, base + "_firsts")}, base + "_last");
      std::vector<std::string> parts(static_cast<size_t>(n - 1), chunk);
      parts.push_back(last);
      onnx::NodeProto concat = make("Concat", parts, base + "_sizes");
      set_int(concat, "axis", 0);
      sizes = emit(std::move(concat));
    }
    node.mutable_input()->DeleteSubrange(1, node.input_size() - 1);
    node.add_input(sizes);
    return true;
  }

  // The axes input: pads for the named axes become pads for all of them (0 elsewhere).
  bool pad(onnx::NodeProto& node) {
    if (node.input_size() != 4) return false;
    if (node.input(3).empty()) {
      node.mutable_input()->RemoveLast();
      return true;
    }
    if (!has_input(node, 1))
      throw ModelError("op 'Pad' at node " + node_label(graph_, node) + " has axes but no pads");
    const std::string base = stem(node) + "_pad";
    const std::string rank = rank_of(node.input(0), base);
    onnx::NodeProto cast = make("Cast", {node.input(3)}, base + "_axes");
    set_int(cast, "to", TensorProto_DataType::TensorProto_DataType_INT64);
    const std::string axes = normalized(emit(std::move(cast)), rank, base);
    onnx::NodeProto both = make("Concat", {axes, add("Add", {axes, rank}, base + "_end_axes")}, base + "_slots");
    set_int(both, "axis", 0);
    const std::string slots = emit(std::move(both));
    onnx::NodeProto zeros = make("ConstantOfShape", {add("Mul", {rank, constant(base + "_two", int64s({1}, {2}))},
                                                         base + "_pads_size")},
                                 base + "_zeros");
    auto* value = zeros.add_attribute();
    value->set_name("value");
    value->set_type(onnx::AttributeProto_AttributeType_TENSOR);
    *value->mutable_t() = constant_to_proto("", int64s({1}, {0}));
    const std::string full =
        add("ScatterND", {emit(std::move(zeros)), column(slots, base), node.input(1)}, base + "_all_pads");
    node.set_input(1, full);
    node.mutable_input()->RemoveLast();
    return true;
  }

  bool resize(onnx::NodeProto& node) {
    bool changed = false;
    const std::string mode = attr_string(node, "mode", "nearest");
    if (attr_int(node, "antialias", 0) != 0 && mode != "nearest" && !only_upscales(node))
      refuse(node, "antialias=1 with mode=" + mode,
             "its antialiasing filter for downscaling has no opset-17 form, and vkbnn has none; export with "
             "antialias=0");
    changed |= remove_attr(node, "antialias");
    const std::string policy = attr_string(node, "keep_aspect_ratio_policy", "stretch");
    const bool sizes = has_input(node, 3) && !empty_constant(node.input(3));
    if (policy != "stretch" && sizes)
      refuse(node, "keep_aspect_ratio_policy=" + policy,
             "sizes scaled to keep the aspect ratio have no opset-17 form; export with the sizes themselves");
    changed |= remove_attr(node, "keep_aspect_ratio_policy");
    const std::vector<int64_t> axes = attr_ints(node, "axes");
    changed |= remove_attr(node, "axes");
    if (axes.empty()) return changed;
    // The roi, scales and sizes of the named axes become those of every axis (the others keep
    // their size). The roi matters only to tf_crop_and_resize.
    if (has_input(node, 1)) {
      if (attr_string(node, "coordinate_transformation_mode", "half_pixel") == "tf_crop_and_resize")
        refuse(node, "axes with coordinate_transformation_mode=tf_crop_and_resize",
               "vkbnn does not crop in a resize");
      node.set_input(1, "");
    }
    const std::string base = stem(node) + "_resize";
    const std::string rank = rank_of(node.input(0), base);
    const std::string given = constant(base + "_axes", int64s({static_cast<int64_t>(axes.size())}, axes));
    const std::string slots = column(normalized(given, rank, base), base);
    if (has_input(node, 2) && !empty_constant(node.input(2))) {
      onnx::NodeProto ones = make("ConstantOfShape", {rank}, base + "_ones");
      auto* value = ones.add_attribute();
      value->set_name("value");
      value->set_type(onnx::AttributeProto_AttributeType_TENSOR);
      Constant one;
      one.dims = {1};
      one.f = {1.0f};
      *value->mutable_t() = constant_to_proto("", one);
      node.set_input(2, add("ScatterND", {emit(std::move(ones)), slots, node.input(2)}, base + "_all_scales"));
    }
    if (sizes)
      node.set_input(3, add("ScatterND", {add("Shape", {node.input(0)}, base + "_shape"), slots, node.input(3)},
                            base + "_all_sizes"));
    return true;
  }

  // Mish (a function in opset 18): x * tanh(softplus(x)), which the fusion pass makes one activation.
  bool mish(onnx::NodeProto& node) {
    const std::string x = node.input(0);  // a copy: the node's inputs are replaced
    const std::string base = stem(node) + "_mish";
    const std::string t = add("Tanh", {add("Softplus", {x}, base + "_softplus")}, base + "_tanh");
    node.set_op_type("Mul");
    node.clear_attribute();
    node.mutable_input()->Clear();
    node.add_input(x);
    node.add_input(t);
    return true;
  }

  // antialias changes nothing where every scale enlarges.
  bool only_upscales(const onnx::NodeProto& node) {
    if (has_input(node, 3) && !empty_constant(node.input(3))) return false;
    auto scales = has_input(node, 2) ? constant(node.input(2)) : std::nullopt;
    if (!scales || scales->size() == 0) return false;
    const auto values = scales->floats();
    return std::all_of(values.begin(), values.end(), [](float s) { return s >= 1.0f; });
  }

  // [rank of x], computed by the graph.
  std::string rank_of(const std::string& x, const std::string& base) {
    return add("Shape", {add("Shape", {x}, base + "_shape")}, base + "_rank");
  }

  // Axes in [-rank, rank) as axes in [0, rank): picked from 0..rank-1 by a Gather, whose folding
  // refuses an axis out of that range.
  std::string normalized(const std::string& axes, const std::string& rank, const std::string& base) {
    const std::string positions =
        add("Range", {constant(base + "_zero", int64s({}, {0})), add("Squeeze", {rank}, base + "_rank_scalar"),
                      constant(base + "_one", int64s({}, {1}))},
            base + "_positions");
    return add("Gather", {positions, axes}, base + "_axes_normalized");
  }

  // [k] -> [k, 1]: ScatterND's indices.
  std::string column(const std::string& v, const std::string& base) {
    return add("Unsqueeze", {v, constant(base + "_last_axis", int64s({1}, {1}))}, base + "_indices");
  }

  // What the nodes added for a node are named after: its name, so that an error in them (an axis
  // out of range, found when they are folded) points at it.
  static std::string stem(const onnx::NodeProto& node) { return node.name().empty() ? node.output(0) : node.name(); }

  [[noreturn]] void refuse(const onnx::NodeProto& node, const std::string& what, const std::string& why) {
    unsupported(what + " (opset 18: " + why + ")", node, graph_);
  }

  // The value of an initializer or of a Constant node's output.
  std::optional<Constant> constant(const std::string& name) {
    if (auto it = initializers_.find(name); it != initializers_.end()) return constant_from_proto(*it->second);
    auto it = constant_nodes_.find(name);
    if (it == constant_nodes_.end()) return std::nullopt;
    const onnx::AttributeProto& a = it->second;
    if (a.name() == "value") return constant_from_proto(a.t());
    if (a.name() == "value_ints") return int64s({a.ints_size()}, {a.ints().begin(), a.ints().end()});
    if (a.name() == "value_int") return int64s({}, {a.i()});
    return std::nullopt;
  }

  bool empty_constant(const std::string& name) {
    auto c = constant(name);
    return c && c->size() == 0;
  }

  std::string fresh(const std::string& base) {
    std::string name = base;
    for (int k = 1; names_.count(name); ++k) name = base + "_" + std::to_string(k);
    names_.insert(name);
    return name;
  }

  // A new initializer holding `value`.
  std::string constant(const std::string& base, const Constant& value) {
    const std::string name = fresh(base);
    added_.push_back(constant_to_proto(name, value));
    return name;
  }

  onnx::NodeProto make(const std::string& op, const std::vector<std::string>& inputs, const std::string& base) {
    onnx::NodeProto node;
    node.set_op_type(op);
    const std::string out = fresh(base);
    node.set_name(out);
    for (const auto& in : inputs) node.add_input(in);
    node.add_output(out);
    return node;
  }

  // Places the node before the one being rewritten; returns its output.
  std::string emit(onnx::NodeProto node) {
    std::string out = node.output(0);
    out_.push_back(std::move(node));
    return out;
  }

  std::string add(const std::string& op, const std::vector<std::string>& inputs, const std::string& base) {
    return emit(make(op, inputs, base));
  }

  onnx::GraphProto& g_;
  const ImportedGraph& graph_;
  std::set<std::string> names_;
  std::map<std::string, const onnx::TensorProto*> initializers_;  // into g_, which gains none until run ends
  std::map<std::string, onnx::AttributeProto> constant_nodes_;
  std::vector<onnx::NodeProto> out_;
  std::vector<onnx::TensorProto> added_;
};

}  // namespace

Opset18Rewrite rewrite_opset18_nodes(onnx::ModelProto& model, const ImportedGraph& graph) {
  const Opset18Rewrite result = Rewriter(*model.mutable_graph(), graph).run();
  for (auto& opset : *model.mutable_opset_import())
    if (opset.domain().empty() || opset.domain() == "ai.onnx") opset.set_version(kRewrittenOpset - 1);
  return result;
}

}  // namespace vkbnn::convert::detail
