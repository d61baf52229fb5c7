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

void expand_op(Lowerer& l, const onnx::NodeProto& node) {
  const std::string& x = l.activation(node, 0);
  l.require_constant(node, 1, "shape");
  if (l.shape(x).size() > l.shape(node.output(0)).size()) l.fail(node, "an Expand to a lower rank");
  l.add_expand(l.op_name(node), x, node.output(0));
}

}  // namespace

void register_tile_lowerings(LoweringTable& table) {
  table.add({"Tile"}, tile, "up to rank 6; also the channel matching of an Elastic-Link block");
  table.add({"Expand"}, expand_op, "up to rank 6; also the channel matching of an Elastic-Link block");
}

}  // namespace vkbnn::convert::detail
