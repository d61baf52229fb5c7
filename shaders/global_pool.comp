#version 450
#extension GL_GOOGLE_include_directive : require
// Average or max over each (n, c) plane of SIZE elements, one plane per item; planes whose size
// and offset allow it are read as vec4.
#include "common.glsl"
#include "elementwise.glsl"

layout(constant_id = 0) const uint PLANES = 1;
layout(constant_id = 1) const uint STRIDE = 64;
// Offsets (4-byte words) into the bindings vary between otherwise equal layers: push
// constants, so that those layers share one pipeline.
layout(push_constant) uniform Push {
  uint IN_OFF;
  uint OUT_OFF;
};
layout(constant_id = 4) const uint SIZE = 1;
layout(constant_id = 5) const bool VEC4 = false;
layout(constant_id = 6) const bool AVERAGE = true;

void main() {
  for (uint p = gl_GlobalInvocationID.x; p < PLANES; p += STRIDE) {
    uint base = IN_OFF + p * SIZE;
    float result;
    if (VEC4) {
      vec4 acc = in_act4[0].v[base / 4];
      for (uint q = 1; q < SIZE / 4; ++q) {
        vec4 v = in_act4[0].v[base / 4 + q];
        acc = AVERAGE ? acc + v : max(acc, v);
      }
      result = AVERAGE ? (acc.x + acc.y) + (acc.z + acc.w) : max(max(acc.x, acc.y), max(acc.z, acc.w));
    } else {
      result = in_act[0].v[base];
      for (uint k = 1; k < SIZE; ++k) result = AVERAGE ? result + in_act[0].v[base + k] : max(result, in_act[0].v[base + k]);
    }
    dst[OUT_OFF + p] = AVERAGE ? result / float(SIZE) : result;
  }
}
