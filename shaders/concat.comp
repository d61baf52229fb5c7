#version 450
#extension GL_GOOGLE_include_directive : require
// Copies one Concat input, ROWS x ROW_LEN elements, into output rows OUT_ROW apart.
#include "common.glsl"
#include "elementwise.glsl"

layout(constant_id = 0) const uint COUNT = 1;
layout(constant_id = 1) const uint STRIDE = 64;
layout(constant_id = 2) const bool VEC4 = false;
layout(constant_id = 3) const uint ROW_LEN = 1;
layout(constant_id = 4) const uint OUT_ROW = 1;
// Offsets (4-byte words) into the bindings vary between otherwise equal layers: push
// constants, so that those layers share one pipeline.
layout(push_constant) uniform Push {
  uint SRC_OFF;
  uint DST_OFF;
};
layout(constant_id = 6) const bool SRC_IN_WEIGHTS = false;

void main() {
  if (VEC4) {
    for (uint q = gl_GlobalInvocationID.x; q < COUNT / 4; q += STRIDE) {
      uint i = q * 4;
      dst4[(DST_OFF + (i / ROW_LEN) * OUT_ROW + i % ROW_LEN) / 4] = load_operand4(SRC_IN_WEIGHTS, 0, SRC_OFF / 4 + q);
    }
  } else {
    for (uint i = gl_GlobalInvocationID.x; i < COUNT; i += STRIDE)
      dst[DST_OFF + (i / ROW_LEN) * OUT_ROW + i % ROW_LEN] = load_operand(SRC_IN_WEIGHTS, 0, SRC_OFF + i);
  }
}
