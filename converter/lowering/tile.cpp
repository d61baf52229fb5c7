#include <algorithm>

#include "lowering/lowerer.hpp"

namespace vkbnn::convert::detail {
namespace {

void tile(Lowerer& l, const onnx::NodeProto& node) {
  const std::string& x = l.activation(node, 0);
  std::vector<int64_t> repeats = l.require_constant(node, 1, "repeats").ints();
  if (repeats.size() != l.shape(x).size() ||
      std::any_of(repeats.begin(), repeats.end(), [](int64_t r) { return r < 1; }))
    l.fail(node, "repeats that do not give one positive count per axis");
  l.add_op<pattern::Tile>(l.op_name(node), {x}, node.output(0)).repeats = repeats;
}

// Broadcasting to the input's own shape copies nothing.
void expand_op(Lowerer& l, const onnx::NodeProto& node) {
  const std::string& x = l.activation(node, 0);
  l.require_constant(node, 1, "shape");
  if (l.shape(x) == l.shape(node.output(0))) return l.add_reshape(l.op_name(node), x, node.output(0), l.shape(x));
  const Shape& out = l.shape(node.output(0));
  if (l.shape(x).size() > out.size()) l.fail(node, "an Expand to a lower rank");
  std::string in = x;
  // Broadcasting aligns the shapes at the right: leading axes of length 1 first.
  if (l.shape(x).size() < out.size()) {
    Shape padded(out.size() - l.shape(x).size(), 1);
    padded.insert(padded.end(), l.shape(x).begin(), l.shape(x).end());
    in = l.p.fresh_name(x + "_ranked");
    l.add_reshape(l.op_name(node) + "_ranked", x, in, padded);
  }
  l.add_op<pattern::Expand>(l.op_name(node), {in}, node.output(0));
}

}  // namespace

void register_tile_lowerings(LoweringTable& table) {
  table.add({"Tile"}, tile, "up to rank 6; also the channel matching of an Elastic-Link block");
  table.add({"Expand"}, expand_op, "up to rank 6; also the channel matching of an Elastic-Link block");
}

}  // namespace vkbnn::convert::detail
