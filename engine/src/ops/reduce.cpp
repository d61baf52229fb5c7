// Reductions over any set of axes (Reduce) and the normalizations built on them (LayerNorm,
// GroupNorm and so InstanceNorm), which share normalize.comp.

#include <algorithm>
#include <cmath>

#include "ops/elementwise.hpp"

namespace vkbnn::detail {

namespace {

// reduce.comp addresses the input as at most this many axes.
constexpr size_t kMaxGroups = 6;

// The input's axes with neighbours of the same kind (reduced or kept) merged and axes of length
// 1 dropped: the shader then walks at most one group per alternation.
struct Groups {
  std::vector<uint32_t> dims;
  std::vector<bool> reduced;
};

Groups merge_axes(const Shape& x, const std::vector<bool>& reduced) {
  Groups g;
  for (size_t d = 0; d < x.size(); ++d) {
    if (x[d] == 1) continue;
    if (!g.dims.empty() && g.reduced.back() == reduced[d]) {
      g.dims.back() *= static_cast<uint32_t>(x[d]);
    } else {
      g.dims.push_back(static_cast<uint32_t>(x[d]));
      g.reduced.push_back(reduced[d]);
    }
  }
  return g;
}

std::vector<bool> reduced_axes(const fb::Reduce& params, size_t rank) {
  std::vector<bool> reduced(rank, false);
  for (int32_t a : *params.axes()) reduced[static_cast<size_t>(a)] = true;
  return reduced;
}

void check_reduce(const NodeDesc& desc) {
  desc.require(desc.inputs.size() == 1 && desc.outputs.size() == 1, "expects 1 input and 1 output");
  const auto* params = desc.node.params_as_Reduce();
  const Shape& x = desc.inputs[0];
  desc.require(fb::EnumNameReduceKind(params->kind())[0] != '\0', "unknown reduction kind");
  const auto& axes = *params->axes();
  desc.require(axes.size() >= 1, "reduces no axes");
  for (size_t i = 0; i < axes.size(); ++i) {
    desc.require(axes[i] >= 0 && static_cast<size_t>(axes[i]) < x.size(),
                 "axis " + std::to_string(axes[i]) + " is out of range for input " + shape_string(x));
    desc.require(i == 0 || axes[i] > axes[i - 1], "axes must be sorted and distinct");
  }
  const std::vector<bool> reduced = reduced_axes(*params, x.size());
  Shape expected;
  for (size_t d = 0; d < x.size(); ++d)
    if (!reduced[d]) expected.push_back(x[d]);
    else if (params->keep_dims()) expected.push_back(1);
  if (expected.empty()) expected.push_back(1);
  desc.require(desc.outputs[0] == expected, "output shape " + shape_string(desc.outputs[0]) + " is not " +
                                                shape_string(expected) + ", " + shape_string(x) + " reduced");
  desc.require(merge_axes(x, reduced).dims.size() <= kMaxGroups,
               "the reduced and kept axes alternate more than " + std::to_string(kMaxGroups) + " times");
}

std::vector<Dispatch> lower_reduce(const NodeLowering& l) {
  const auto* params = l.node.params_as_Reduce();
  const Shape& x = l.inputs[0].shape;
  const Groups g = merge_axes(x, reduced_axes(*params, x.size()));
  // Pad at the front with kept axes of length 1, which the shader ignores.
  std::vector<uint32_t> dims(kMaxGroups - g.dims.size(), 1);
  dims.insert(dims.end(), g.dims.begin(), g.dims.end());
  uint32_t mask = 0;
  for (size_t i = 0; i < g.reduced.size(); ++i)
    if (g.reduced[i]) mask |= 1u << (kMaxGroups - g.dims.size() + i);
  const size_t outputs = element_count(l.outputs[0].shape);
  const Grid grid = grid_for(outputs);
  return {make_dispatch<shader::reduce>({.COUNT = static_cast<uint32_t>(outputs),
                                         .STRIDE = grid.stride,
                                         .KIND = static_cast<uint32_t>(params->kind()),
                                         .REDUCED = static_cast<uint32_t>(element_count(x) / outputs),
                                         .MASK = mask,
                                         .DIM0 = dims[0],
                                         .DIM1 = dims[1],
                                         .DIM2 = dims[2],
                                         .DIM3 = dims[3],
                                         .DIM4 = dims[4],
                                         .DIM5 = dims[5]},
                                        {.IN_OFF = l.inputs[0].offset, .OUT_OFF = l.outputs[0].offset},
                                        {grid.groups, 1, 1})};
}

size_t normalized_from(const fb::LayerNorm& params, size_t rank) {
  const int32_t axis = params.axis();
  return static_cast<size_t>(axis < 0 ? axis + static_cast<int32_t>(rank) : axis);
}

void check_layer_norm(const NodeDesc& desc) {
  desc.require(desc.inputs.size() == 3 && desc.outputs.size() == 1, "expects inputs X, scale, bias and 1 output");
  const auto* params = desc.node.params_as_LayerNorm();
  const Shape& x = desc.inputs[0];
  const auto rank = static_cast<int64_t>(x.size());
  desc.require(rank >= 1 && params->axis() >= -rank && params->axis() < rank,
               "axis " + std::to_string(params->axis()) + " is out of range for input " + shape_string(x));
  desc.require(params->epsilon() >= 0 && std::isfinite(params->epsilon()), "epsilon must be finite and >= 0");
  const Shape normalized(x.begin() + static_cast<ptrdiff_t>(normalized_from(*params, x.size())), x.end());
  for (size_t i : {1, 2}) {
    const char* name = i == 1 ? "scale" : "bias";
    desc.require(desc.inputs[i] == normalized, std::string(name) + " must have shape " + shape_string(normalized) +
                                                   ", has " + shape_string(desc.inputs[i]));
  }
  desc.require(desc.outputs[0] == x,
               "output shape " + shape_string(desc.outputs[0]) + " differs from input " + shape_string(x));
}

std::vector<Dispatch> lower_layer_norm(const NodeLowering& l) {
  const auto* params = l.node.params_as_LayerNorm();
  const Shape& x = l.inputs[0].shape;
  const auto axis = static_cast<ptrdiff_t>(normalized_from(*params, x.size()));
  const size_t rows = element_count(Shape(x.begin(), x.begin() + axis));
  const size_t len = element_count(Shape(x.begin() + axis, x.end()));
  const uint32_t scale = l.weights.add(*l.constants[1]);
  const uint32_t bias = l.weights.add(*l.constants[2]);
  const Grid grid = grid_for(rows);
  return {make_dispatch<shader::normalize>(
      {.ROWS = static_cast<uint32_t>(rows), .STRIDE = grid.stride, .LEN = static_cast<uint32_t>(len),
       .INNER = 1, .CHANNELS = static_cast<uint32_t>(len), .EPSILON = params->epsilon()},
      {.IN_OFF = l.inputs[0].offset, .OUT_OFF = l.outputs[0].offset, .SCALE_OFF = scale, .BIAS_OFF = bias},
      {grid.groups, 1, 1})};
}

// Two passes for the moments and one multiply-add per element for the output.
uint64_t normalize_macs(const NodeDesc& desc) { return 3 * element_count(desc.inputs[0]); }

void check_group_norm(const NodeDesc& desc) {
  desc.require(desc.inputs.size() == 3 && desc.outputs.size() == 1, "expects inputs X, scale, bias and 1 output");
  const auto* params = desc.node.params_as_GroupNorm();
  const Shape& x = desc.inputs[0];
  desc.require(x.size() >= 2, "input " + shape_string(x) + " has no channel axis");
  const int64_t channels = x[1];
  desc.require(params->groups() >= 1 && channels % params->groups() == 0,
               std::to_string(params->groups()) + " groups do not divide " + std::to_string(channels) + " channels");
  desc.require(params->epsilon() >= 0 && std::isfinite(params->epsilon()), "epsilon must be finite and >= 0");
  for (size_t i : {1, 2}) {
    const char* name = i == 1 ? "scale" : "bias";
    desc.require(desc.inputs[i] == Shape{channels}, std::string(name) + " must have shape " +
                                                        std::to_string(channels) + ", has " +
                                                        shape_string(desc.inputs[i]));
  }
  desc.require(desc.outputs[0] == x,
               "output shape " + shape_string(desc.outputs[0]) + " differs from input " + shape_string(x));
}

std::vector<Dispatch> lower_group_norm(const NodeLowering& l) {
  const auto* params = l.node.params_as_GroupNorm();
  const Shape& x = l.inputs[0].shape;
  const auto groups = static_cast<size_t>(params->groups());
  const auto channels = static_cast<size_t>(x[1]);
  const size_t spatial = element_count(Shape(x.begin() + 2, x.end()));
  const size_t rows = static_cast<size_t>(x[0]) * groups;
  const uint32_t scale = l.weights.add(*l.constants[1]);
  const uint32_t bias = l.weights.add(*l.constants[2]);
  const Grid grid = grid_for(rows);
  return {make_dispatch<shader::normalize>(
      {.ROWS = static_cast<uint32_t>(rows), .STRIDE = grid.stride,
       .LEN = static_cast<uint32_t>(channels / groups * spatial), .INNER = static_cast<uint32_t>(spatial),
       .CHANNELS = static_cast<uint32_t>(channels), .EPSILON = params->epsilon()},
      {.IN_OFF = l.inputs[0].offset, .OUT_OFF = l.outputs[0].offset, .SCALE_OFF = scale, .BIAS_OFF = bias},
      {grid.groups, 1, 1})};
}

}  // namespace

template <>
const OpKind& op_kind_of<fb::OpParams::Reduce>() {
  static const OpKind kind{.check = check_reduce, .lower = lower_reduce, .inputs = kOneActivation, .shapes = [](const ShapeQuery& q) {
                             const auto& params = *q.desc.node.params_as_Reduce();
                             const Shape& x = q.inputs.at(0);
                             const std::vector<bool> reduced = reduced_axes(params, x.size());
                             Shape y;
                             for (size_t d = 0; d < x.size(); ++d)
                               if (!reduced[d]) y.push_back(x[d]);
                               else if (params.keep_dims()) y.push_back(1);
                             if (y.empty()) y.push_back(1);
                             return std::vector<Shape>{y};
                           }};
  return kind;
}

template <>
const OpKind& op_kind_of<fb::OpParams::LayerNorm>() {
  static const OpKind kind{.check = check_layer_norm, .lower = lower_layer_norm, .inputs = {{"input X", InputRole::Activation}, {"scale", InputRole::Weight}, {"bias", InputRole::Weight}}, .macs = normalize_macs, .shapes = [](const ShapeQuery& q) { return q.same_as(0); }};
  return kind;
}

template <>
const OpKind& op_kind_of<fb::OpParams::GroupNorm>() {
  static const OpKind kind{.check = check_group_norm, .lower = lower_group_norm, .inputs = {{"input X", InputRole::Activation}, {"scale", InputRole::Weight}, {"bias", InputRole::Weight}}, .macs = normalize_macs, .shapes = [](const ShapeQuery& q) { return q.same_as(0); }};
  return kind;
}

}  // namespace vkbnn::detail
