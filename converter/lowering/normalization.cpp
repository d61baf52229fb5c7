#include <cmath>

#include "lowering/lowerer.hpp"

namespace vkbnn::convert::detail {
namespace {

void batch_norm(Lowerer& l, const onnx::NodeProto& node) {
  if (attr_int(node, "training_mode", 0) != 0) l.fail(node, "training_mode=1");
  for (int k = 1; k < node.output_size(); ++k)
    if (!node.output(k).empty()) l.fail(node, "the training outputs (running mean/var)");
  if (attr_int(node, "spatial", 1) != 1) l.fail(node, "spatial=0");
  const std::string& x = l.activation(node, 0);
  float eps = attr_float(node, "epsilon", 1e-5f);
  auto gamma = l.require_constant(node, 1, "scale").floats();
  auto beta = l.require_constant(node, 2, "bias").floats();
  auto mean = l.require_constant(node, 3, "mean").floats();
  auto var = l.require_constant(node, 4, "variance").floats();
  auto c = static_cast<size_t>(l.shape(x).size() >= 2 ? l.shape(x)[1] : 0);
  if (gamma.size() != c || beta.size() != c || mean.size() != c || var.size() != c)
    l.fail(node, "parameters whose length is not the channel count");
  std::vector<float> scale(c), shift(c);
  for (size_t i = 0; i < c; ++i) {
    scale[i] = static_cast<float>(gamma[i] / std::sqrt(double(var[i]) + eps));
    shift[i] = static_cast<float>(beta[i] - double(mean[i]) * scale[i]);
  }
  std::string name = l.op_name(node);
  auto ci = static_cast<int64_t>(c);
  l.add_op<fb::ChannelAffineT>(
      name,
      {x, l.add_weight(name + "_scale", {ci}, std::move(scale)), l.add_weight(name + "_shift", {ci}, std::move(shift))},
      node.output(0));
}

// ONNX LayerNormalization (opset 17), and what onnx/layer_norm.cpp fuses into it. Scale and
// bias broadcast to the normalized axes; they are stored at their full shape.
void layer_norm(Lowerer& l, const onnx::NodeProto& node) {
  const std::string& x = l.activation(node, 0);
  for (int k = 1; k < node.output_size(); ++k)
    if (!node.output(k).empty()) l.fail(node, "the Mean and InvStdDev outputs");
  const auto rank = static_cast<int64_t>(l.shape(x).size());
  int64_t axis = attr_int(node, "axis", -1);
  if (axis < -rank || axis >= rank) l.fail(node, "axis " + std::to_string(axis) + " out of range");
  if (axis < 0) axis += rank;
  const Shape norm(l.shape(x).begin() + axis, l.shape(x).end());
  auto full = [&](int k, float fallback) {
    if (!l.has(node, k)) return std::vector<float>(static_cast<size_t>(element_count(norm)), fallback);
    const Constant& c = l.require_constant(node, k, k == 1 ? "scale" : "bias");
    Shape dims = c.dims;
    while (dims.size() > norm.size() && dims.front() == 1) dims.erase(dims.begin());
    bool fits = c.is_float && dims.size() <= norm.size();
    for (size_t d = 0; fits && d < dims.size(); ++d) {
      const int64_t target = norm[norm.size() - dims.size() + d];
      fits = dims[d] == 1 || dims[d] == target;
    }
    if (!fits)
      l.fail(node, std::string(k == 1 ? "a scale" : "a bias") + " that does not broadcast to " + shape_string(norm));
    Constant squeezed = c;
    squeezed.dims = dims;
    return expand(squeezed, norm);
  };
  const std::string name = l.op_name(node);
  const std::string scale = l.add_weight(name + "_scale", norm, full(1, 1.0f));
  const std::string bias = l.add_weight(name + "_bias", norm, full(2, 0.0f));
  auto& op = l.add_op<fb::LayerNormT>(name, {x, scale, bias}, node.output(0));
  op.axis = static_cast<int32_t>(axis);
  op.epsilon = attr_float(node, "epsilon", 1e-5f);
}

// InstanceNormalization: a GroupNorm of one channel per group. (GroupNormalization is an opset-18
// op, which Debian's ONNX library cannot read; PyTorch's opset-13 nn.GroupNorm is a Reshape to
// [N, groups, -1], an InstanceNormalization and a per-channel Mul and Add, which run as they are.)
void instance_norm(Lowerer& l, const onnx::NodeProto& node) {
  const std::string& x = l.activation(node, 0);
  const Shape& xs = l.shape(x);
  if (xs.size() < 3) l.fail(node, "an input of rank " + std::to_string(xs.size()) + " (it needs N, C and more)");
  const int64_t channels = xs[1];
  auto per_channel = [&](int k, const char* what) {
    const Constant& c = l.require_constant(node, k, what);
    if (!c.is_float || c.dims != Shape{channels})
      l.fail(node, std::string("a ") + what + " of shape " + shape_string(c.dims) + " (it needs " +
                       std::to_string(channels) + ")");
    return c.f;
  };
  const std::string name = l.op_name(node);
  const std::string scale = l.add_weight(name + "_scale", {channels}, per_channel(1, "scale"));
  const std::string bias = l.add_weight(name + "_bias", {channels}, per_channel(2, "bias"));
  auto& op = l.add_op<fb::GroupNormT>(name, {x, scale, bias}, node.output(0));
  op.groups = static_cast<int32_t>(channels);
  op.epsilon = attr_float(node, "epsilon", 1e-5f);
}

}  // namespace

void register_normalization_lowerings(LoweringTable& table) {
  table.add({"BatchNormalization"}, batch_norm, "inference form; folded into the op before it where one is");
  table.add({"LayerNormalization"}, layer_norm,
            "any axis (the Mean and InvStdDev outputs not); the decomposed ReduceMean/Sub/Pow/Sqrt/Div spelling "
            "fuses into one op, found by evaluating it");
  table.add({"InstanceNormalization"}, instance_norm,
            "any rank; also PyTorch's GroupNorm spelling (Reshape, InstanceNormalization, Reshape, Mul, Add)");
}

}  // namespace vkbnn::convert::detail
