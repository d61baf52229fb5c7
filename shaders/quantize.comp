#version 450
#extension GL_GOOGLE_include_directive : require
// Float32 to Int8, one output word (four channels) per item: q = round_half_even(x * INV_SCALE)
// + ZP, saturated. The reciprocal is rounded once on the host, so CPU and GPU multiply the same
// numbers and, multiplication being correctly rounded in Vulkan, agree bit for bit.
#include "common.glsl"
#include "elementwise.glsl"
#include "int8.glsl"

layout(constant_id = 0) const uint COUNT = 1;  // output words
layout(constant_id = 1) const uint STRIDE = 64;
// Offsets (4-byte words) into the bindings vary between otherwise equal layers: push
// constants, so that those layers share one pipeline.
layout(push_constant) uniform Push {
  uint IN_OFF;
  uint OUT_OFF;
};
layout(constant_id = 4) const uint C = 1;
layout(constant_id = 5) const uint PLANE = 1;  // elements per channel (H * W, or 1)
layout(constant_id = 6) const float INV_SCALE = 1.0;
layout(constant_id = 7) const int ZP = 0;

const uint C4 = (C + 3u) / 4u;

void main() {
  for (uint item = gl_GlobalInvocationID.x; item < COUNT; item += STRIDE) {
    const uint p = item % PLANE;
    const uint cw = (item / PLANE) % C4;
    const uint n = item / (PLANE * C4);
    const uint valid = min(4u, C - cw * 4u);
    ivec4 q = ivec4(0);
    [[unroll]] for (uint k = 0u; k < 4u; ++k) {
      if (k < valid) {
        const float x = texelFetch(in_texels[0], int(IN_OFF + (n * C + cw * 4u + k) * PLANE + p)).x;
        // Clamped while still a float, so that huge values and infinities saturate.
        q[k] = int(clamp(roundEven(x * INV_SCALE), -512.0, 512.0)) + ZP;
      }
    }
    dst_words[OUT_OFF + item] = pack_int8x4(clamp(q, -128, 127), valid);
  }
}
