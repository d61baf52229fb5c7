#version 450
#extension GL_GOOGLE_include_directive : require
// out = act(in * scale[c] + shift[c]) with c = (i / INNER) % CHANNELS; scale and shift are
// packed weights.
#include "common.glsl"
#include "elementwise.glsl"

layout(constant_id = 0) const uint COUNT = 1;
layout(constant_id = 1) const uint STRIDE = 64;
layout(constant_id = 2) const bool VEC4 = false;
// Offsets (4-byte words) into the bindings vary between otherwise equal layers: push
// constants, so that those layers share one pipeline.
layout(push_constant) uniform Push {
  uint IN_OFF;
  uint OUT_OFF;
  uint SCALE_OFF;
  uint SHIFT_OFF;
};
layout(constant_id = 7) const uint INNER = 1;
layout(constant_id = 8) const uint CHANNELS = 1;
layout(constant_id = 9) const uint FETCH = BCAST_GATHER;
layout(constant_id = 10) const uint ACT_KIND = 0;
layout(constant_id = 11) const float ACT_ALPHA = 0.0;
layout(constant_id = 12) const float ACT_BETA = 0.0;

void main() {
  if (VEC4 && FETCH == BCAST_PLANE) {
    const uint c = gl_WorkGroupID.y % CHANNELS;
    const float scale = wt[SCALE_OFF + c];
    const float shift = wt[SHIFT_OFF + c];
    for (uint q = gl_GlobalInvocationID.x; q < INNER / 4; q += STRIDE) {
      uint v = gl_WorkGroupID.y * (INNER / 4) + q;
      dst4[OUT_OFF / 4 + v] = apply_activation4(in_act4[0].v[IN_OFF / 4 + v] * scale + shift, ACT_KIND, ACT_ALPHA, ACT_BETA);
    }
  } else if (VEC4) {
    for (uint q = gl_GlobalInvocationID.x; q < COUNT / 4; q += STRIDE) {
      uint i = q * 4;
      vec4 scale = load_broadcast4(true, 0, SCALE_OFF, i, INNER, CHANNELS, FETCH);
      vec4 shift = load_broadcast4(true, 0, SHIFT_OFF, i, INNER, CHANNELS, FETCH);
      dst4[OUT_OFF / 4 + q] = apply_activation4(in_act4[0].v[IN_OFF / 4 + q] * scale + shift, ACT_KIND, ACT_ALPHA, ACT_BETA);
    }
  } else {
    for (uint i = gl_GlobalInvocationID.x; i < COUNT; i += STRIDE) {
      float scale = load_broadcast(true, 0, SCALE_OFF, i, INNER, CHANNELS);
      float shift = load_broadcast(true, 0, SHIFT_OFF, i, INNER, CHANNELS);
      dst[OUT_OFF + i] = apply_activation(in_act[0].v[IN_OFF + i] * scale + shift, ACT_KIND, ACT_ALPHA, ACT_BETA);
    }
  }
}
