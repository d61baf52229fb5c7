#version 450
#extension GL_GOOGLE_include_directive : require
// Copy of a strided view of rank 6 (smaller ranks get leading axes of length 1), one output
// element per item: output coordinates c read input element BASE + sum c_d * S_d. Transpose sets
// S_d to the stride of the input axis that output axis d reads; Slice to the stride times the
// step (a negative step wraps around in uint arithmetic, and the sum comes out right).
#include "common.glsl"
#include "elementwise.glsl"

layout(constant_id = 0) const uint COUNT = 1;
layout(constant_id = 1) const uint STRIDE = 64;
// Offsets (4-byte words) into the bindings vary between otherwise equal layers: push
// constants, so that those layers share one pipeline.
layout(push_constant) uniform Push {
  uint IN_OFF;
  uint OUT_OFF;
};
layout(constant_id = 4) const uint O0 = 1;
layout(constant_id = 5) const uint O1 = 1;
layout(constant_id = 6) const uint O2 = 1;
layout(constant_id = 7) const uint O3 = 1;
layout(constant_id = 8) const uint O4 = 1;
layout(constant_id = 9) const uint O5 = 1;
layout(constant_id = 10) const uint S0 = 0;
layout(constant_id = 11) const uint S1 = 0;
layout(constant_id = 12) const uint S2 = 0;
layout(constant_id = 13) const uint S3 = 0;
layout(constant_id = 14) const uint S4 = 0;
layout(constant_id = 15) const uint S5 = 0;
layout(constant_id = 16) const uint BASE = 0;

void main() {
  for (uint i = gl_GlobalInvocationID.x; i < COUNT; i += STRIDE) {
    uint rest = i;
    uint src = BASE + (rest % O5) * S5;
    rest /= O5;
    src += (rest % O4) * S4;
    rest /= O4;
    src += (rest % O3) * S3;
    rest /= O3;
    src += (rest % O2) * S2;
    rest /= O2;
    src += (rest % O1) * S1;
    rest /= O1;
    src += rest * S0;
    dst[OUT_OFF + i] = in_act[0].v[IN_OFF + src];
  }
}
