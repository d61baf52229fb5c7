#include "lowering/lowerer.hpp"

namespace vkbnn::convert::detail {
namespace {

void conv(Lowerer& l, const onnx::NodeProto& node) {
  const std::string& x = l.activation(node, 0);
  const Constant& w = l.require_constant(node, 1, "weight");
  if (l.shape(x).size() != 4 || w.dims.size() != 4) l.fail(node, "a convolution that is not 2-D");
  std::vector<std::string> inputs{x, l.weight_input(node, 1)};
  if (l.has(node, 2)) {
    l.require_constant(node, 2, "bias");
    inputs.push_back(l.weight_input(node, 2));
  }
  l.conv_geometry(node, l.shape(x), w.dims, l.add_op<fb::Conv2DT>(l.op_name(node), inputs, node.output(0)));
}

}  // namespace

void register_conv_lowerings(LoweringTable& table) {
  table.add({"Conv"}, conv,
            "2-D; groups, dilation, any padding; BatchNormalization, activations and a "
            "residual Add fuse into it");
}

}  // namespace vkbnn::convert::detail
