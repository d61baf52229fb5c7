// 1-D convolutions, transposed convolutions and pooling (Conv1d, ConvTranspose1d, MaxPool1d,
// AvgPool1d of audio and keyword-spotting CNNs) as their 2-D forms over a unit height: X [N, C, L]
// is seen as [N, C, 1, L], the weights [M, C/g, K] as [M, C/g, 1, K], each per-axis attribute
// gains a leading axis that does nothing (kernel 1, stride 1, dilation 1, no padding), and the
// result is seen as [N, M, L'] again. The Reshapes around the node move no data.

#include <algorithm>

#include "ir.hpp"

namespace vkbnn::convert::detail {
namespace {

class Lift {
 public:
  explicit Lift(ImportedGraph& graph) : g_(graph) {}

  void run() {
    std::vector<onnx::NodeProto> nodes;
    for (auto& node : g_.nodes) {
      if (!liftable(node)) {
        nodes.push_back(std::move(node));
        continue;
      }
      lift(node, nodes);
    }
    g_.nodes = std::move(nodes);
  }

 private:
  bool liftable(const onnx::NodeProto& node) const {
    static const std::set<std::string> kOps = {"Conv", "ConvTranspose", "MaxPool", "AveragePool"};
    if (!kOps.count(node.op_type()) || node.input_size() < 1 || node.output_size() < 1) return false;
    const auto x = g_.shapes.find(node.input(0));
    if (x == g_.shapes.end() || x->second.size() != 3) return false;
    if (node.op_type() == "Conv" || node.op_type() == "ConvTranspose") {
      // Computed weights stay as they are, for the lowering to refuse.
      const auto w = node.input_size() > 1 ? g_.constants.find(node.input(1)) : g_.constants.end();
      if (w == g_.constants.end()) return false;
      if (w->second.dims.size() != 3) unsupported("weights of shape " + shape_string(w->second.dims) +
                                                  " for a 1-D input", node, g_);
    }
    return true;
  }

  std::string fresh(const std::string& base) const {
    std::string name = base;
    for (int k = 1; g_.shapes.count(name) || g_.constants.count(name); ++k) name = base + "_" + std::to_string(k);
    return name;
  }

  // A Reshape of `from` to `to` with shape `dims`, as the lowering reads it (its target a
  // constant, the output's shape recorded).
  onnx::NodeProto reshape(const std::string& name, const std::string& from, const std::string& to, const Shape& dims) {
    Constant target;
    target.is_float = false;
    target.dims = {static_cast<int64_t>(dims.size())};
    target.i = dims;
    const std::string target_name = fresh(to + "_shape");
    g_.constants[target_name] = std::move(target);
    g_.shapes[to] = dims;
    onnx::NodeProto node;
    if (!name.empty()) node.set_name(name);
    node.set_op_type("Reshape");
    node.add_input(from);
    node.add_input(target_name);
    node.add_output(to);
    return node;
  }

  // The per-axis attribute `name` of one value (or `per_axis` values per axis, as pads have two)
  // with the unit axis' `unit` in front.
  void widen(onnx::NodeProto& node, const std::string& name, int per_axis, int64_t unit) {
    for (auto& attr : *node.mutable_attribute()) {
      if (attr.name() != name) continue;
      if (attr.ints_size() != per_axis)
        unsupported(name + " of length " + std::to_string(attr.ints_size()) + " for a 1-D input (it needs " +
                        std::to_string(per_axis) + ")",
                    node, g_);
      std::vector<int64_t> values(attr.ints().begin(), attr.ints().end());
      attr.clear_ints();
      for (int k = 0; k < per_axis; ++k) {
        attr.add_ints(unit);
        attr.add_ints(values[static_cast<size_t>(k)]);
      }
    }
  }

  void lift(onnx::NodeProto& node, std::vector<onnx::NodeProto>& out) {
    const std::string label = node.name();
    const Shape x = g_.shapes.at(node.input(0));
    const std::string x2 = fresh(node.input(0) + "_2d");
    out.push_back(reshape(label.empty() ? "" : label + "_to_2d", node.input(0), x2, {x[0], x[1], 1, x[2]}));
    node.set_input(0, x2);
    if (node.op_type() == "Conv" || node.op_type() == "ConvTranspose") {
      Constant w = g_.constants.at(node.input(1));
      w.dims.insert(w.dims.begin() + 2, 1);
      const std::string w2 = fresh(node.input(1) + "_2d");
      g_.constants[w2] = std::move(w);
      node.set_input(1, w2);
    }
    widen(node, "kernel_shape", 1, 1);
    widen(node, "strides", 1, 1);
    widen(node, "dilations", 1, 1);
    // ONNX pads are all begins, then all ends: [b, e] becomes [0, b, 0, e].
    widen(node, "pads", 2, 0);
    widen(node, "output_padding", 1, 0);
    widen(node, "output_shape", 1, 1);
    const std::string y = node.output(0);
    const Shape ys = g_.shapes.at(y);
    if (ys.size() != 3) unsupported("an output of shape " + shape_string(ys) + " for a 1-D input", node, g_);
    const std::string y2 = fresh(y + "_2d");
    g_.shapes[y2] = {ys[0], ys[1], 1, ys[2]};
    if (auto it = g_.node_index.find(y); it != g_.node_index.end()) g_.node_index[y2] = it->second;
    node.set_output(0, y2);
    out.push_back(std::move(node));
    out.push_back(reshape(label.empty() ? "" : label + "_to_1d", y2, y, ys));
  }

  ImportedGraph& g_;
};

}  // namespace

void lift_1d_ops(ImportedGraph& graph) { Lift(graph).run(); }

}  // namespace vkbnn::convert::detail
