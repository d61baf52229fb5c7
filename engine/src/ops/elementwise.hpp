#pragma once

// Helpers shared by the element-wise, pooling and data-movement op families.

#include <array>
#include <cstdint>
#include <initializer_list>

#include "ops/op.hpp"

namespace vkbnn::detail {

// Workgroup size of every shader in these families (local_size_x = 64 in the .comp files).
inline constexpr uint32_t kLocalSize = 64;

// A 1-D launch over `items` work items. The shaders loop with a stride of `stride` items, so
// the group count stays within the 65535 every Vulkan device supports.
struct Grid {
  uint32_t groups = 1;
  uint32_t stride = kLocalSize;
};
Grid grid_for(size_t items);

// Validates a fused (or stand-alone) activation: a known kind and sane alpha/beta.
// A null table means no activation.
void check_activation_params(const NodeDesc& desc, const fb::Activation* activation);

// The specialization constants ACT_KIND, ACT_ALPHA and ACT_BETA of apply_activation in
// common.glsl; kind None without an activation.
struct ActivationSpec {
  uint32_t kind = static_cast<uint32_t>(fb::ActivationKind::None);
  float alpha = 0, beta = 0;
};
ActivationSpec activation_spec(const fb::Activation* activation);

// Where an operand's words live: in its operand slot (activation) or the weight buffer (constant,
// packed here). Shaders take {offset, in_weights} and read in_act[slot] or wt[] accordingly.
struct Operand {
  uint32_t offset = 0;
  bool in_weights = false;
};
Operand place_operand(const NodeLowering& lowering, size_t input);

// True when every offset allows vec4 access (16-byte aligned in words).
bool vec4_aligned(std::initializer_list<uint32_t> offsets);

// How operand B repeats over A: B[(i / inner) % count] for A's flat index i. Holds when B,
// right-aligned to A's rank, equals A on one contiguous run of axes and is 1 elsewhere: one
// value, one per channel, B's full shape, or a trailing bias.
struct Broadcast {
  uint64_t inner = 1;
  uint64_t count = 1;
};
// Fails via desc unless input `b` of the node broadcasts onto shape `a` in that way.
Broadcast broadcast_of(const NodeDesc& desc, const Shape& a, const Shape& b, const char* what);
// The same analysis at lowering time, on shapes already checked.
Broadcast broadcast_of(const Shape& a, const Shape& b);

}  // namespace vkbnn::detail
