#version 450
#extension GL_GOOGLE_include_directive : require
// out = C != 0 ? X : Y over a rank-6 view of the output (smaller ranks get leading axes of
// length 1), one element per item. Each operand (an activation in operand slot 0, 1, 2, or a
// packed constant) is broadcast numpy's way: the bits of its *_BCAST mask are its axes of length
// 1, which its index skips.
#include "common.glsl"
#include "elementwise.glsl"

layout(constant_id = 0) const uint COUNT = 1;
layout(constant_id = 1) const uint STRIDE = 64;
// Offsets (4-byte words) into the bindings vary between otherwise equal layers: push
// constants, so that those layers share one pipeline.
layout(push_constant) uniform Push {
  uint C_OFF;
  uint X_OFF;
  uint Y_OFF;
  uint OUT_OFF;
};
layout(constant_id = 4) const uint O0 = 1;
layout(constant_id = 5) const uint O1 = 1;
layout(constant_id = 6) const uint O2 = 1;
layout(constant_id = 7) const uint O3 = 1;
layout(constant_id = 8) const uint O4 = 1;
layout(constant_id = 9) const uint O5 = 1;
layout(constant_id = 10) const uint C_BCAST = 0;
layout(constant_id = 11) const uint X_BCAST = 0;
layout(constant_id = 12) const uint Y_BCAST = 0;
layout(constant_id = 13) const bool C_IN_WEIGHTS = false;
layout(constant_id = 14) const bool X_IN_WEIGHTS = false;
layout(constant_id = 15) const bool Y_IN_WEIGHTS = false;

// The output's length on axis d of the view (d a constant once the loops are unrolled).
uint extent(uint d) { return d == 0u ? O0 : d == 1u ? O1 : d == 2u ? O2 : d == 3u ? O3 : d == 4u ? O4 : O5; }

// The operand's element for output coordinates c (flat index i): the coordinates of its
// broadcast axes drop out of the row-major index.
uint operand_index(const uint c[6], uint i, uint bcast) {
  if (bcast == 0u) return i;
  uint index = 0u;
  [[unroll]] for (uint d = 0u; d < 6u; ++d)
    if ((bcast & (1u << d)) == 0u) index = index * extent(d) + c[d];
  return index;
}

float load(bool in_weights, uint slot, uint index) {
  if (in_weights) return wt[index];
  if (slot == 0u) return in_act[0].v[index];
  if (slot == 1u) return in_act[1].v[index];
  return in_act[2].v[index];
}

void main() {
  for (uint i = gl_GlobalInvocationID.x; i < COUNT; i += STRIDE) {
    uint c[6];
    uint rest = i;
    [[unroll]] for (uint d = 6u; d-- > 0u;) {
      c[d] = rest % extent(d);
      rest /= extent(d);
    }
    const float condition = load(C_IN_WEIGHTS, 0u, C_OFF + operand_index(c, i, C_BCAST));
    const float x = load(X_IN_WEIGHTS, 1u, X_OFF + operand_index(c, i, X_BCAST));
    const float y = load(Y_IN_WEIGHTS, 2u, Y_OFF + operand_index(c, i, Y_BCAST));
    dst[OUT_OFF + i] = condition != 0.0 ? x : y;
  }
}
