#version 450
#extension GL_GOOGLE_include_directive : require
// Tile of a rank-6 view (smaller ranks get leading axes of length 1), one output element per
// item: output coordinates c read the input at c_d mod I_d, so an axis of length 1 broadcasts
// (Expand) and a longer one repeats (Tile).
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
layout(constant_id = 10) const uint I0 = 1;
layout(constant_id = 11) const uint I1 = 1;
layout(constant_id = 12) const uint I2 = 1;
layout(constant_id = 13) const uint I3 = 1;
layout(constant_id = 14) const uint I4 = 1;
layout(constant_id = 15) const uint I5 = 1;

void main() {
  for (uint i = gl_GlobalInvocationID.x; i < COUNT; i += STRIDE) {
    uint rest = i;
    const uint c5 = rest % O5;
    rest /= O5;
    const uint c4 = rest % O4;
    rest /= O4;
    const uint c3 = rest % O3;
    rest /= O3;
    const uint c2 = rest % O2;
    rest /= O2;
    const uint c1 = rest % O1;
    const uint c0 = rest / O1;
    const uint src = (((((c0 % I0) * I1 + c1 % I1) * I2 + c2 % I2) * I3 + c3 % I3) * I4 + c4 % I4) * I5 + c5 % I5;
    dst[OUT_OFF + i] = in_act[0].v[IN_OFF + src];
  }
}
