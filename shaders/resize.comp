#version 450
#extension GL_GOOGLE_include_directive : require
// Resize of H and W, one output element per item: each output row and column reads two source
// indices and the weight of the second from tables in the weight buffer (nearest: both indices
// equal, weight 0).
#include "common.glsl"
#include "elementwise.glsl"

layout(constant_id = 0) const uint COUNT = 1;
layout(constant_id = 1) const uint STRIDE = 64;
// Offsets (4-byte words) into the bindings vary between otherwise equal layers: push
// constants, so that those layers share one pipeline.
layout(push_constant) uniform Push {
  uint IN_OFF;
  uint OUT_OFF;
  // The interpolation tables' offsets in the weights.
  uint ROW_INDICES;
  uint ROW_WEIGHTS;
  uint COL_INDICES;
  uint COL_WEIGHTS;
};
layout(constant_id = 4) const uint IH = 1;
layout(constant_id = 5) const uint IW = 1;
layout(constant_id = 6) const uint OH = 1;
layout(constant_id = 7) const uint OW = 1;

void main() {
  for (uint i = gl_GlobalInvocationID.x; i < COUNT; i += STRIDE) {
    const uint ox = i % OW, oy = (i / OW) % OH, plane = i / (OW * OH);
    const uint y0 = texelFetch(wt_bits, int(ROW_INDICES + 2 * oy)).x, y1 = texelFetch(wt_bits, int(ROW_INDICES + 2 * oy + 1)).x;
    const uint x0 = texelFetch(wt_bits, int(COL_INDICES + 2 * ox)).x, x1 = texelFetch(wt_bits, int(COL_INDICES + 2 * ox + 1)).x;
    const float wy = wt[ROW_WEIGHTS + oy], wx = wt[COL_WEIGHTS + ox];
    const uint base = IN_OFF + plane * IH * IW;
    const float top = mix(in_act[0].v[base + y0 * IW + x0], in_act[0].v[base + y0 * IW + x1], wx);
    const float bottom = mix(in_act[0].v[base + y1 * IW + x0], in_act[0].v[base + y1 * IW + x1], wx);
    dst[OUT_OFF + i] = mix(top, bottom, wy);
  }
}
