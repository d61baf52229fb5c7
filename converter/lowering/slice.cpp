#include <algorithm>

#include "lowering/lowerer.hpp"

namespace vkbnn::convert::detail {
namespace {

// A Slice of `axis` from `start`, step 1, as long as the output.
void add_slice(Lowerer& l, const std::string& name, const std::string& x, const std::string& output, int64_t axis,
               int64_t start) {
  auto& op = l.add_op<fb::SliceT>(name, {x}, output);
  op.starts.assign(l.shape(x).size(), 0);
  op.steps.assign(l.shape(x).size(), 1);
  op.starts[static_cast<size_t>(axis)] = start;
}

// One Slice per output, along the split axis.
void split(Lowerer& l, const onnx::NodeProto& node) {
  const std::string& x = l.activation(node, 0);
  const auto rank = static_cast<int64_t>(l.shape(x).size());
  int64_t axis = attr_int(node, "axis", 0);
  if (axis < -rank || axis >= rank) l.fail(node, "axis " + std::to_string(axis) + " out of range");
  if (axis < 0) axis += rank;
  int64_t start = 0;
  for (int k = 0; k < node.output_size(); ++k) {
    const int64_t length = l.shape(node.output(k))[static_cast<size_t>(axis)];
    add_slice(l, l.op_name(node) + "_" + std::to_string(k), x, node.output(k), axis, start);
    start += length;
  }
}

// A Slice that cuts one axis with step 1, from constant starts, ends, axes and steps.
void slice(Lowerer& l, const onnx::NodeProto& node) {
  const std::string& x = l.activation(node, 0);
  const Shape& in = l.shape(x);
  const Shape& out = l.shape(node.output(0));
  std::vector<int64_t> starts, axes, steps;
  if (l.g.opset < 10) {
    starts = attr_ints(node, "starts");
    axes = attr_ints(node, "axes");
  } else {
    starts = l.require_constant(node, 1, "starts").ints();
    l.require_constant(node, 2, "ends");
    if (l.has(node, 3)) axes = l.require_constant(node, 3, "axes").ints();
    if (l.has(node, 4)) steps = l.require_constant(node, 4, "steps").ints();
  }
  if (axes.empty())
    for (size_t d = 0; d < starts.size(); ++d) axes.push_back(static_cast<int64_t>(d));
  if (std::any_of(steps.begin(), steps.end(), [](int64_t s) { return s != 1; })) l.fail(node, "steps other than 1");
  std::vector<int64_t> cut;
  for (size_t d = 0; d < in.size(); ++d)
    if (out[d] != in[d]) cut.push_back(static_cast<int64_t>(d));
  if (cut.size() > 1) l.fail(node, "a slice of several axes");
  if (cut.empty()) return l.add_reshape(l.op_name(node), x, node.output(0), out);
  const int64_t axis = cut[0], rank = static_cast<int64_t>(in.size());
  int64_t start = 0;
  for (size_t k = 0; k < axes.size() && k < starts.size(); ++k)
    if ((axes[k] < 0 ? axes[k] + rank : axes[k]) == axis) start = starts[k];
  // As ONNX clamps: negative counts from the end, then into [0, length].
  const int64_t length = in[static_cast<size_t>(axis)];
  if (start < 0) start += length;
  start = std::clamp<int64_t>(start, 0, length);
  add_slice(l, l.op_name(node), x, node.output(0), axis, start);
}

}  // namespace

void register_slice_lowerings(LoweringTable& table) {
  table.add({"Split"}, split, "any axis; sizes as attribute or input (ShuffleNetV2's channel split)");
  table.add({"Slice"}, slice, "one axis, step 1");
}

}  // namespace vkbnn::convert::detail
