#include <algorithm>

#include "lowering/lowerer.hpp"

namespace vkbnn::convert::detail {
namespace {

void pad(Lowerer& l, const onnx::NodeProto& node) {
  const std::string& x = l.activation(node, 0);
  std::vector<int64_t> pads;
  float value = 0;
  if (l.g.opset < 11) {
    pads = attr_ints(node, l.g.opset < 2 ? "paddings" : "pads");
    value = attr_float(node, "value", 0.0f);
  } else {
    pads = l.require_constant(node, 1, "pads").ints();
    value = l.scalar_input(node, 2, 0.0f);
    if (l.has(node, 3)) l.fail(node, "the axes input");
  }
  if (pads.size() != 2 * l.shape(x).size()) l.fail(node, "pads that do not cover every axis");
  if (std::any_of(pads.begin(), pads.end(), [](int64_t v) { return v < 0; })) l.fail(node, "negative pads");
  // PyTorch exports ceil-mode pooling as a Pad of nothing in front of the pool.
  if (std::all_of(pads.begin(), pads.end(), [](int64_t v) { return v == 0; }))
    return l.add_reshape(l.op_name(node), x, node.output(0), l.shape(x));
  std::string mode = attr_string(node, "mode", "constant");
  auto& op = l.add_op<fb::PadT>(l.op_name(node), {x}, node.output(0));
  if (mode == "constant")
    op.mode = fb::PadMode::Constant;
  else if (mode == "reflect")
    op.mode = fb::PadMode::Reflect;
  else if (mode == "edge")
    op.mode = fb::PadMode::Edge;
  else
    l.fail(node, "mode=" + mode);
  op.pads = pads;
  op.value = value;
}

}  // namespace

void register_pad_lowerings(LoweringTable& table) {
  table.add({"Pad"}, pad, "constant, reflect and edge modes; pads as attribute or input");
}

}  // namespace vkbnn::convert::detail
