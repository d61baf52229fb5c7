// Element-wise op families: ChannelAffine, Activation, PRelu and Binary, plus the helpers the
// other non-convolution families share (launch grid, operand placement, broadcasting).

#include "ops/elementwise.hpp"
#include "ops/shader_codes.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

namespace vkbnn::detail {
namespace {

// Below this many vec4s per plane, a workgroup per plane would leave most invocations idle.
constexpr uint64_t kMinPlaneVec4s = 16;

std::optional<Broadcast> try_broadcast(const Shape& a, const Shape& b) {
  if (b.size() > a.size()) return std::nullopt;
  const size_t lead = a.size() - b.size();
  auto b_dim = [&](size_t axis) { return axis < lead ? int64_t{1} : b[axis - lead]; };
  std::optional<size_t> first, last;
  for (size_t axis = 0; axis < a.size(); ++axis) {
    if (b_dim(axis) == 1) continue;
    if (b_dim(axis) != a[axis]) return std::nullopt;
    if (!first) first = axis;
    last = axis;
  }
  if (!first) return Broadcast{static_cast<uint64_t>(element_count(a)), 1};
  Broadcast result;
  for (size_t axis = *first; axis <= *last; ++axis) {
    if (b_dim(axis) != a[axis]) return std::nullopt;
    result.count *= static_cast<uint64_t>(a[axis]);
  }
  for (size_t axis = *last + 1; axis < a.size(); ++axis) result.inner *= static_cast<uint64_t>(a[axis]);
  return result;
}

void require_counts(const NodeDesc& desc, size_t inputs) {
  desc.require(desc.inputs.size() == inputs, "expects " + std::to_string(inputs) + " input(s), has " +
                                                 std::to_string(desc.inputs.size()));
  desc.require(desc.outputs.size() == 1, "expects 1 output, has " + std::to_string(desc.outputs.size()));
}

// The element-wise shaders share this layout of their leading specialization constants.
struct ElementwiseLaunch {
  Grid grid;
  std::array<uint32_t, 3> groups{1, 1, 1};
  bool vec4 = false;
  uint32_t count = 0;
  BroadcastFetch fetch = BroadcastFetch::Gather;
};

ElementwiseLaunch elementwise_launch(size_t count, bool aligned) {
  ElementwiseLaunch launch;
  launch.vec4 = aligned && count % 4 == 0;
  launch.count = static_cast<uint32_t>(count);
  launch.grid = grid_for(launch.vec4 ? count / 4 : count);
  launch.groups = {launch.grid.groups, 1, 1};
  return launch;
}

// A launch where operands repeat as b. When each plane of `b.inner` elements takes one operand
// value, a row of workgroups per plane makes that value's address uniform, so the shader reads it
// once per workgroup instead of once per invocation.
ElementwiseLaunch broadcast_launch(size_t count, bool aligned, const Broadcast& b, bool operand_aligned) {
  ElementwiseLaunch launch = elementwise_launch(count, aligned);
  if (!launch.vec4) return launch;
  const uint64_t planes = count / b.inner;
  if (b.inner % 4 == 0 && b.count > 1 && b.inner / 4 >= kMinPlaneVec4s && planes <= 65535) {
    launch.fetch = BroadcastFetch::Plane;
    launch.grid = grid_for(b.inner / 4);
    launch.groups = {launch.grid.groups, static_cast<uint32_t>(planes), 1};
  } else if (b.inner % 4 == 0) {
    launch.fetch = BroadcastFetch::Splat;
  } else if (b.inner == 1 && b.count % 4 == 0 && operand_aligned) {
    launch.fetch = BroadcastFetch::Vec4;
  }
  return launch;
}

}  // namespace

Grid grid_for(size_t items) {
  const size_t groups = std::clamp<size_t>((items + kLocalSize - 1) / kLocalSize, 1, 65535);
  return {static_cast<uint32_t>(groups), static_cast<uint32_t>(groups * kLocalSize)};
}

void check_activation_params(const NodeDesc& desc, const fb::Activation* activation) {
  if (!activation) return;
  const auto kind = activation->kind();
  desc.require(kind >= fb::ActivationKind::MIN && kind <= fb::ActivationKind::MAX,
               "unknown activation kind " + std::to_string(static_cast<int>(kind)));
  const float alpha = activation->alpha(), beta = activation->beta();
  const std::string name = fb::EnumNameActivationKind(kind);
  switch (kind) {
    case fb::ActivationKind::Clip:
      desc.require(!std::isnan(alpha) && !std::isnan(beta) && alpha <= beta,
                   "Clip needs min <= max, has min " + std::to_string(alpha) + " and max " + std::to_string(beta));
      break;
    case fb::ActivationKind::LeakyRelu:
      desc.require(std::isfinite(alpha), name + " needs a finite alpha");
      break;
    case fb::ActivationKind::HardSigmoid:
      desc.require(std::isfinite(alpha) && std::isfinite(beta), name + " needs finite alpha and beta");
      break;
    default:
      break;
  }
}

ActivationSpec activation_spec(const fb::Activation* activation) {
  if (!activation) return {};
  return {static_cast<uint32_t>(activation->kind()), activation->alpha(), activation->beta()};
}

Operand place_operand(const NodeLowering& lowering, size_t input) {
  if (const auto& data = lowering.constants[input]) return {lowering.weights.add(*data), true};
  return {lowering.inputs[input].offset, false};
}

bool vec4_aligned(std::initializer_list<uint32_t> offsets) {
  return std::all_of(offsets.begin(), offsets.end(), [](uint32_t o) { return o % 4 == 0; });
}

Broadcast broadcast_of(const NodeDesc& desc, const Shape& a, const Shape& b, const char* what) {
  auto result = try_broadcast(a, b);
  if (!result)
    desc.fail(std::string(what) + " of shape " + shape_string(b) + " does not broadcast onto " + shape_string(a) +
              " (supported: one value, one per channel, the full shape, or equal to it on one run of axes)");
  return *result;
}

Broadcast broadcast_of(const Shape& a, const Shape& b) { return *try_broadcast(a, b); }

namespace {

// ChannelAffine: inputs X [N, C, ...], scale [C], shift [C] (constants).

void check_channel_affine(const NodeDesc& desc) {
  require_counts(desc, 3);
  const Shape& x = desc.inputs[0];
  desc.require(x.size() >= 2, "input must have rank >= 2 (channels on axis 1), has " + shape_string(x));
  for (size_t i : {1, 2}) {
    const char* name = i == 1 ? "scale" : "shift";
    desc.require(desc.inputs[i] == Shape{x[1]}, std::string(name) + " must have shape [" + std::to_string(x[1]) +
                                                   "], has " + shape_string(desc.inputs[i]));
  }
  desc.require(desc.outputs[0] == x, "output shape " + shape_string(desc.outputs[0]) + " differs from input " +
                                         shape_string(x));
  check_activation_params(desc, desc.node.params_as_ChannelAffine()->activation());
}

std::vector<Dispatch> lower_channel_affine(const NodeLowering& l) {
  const Shape& x = l.inputs[0].shape;
  const Broadcast per_channel{static_cast<uint64_t>(element_count(Shape(x.begin() + 2, x.end()))),
                              static_cast<uint64_t>(x[1])};
  const uint32_t scale = l.weights.add(*l.constants[1]);
  const uint32_t shift = l.weights.add(*l.constants[2]);
  const uint32_t in = l.inputs[0].offset, out = l.outputs[0].offset;
  auto launch = broadcast_launch(element_count(x), vec4_aligned({in, out}), per_channel, vec4_aligned({scale, shift}));
  auto act = activation_spec(l.node.params_as_ChannelAffine()->activation());
  return {make_dispatch<shader::channel_affine>(
      {.COUNT = launch.count,
       .STRIDE = launch.grid.stride,
       .VEC4 = launch.vec4,
       .INNER = static_cast<uint32_t>(per_channel.inner),
       .CHANNELS = static_cast<uint32_t>(per_channel.count),
       .FETCH = static_cast<uint32_t>(launch.fetch),
       .ACT_KIND = act.kind,
       .ACT_ALPHA = act.alpha,
       .ACT_BETA = act.beta},
      {.IN_OFF = in, .OUT_OFF = out, .SCALE_OFF = scale, .SHIFT_OFF = shift}, launch.groups)};
}

// Activation: any rank, element-wise.

void check_activation(const NodeDesc& desc) {
  require_counts(desc, 1);
  desc.require(desc.outputs[0] == desc.inputs[0], "output shape " + shape_string(desc.outputs[0]) +
                                                      " differs from input " + shape_string(desc.inputs[0]));
  const auto* activation = desc.node.params_as_ActivationOp()->activation();
  desc.require(activation->kind() != fb::ActivationKind::None, "activation kind is None");
  check_activation_params(desc, activation);
}

std::vector<Dispatch> lower_activation(const NodeLowering& l) {
  const uint32_t in = l.inputs[0].offset, out = l.outputs[0].offset;
  auto launch = elementwise_launch(element_count(l.inputs[0].shape), vec4_aligned({in, out}));
  auto act = activation_spec(l.node.params_as_ActivationOp()->activation());
  return {make_dispatch<shader::activation>({.COUNT = launch.count,
                                              .STRIDE = launch.grid.stride,
                                              .VEC4 = launch.vec4,
                                              .ACT_KIND = act.kind,
                                              .ACT_ALPHA = act.alpha,
                                              .ACT_BETA = act.beta},
                                             {.IN_OFF = in, .OUT_OFF = out}, {launch.grid.groups, 1, 1})};
}

// PRelu and Binary share binary_elementwise.comp: Y = op(A, B) with B broadcast onto A.

// Operation codes of binary_elementwise.comp: fb::BinaryKind, then PRelu (OP_PRELU there).
constexpr uint32_t kOpPRelu = static_cast<uint32_t>(fb::BinaryKind::MAX) + 1;

Dispatch binary_dispatch(const NodeLowering& l, uint32_t op, const fb::Activation* activation) {
  const Shape& out_shape = l.outputs[0].shape;
  const Operand a = place_operand(l, 0);
  const Operand b = place_operand(l, 1);
  const uint32_t out = l.outputs[0].offset;
  const Broadcast bcast = broadcast_of(out_shape, l.inputs[1].shape);
  auto launch =
      broadcast_launch(element_count(out_shape), vec4_aligned({a.offset, out}), bcast, vec4_aligned({b.offset}));
  auto act = activation_spec(activation);
  return make_dispatch<shader::binary_elementwise>({.COUNT = launch.count,
                                                   .STRIDE = launch.grid.stride,
                                                   .VEC4 = launch.vec4,
                                                   .A_IN_WEIGHTS = a.in_weights,
                                                   .B_IN_WEIGHTS = b.in_weights,
                                                   .B_INNER = static_cast<uint32_t>(bcast.inner),
                                                   .B_COUNT = static_cast<uint32_t>(bcast.count),
                                                   .B_FETCH = static_cast<uint32_t>(launch.fetch),
                                                   .OP = op,
                                                   .ACT_KIND = act.kind,
                                                   .ACT_ALPHA = act.alpha,
                                                   .ACT_BETA = act.beta},
                                                  {.A_OFF = a.offset, .B_OFF = b.offset, .OUT_OFF = out},
                                                  launch.groups);
}

// A (input 0) fills the output: the same shape, up to leading axes of length 1 (a constant
// may be stored as [C, H, W] for a [1, C, H, W] output). B (input 1) broadcasts onto it.
void check_broadcast_pair(const NodeDesc& desc, const char* b_name) {
  require_counts(desc, 2);
  const Shape& a = desc.inputs[0];
  const Shape& out = desc.outputs[0];
  const bool a_fills = try_broadcast(out, a) && element_count(a) == element_count(out);
  desc.require(a_fills, "output shape " + shape_string(out) + " differs from input 0's " + shape_string(a) +
                            " (only input 1 may be broadcast; the converter orders operands so)");
  broadcast_of(desc, out, desc.inputs[1], b_name);
}

void check_prelu(const NodeDesc& desc) {
  check_broadcast_pair(desc, "slope");
}

std::vector<Dispatch> lower_prelu(const NodeLowering& l) { return {binary_dispatch(l, kOpPRelu, nullptr)}; }

void check_binary(const NodeDesc& desc) {
  check_broadcast_pair(desc, "input B");
  const auto* params = desc.node.params_as_Binary();
  desc.require(params->kind() >= fb::BinaryKind::MIN && params->kind() <= fb::BinaryKind::MAX,
               "unknown binary kind " + std::to_string(static_cast<int>(params->kind())));
  check_activation_params(desc, params->activation());
}

std::vector<Dispatch> lower_binary(const NodeLowering& l) {
  const auto* params = l.node.params_as_Binary();
  return {binary_dispatch(l, static_cast<uint32_t>(params->kind()), params->activation())};
}

}  // namespace

template <>
const OpKind& op_kind_of<fb::OpParams::ChannelAffine>() {
  static const OpKind kind{.check = check_channel_affine, .lower = lower_channel_affine, .inputs = {{"input X", InputRole::Activation}, {"scale", InputRole::Weight}, {"shift", InputRole::Weight}}, .shapes = [](const ShapeQuery& q) { return q.same_as(0); }};
  return kind;
}

template <>
const OpKind& op_kind_of<fb::OpParams::ActivationOp>() {
  static const OpKind kind{.check = check_activation, .lower = lower_activation, .inputs = kOneActivation, .shapes = [](const ShapeQuery& q) { return q.same_as(0); }};
  return kind;
}

template <>
const OpKind& op_kind_of<fb::OpParams::PRelu>() {
  static const OpKind kind{.check = check_prelu, .lower = lower_prelu, .inputs = {{"input X", InputRole::Activation}, {"slope"}}, .shapes = [](const ShapeQuery& q) { return std::vector<Shape>{broadcast_inputs(q)}; }};
  return kind;
}

template <>
const OpKind& op_kind_of<fb::OpParams::Binary>() {
  static const OpKind kind{.check = check_binary, .lower = lower_binary, .shapes = [](const ShapeQuery& q) { return std::vector<Shape>{broadcast_inputs(q)}; }};
  return kind;
}

}  // namespace vkbnn::detail
