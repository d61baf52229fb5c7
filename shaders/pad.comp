#version 450
#extension GL_GOOGLE_include_directive : require
// Pad of a rank-4 view (smaller ranks get leading axes of length 1), one output element per item.
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
layout(constant_id = 8) const int I0 = 1;
layout(constant_id = 9) const int I1 = 1;
layout(constant_id = 10) const int I2 = 1;
layout(constant_id = 11) const int I3 = 1;
layout(constant_id = 12) const int P0 = 0;
layout(constant_id = 13) const int P1 = 0;
layout(constant_id = 14) const int P2 = 0;
layout(constant_id = 15) const int P3 = 0;
layout(constant_id = 16) const uint MODE = 0;  // fb::PadMode (PAD_*)
layout(constant_id = 17) const float VALUE = 0.0;

// Input coordinate feeding output coordinate `o` on an axis of length n with `pad` in front,
// or -1 where the constant value goes. The load-time check keeps reflect pads below n.
int source(uint o, int n, int pad) {
  int c = int(o) - pad;
  if (c >= 0 && c < n) return c;
  if (MODE == PAD_CONSTANT) return -1;
  if (MODE == PAD_EDGE) return clamp(c, 0, n - 1);
  return c < 0 ? -c : 2 * (n - 1) - c;
}

void main() {
  for (uint i = gl_GlobalInvocationID.x; i < COUNT; i += STRIDE) {
    ivec4 c = ivec4(source(i / (O1 * O2 * O3), I0, P0), source((i / (O2 * O3)) % O1, I1, P1),
                    source((i / O3) % O2, I2, P2), source(i % O3, I3, P3));
    float v = VALUE;
    if (all(greaterThanEqual(c, ivec4(0)))) v = in_act[0].v[IN_OFF + uint(((c.x * I1 + c.y) * I2 + c.z) * I3 + c.w)];
    dst[OUT_OFF + i] = v;
  }
}
