#version 450
#extension GL_GOOGLE_include_directive : require
// Gather along one axis, one output element per item. The tensor is seen as [OUTER, AXIS,
// INNER]; output slice k along the axis copies input slice index[k], the indices an integer
// table in the weight buffer (checked at load time to lie inside the axis).
#include "common.glsl"
#include "elementwise.glsl"

layout(constant_id = 0) const uint COUNT = 1;
layout(constant_id = 1) const uint STRIDE = 64;
// Offsets (4-byte words) into the bindings vary between otherwise equal layers: push
// constants, so that those layers share one pipeline.
layout(push_constant) uniform Push {
  uint IN_OFF;
  uint OUT_OFF;
  uint INDEX_OFF;
};
layout(constant_id = 5) const uint INNER = 1;  // elements per slice
layout(constant_id = 6) const uint K = 1;      // indices
layout(constant_id = 7) const uint AXIS = 1;   // the input's length along the axis

void main() {
  for (uint i = gl_GlobalInvocationID.x; i < COUNT; i += STRIDE) {
    const uint j = i % INNER;
    const uint k = (i / INNER) % K;
    const uint outer = i / (INNER * K);
    const uint index = texelFetch(wt_bits, int(INDEX_OFF + k)).x;
    dst[OUT_OFF + i] = in_act[0].v[IN_OFF + (outer * AXIS + index) * INNER + j];
  }
}
