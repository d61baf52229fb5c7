#version 450
#extension GL_GOOGLE_include_directive : require
// Int8Add, one word (four channels) per item: both inputs are rescaled to the output scale by
// fixed-point multipliers that share one shift, all in int32 (see the schema for the bounds).
#include "common.glsl"
#include "elementwise.glsl"
#include "int8.glsl"

layout(constant_id = 0) const uint COUNT = 1;  // words
layout(constant_id = 1) const uint STRIDE = 64;
// Offsets (4-byte words) into the bindings vary between otherwise equal layers: push
// constants, so that those layers share one pipeline.
layout(push_constant) uniform Push {
  uint A_OFF;
  uint B_OFF;
  uint OUT_OFF;
};
layout(constant_id = 5) const uint C = 1;
layout(constant_id = 6) const uint PLANE = 1;
layout(constant_id = 7) const int ZA = 0;
layout(constant_id = 8) const int ZB = 0;
layout(constant_id = 9) const int ZY = 0;
layout(constant_id = 10) const int MA = 0;
layout(constant_id = 11) const int MB = 0;
layout(constant_id = 12) const int SHIFT = 1;
layout(constant_id = 13) const int CMIN = -128;
layout(constant_id = 14) const int CMAX = 127;

const uint C4 = (C + 3u) / 4u;

void main() {
  for (uint item = gl_GlobalInvocationID.x; item < COUNT; item += STRIDE) {
    const ivec4 a = unpack_int8x4(texelFetch(in_bits[0], int(A_OFF + item)).x) - ZA;
    const ivec4 b = unpack_int8x4(texelFetch(in_bits[1], int(B_OFF + item)).x) - ZB;
    const ivec4 sum = (a * MA + b * MB + (1 << (SHIFT - 1))) >> SHIFT;
    const uint valid = min(4u, C - ((item / PLANE) % C4) * 4u);
    dst_words[OUT_OFF + item] = pack_int8x4(clamp(sum + ZY, CMIN, CMAX), valid);
  }
}
