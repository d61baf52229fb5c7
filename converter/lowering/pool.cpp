#include "lowering/lowerer.hpp"

namespace vkbnn::convert::detail {
namespace {

void pool(Lowerer& l, const onnx::NodeProto& node) {
  const std::string& x = l.activation(node, 0);
  if (l.shape(x).size() != 4) l.fail(node, "pooling that is not 2-D");
  if (node.output_size() > 1 && !node.output(1).empty()) l.fail(node, "the Indices output");
  if (attr_int(node, "storage_order", 0) != 0) l.fail(node, "storage_order=1");
  auto& op = l.add_op<fb::Pool2DT>(l.op_name(node), {x}, node.output(0));
  op.kind = node.op_type() == "MaxPool" ? fb::PoolKind::Max : fb::PoolKind::Average;
  op.kernel = l.pair_attr(node, "kernel_shape", 0);
  op.strides = l.pair_attr(node, "strides", 1);
  op.dilations = l.pair_attr(node, "dilations", 1);
  op.count_include_pad = attr_int(node, "count_include_pad", 0) != 0;
  op.pads = l.resolve_pads(node, l.shape(x), op.kernel, op.strides, op.dilations);
}

void global_pool(Lowerer& l, const onnx::NodeProto& node) {
  const std::string& x = l.activation(node, 0);
  if (l.shape(x).size() < 3) l.fail(node, "global pooling of a tensor without spatial axes");
  l.add_op<fb::GlobalPoolT>(l.op_name(node), {x}, node.output(0)).kind =
      node.op_type() == "GlobalMaxPool" ? fb::PoolKind::Max : fb::PoolKind::Average;
}

}  // namespace

void register_pool_lowerings(LoweringTable& table) {
  table.add({"MaxPool", "AveragePool"}, pool, "2-D; strides, dilations, any padding, ceil mode, count_include_pad");
  table.add({"GlobalAveragePool", "GlobalMaxPool"}, global_pool, "over every axis after N and C");
}

}  // namespace vkbnn::convert::detail
