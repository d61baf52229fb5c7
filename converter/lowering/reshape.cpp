#include "lowering/lowerer.hpp"

namespace vkbnn::convert::detail {
namespace {

// Identity and Dropout (without its mask) included: the same elements under a new name.
void reshape(Lowerer& l, const onnx::NodeProto& node) {
  if (node.output_size() > 1 && !node.output(1).empty()) l.fail(node, "the mask output");
  l.add_reshape(l.op_name(node), l.activation(node, 0), node.output(0), l.shape(node.output(0)));
}

}  // namespace

void register_reshape_lowerings(LoweringTable& table) {
  table.add({"Flatten", "Reshape", "Squeeze", "Unsqueeze", "Identity", "Dropout"}, reshape,
            "free: the same memory seen with another shape");
}

}  // namespace vkbnn::convert::detail
