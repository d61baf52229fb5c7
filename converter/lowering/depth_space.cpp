#include "lowering/lowerer.hpp"

namespace vkbnn::convert::detail {
namespace {

// DepthToSpace and SpaceToDepth of NCHW tensors as the Reshape, Transpose, Reshape that define
// them: DCR reads the channel as [block, block, C'], CRD as [C', block, block].
void depth_space(Lowerer& l, const onnx::NodeProto& node) {
  const std::string& x = l.activation(node, 0);
  const Shape& in = l.shape(x);
  if (in.size() != 4) l.fail(node, "a tensor that is not NCHW");
  const int64_t b = attr_int(node, "blocksize", 0);
  if (b < 1) l.fail(node, "blocksize " + std::to_string(b));
  const int64_t n = in[0], c = in[1], h = in[2], w = in[3];
  Shape split;
  std::vector<int32_t> perm;
  if (node.op_type() == "DepthToSpace") {
    if (c % (b * b) != 0) l.fail(node, "channels that blocksize^2 does not divide");
    const bool crd = attr_string(node, "mode", "DCR") == "CRD";
    if (!crd && attr_string(node, "mode", "DCR") != "DCR") l.fail(node, "mode=" + attr_string(node, "mode", ""));
    split = crd ? Shape{n, c / (b * b), b, b, h, w} : Shape{n, b, b, c / (b * b), h, w};
    perm = crd ? std::vector<int32_t>{0, 1, 4, 2, 5, 3} : std::vector<int32_t>{0, 3, 4, 1, 5, 2};
  } else {
    if (h % b != 0 || w % b != 0) l.fail(node, "a height or width that blocksize does not divide");
    split = {n, c, h / b, b, w / b, b};
    perm = {0, 3, 5, 1, 2, 4};
  }
  const std::string name = l.op_name(node);
  const std::string blocks = l.p.fresh_name(x + "_blocks");
  l.add_reshape(name + "_blocks", x, blocks, split);
  Shape moved;
  for (int32_t p : perm) moved.push_back(split[static_cast<size_t>(p)]);
  const std::string transposed = l.p.fresh_name(node.output(0) + "_blocks");
  l.p.shapes[transposed] = moved;
  l.add_op<fb::TransposeT>(name, {blocks}, transposed).perm = perm;
  l.add_reshape(name + "_merge", transposed, node.output(0), l.shape(node.output(0)));
}

}  // namespace

void register_depth_space_lowerings(LoweringTable& table) {
  table.add({"DepthToSpace", "SpaceToDepth"}, depth_space, "NCHW; DCR and CRD modes");
}

}  // namespace vkbnn::convert::detail
