#include "lowering/lowerer.hpp"

namespace vkbnn::convert::detail {
namespace {

// ONNX ConvTranspose as the engine's ConvTranspose2D, whose pads say the output's extent: the
// ONNX pads crop it, output_padding (a negative end pad) extends it at the end, and an
// output_shape or auto_pad sets the total padding, split between the two ends as ONNX says.
void conv_transpose(Lowerer& l, const onnx::NodeProto& node) {
  const std::string& x = l.activation(node, 0);
  const Constant& w = l.require_constant(node, 1, "weight");
  const Shape& in = l.shape(x);
  if (in.size() != 4 || w.dims.size() != 4) l.fail(node, "a transposed convolution that is not 2-D");
  std::vector<std::string> inputs{x, l.weight_input(node, 1)};
  if (l.has(node, 2)) {
    l.require_constant(node, 2, "bias");
    inputs.push_back(l.weight_input(node, 2));
  }
  auto& op = l.add_op<fb::ConvTranspose2DT>(l.op_name(node), inputs, node.output(0));
  op.kernel = {static_cast<int32_t>(w.dims[2]), static_cast<int32_t>(w.dims[3])};
  if (find_attr(node, "kernel_shape") && l.pair_attr(node, "kernel_shape", 0) != op.kernel)
    l.fail(node, "kernel_shape that disagrees with the weights");
  op.strides = l.pair_attr(node, "strides", 1);
  op.dilations = l.pair_attr(node, "dilations", 1);
  op.group = static_cast<int32_t>(attr_int(node, "group", 1));
  const std::vector<int32_t> output_padding = l.pair_attr(node, "output_padding", 0);
  const std::vector<int64_t> output_shape = attr_ints(node, "output_shape");
  const std::string auto_pad = attr_string(node, "auto_pad", "NOTSET");
  if (auto_pad != "NOTSET" && auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER" && auto_pad != "VALID")
    l.fail(node, "auto_pad=" + auto_pad);
  if (output_shape.size() != 0 && output_shape.size() != 2)
    l.fail(node, "an output_shape of length " + std::to_string(output_shape.size()));
  op.pads.assign(4, 0);
  if (output_shape.empty() && (auto_pad == "NOTSET" || auto_pad == "VALID")) {
    if (auto_pad == "NOTSET") op.pads = l.pair_pads(node);
    op.pads[2] -= output_padding[0];
    op.pads[3] -= output_padding[1];
    return;
  }
  for (size_t d = 0; d < 2; ++d) {
    const int64_t full = (in[2 + d] - 1) * op.strides[d] + (op.kernel[d] - 1) * op.dilations[d] + 1 + output_padding[d];
    const int64_t target = output_shape.empty() ? in[2 + d] * op.strides[d] : output_shape[d];
    const int64_t total = full - target;
    // A larger output than the transposed convolution covers is zeros (and bias) at the end.
    const int64_t small = total < 0 ? 0 : total / 2, large = total < 0 ? 0 : total - small;
    const int64_t begin = auto_pad == "SAME_UPPER" ? small : large;
    op.pads[d] = static_cast<int32_t>(begin);
    op.pads[d + 2] = static_cast<int32_t>(total - begin - output_padding[d]);
  }
}

}  // namespace

void register_conv_transpose_lowerings(LoweringTable& table) {
  table.add({"ConvTranspose"}, conv_transpose,
            "2-D; strides, dilations, groups, pads, output_padding, output_shape, auto_pad; activations fuse into it");
}

}  // namespace vkbnn::convert::detail
