#include <algorithm>
#include <map>
#include <numeric>

#include "lowering/lowerer.hpp"

namespace vkbnn::convert::detail {
namespace {

// ReduceMean/ReduceMax over every axis after N and C is global pooling; any other reduction a
// Reduce op. Axes are an attribute up to opset 12 and an input from opset 13 (ReduceSum) or 18
// (the others); no axes reduce all of them unless noop_with_empty_axes says they reduce none.
void reduce(Lowerer& l, const onnx::NodeProto& node) {
  const std::string& x = l.activation(node, 0);
  const auto rank = static_cast<int64_t>(l.shape(x).size());
  std::vector<int64_t> axes = l.has(node, 1) ? l.require_constant(node, 1, "axes").ints() : attr_ints(node, "axes");
  const bool keep = attr_int(node, "keepdims", 1) != 0;
  if (axes.empty()) {
    if (attr_int(node, "noop_with_empty_axes", 0) != 0)
      return l.add_reshape(l.op_name(node), x, node.output(0), l.shape(node.output(0)));
    axes.resize(static_cast<size_t>(rank));
    std::iota(axes.begin(), axes.end(), 0);
  }
  for (auto& a : axes) {
    if (a < -rank || a >= rank) l.fail(node, "axis " + std::to_string(a) + " out of range");
    if (a < 0) a += rank;
  }
  std::sort(axes.begin(), axes.end());
  if (std::adjacent_find(axes.begin(), axes.end()) != axes.end()) l.fail(node, "an axis named twice");
  const std::string& type = node.op_type();
  std::vector<int64_t> spatial(static_cast<size_t>(std::max<int64_t>(rank - 2, 0)));
  std::iota(spatial.begin(), spatial.end(), 2);
  const std::string name = l.op_name(node);
  if (rank >= 3 && axes == spatial && (type == "ReduceMean" || type == "ReduceMax")) {
    Shape pooled(l.shape(x).begin(), l.shape(x).begin() + 2);
    pooled.resize(static_cast<size_t>(rank), 1);
    std::string out = keep ? node.output(0) : l.p.fresh_name(node.output(0) + "_pooled");
    l.p.shapes[out] = pooled;
    l.add_op<fb::GlobalPoolT>(name, {x}, out).kind = type == "ReduceMax" ? fb::PoolKind::Max : fb::PoolKind::Average;
    if (!keep) l.add_reshape(name + "_squeeze", out, node.output(0), l.shape(node.output(0)));
    return;
  }
  static const std::map<std::string, fb::ReduceKind> kinds = {{"ReduceMean", fb::ReduceKind::Mean},
                                                              {"ReduceSum", fb::ReduceKind::Sum},
                                                              {"ReduceMax", fb::ReduceKind::Max},
                                                              {"ReduceMin", fb::ReduceKind::Min},
                                                              {"ReduceL1", fb::ReduceKind::L1},
                                                              {"ReduceL2", fb::ReduceKind::L2},
                                                              {"ReduceSumSquare", fb::ReduceKind::SumSquare}};
  auto& op = l.add_op<fb::ReduceT>(name, {x}, node.output(0));
  op.kind = kinds.at(type);
  op.axes.assign(axes.begin(), axes.end());
  op.keep_dims = keep;
}

}  // namespace

void register_reduce_lowerings(LoweringTable& table) {
  table.add({"ReduceMean", "ReduceMax", "ReduceSum", "ReduceMin", "ReduceL1", "ReduceL2", "ReduceSumSquare"}, reduce,
            "any axes (attribute or input), keepdims; over H and W as global pooling");
}

}  // namespace vkbnn::convert::detail
