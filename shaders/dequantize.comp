#version 450
#extension GL_GOOGLE_include_directive : require
// Int8 to Float32, one element per item: x = (q - ZP) * SCALE.
#include "common.glsl"
#include "elementwise.glsl"
#include "int8.glsl"

layout(constant_id = 0) const uint COUNT = 1;  // output elements
layout(constant_id = 1) const uint STRIDE = 64;
// Offsets (4-byte words) into the bindings vary between otherwise equal layers: push
// constants, so that those layers share one pipeline.
layout(push_constant) uniform Push {
  uint IN_OFF;
  uint OUT_OFF;
};
layout(constant_id = 4) const uint C = 1;
layout(constant_id = 5) const uint PLANE = 1;
layout(constant_id = 6) const float SCALE = 1.0;
layout(constant_id = 7) const int ZP = 0;

const uint C4 = (C + 3u) / 4u;

void main() {
  for (uint item = gl_GlobalInvocationID.x; item < COUNT; item += STRIDE) {
    const uint p = item % PLANE;
    const uint c = (item / PLANE) % C;
    const uint n = item / (PLANE * C);
    const uint word = texelFetch(in_bits[0], int(IN_OFF + (n * C4 + c / 4u) * PLANE + p)).x;
    dst[OUT_OFF + item] = float(bitfieldExtract(int(word), int(8u * (c % 4u)), 8) - ZP) * SCALE;
  }
}
