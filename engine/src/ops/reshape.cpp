// Reshape, Flatten, Squeeze and Unsqueeze: the output aliases the input's memory.

#include "ops/op.hpp"

namespace vkbnn::detail {
namespace {

void check_reshape(const NodeDesc& desc) {
  desc.require(desc.inputs.size() == 1 && desc.outputs.size() == 1, "expects 1 input and 1 output");
  desc.require(!desc.input_is_constant[0], "input must not be a constant");
  desc.require(element_count(desc.inputs[0]) == element_count(desc.outputs[0]),
               "cannot reshape " + shape_string(desc.inputs[0]) + " into " + shape_string(desc.outputs[0]) +
                   ": the element counts differ");
}

}  // namespace

template <>
const OpKind& op_kind_of<fb::OpParams::Reshape>() {
  static const OpKind kind{.check = check_reshape,
                           .alias = true,
                           .precision = [](const NodeDesc&) { return Precision::None; }};
  return kind;
}

}  // namespace vkbnn::detail
