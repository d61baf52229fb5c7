#version 450
#extension GL_GOOGLE_include_directive : require
// Stand-alone activation: out[i] = f(in[i]) over a flat range.
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
};
layout(constant_id = 5) const uint ACT_KIND = 0;
layout(constant_id = 6) const float ACT_ALPHA = 0.0;
layout(constant_id = 7) const float ACT_BETA = 0.0;

void main() {
  if (VEC4) {
    for (uint q = gl_GlobalInvocationID.x; q < COUNT / 4; q += STRIDE)
      dst4[OUT_OFF / 4 + q] = apply_activation4(in_act4[0].v[IN_OFF / 4 + q], ACT_KIND, ACT_ALPHA, ACT_BETA);
  } else {
    for (uint i = gl_GlobalInvocationID.x; i < COUNT; i += STRIDE)
      dst[OUT_OFF + i] = apply_activation(in_act[0].v[IN_OFF + i], ACT_KIND, ACT_ALPHA, ACT_BETA);
  }
}
