#version 450
#extension GL_GOOGLE_include_directive : require
// Int8GlobalAveragePool, one output word (four channels) per item: the integer sum over the
// plane, less PLANE * ZP_IN, requantized to the output.
#include "common.glsl"
#include "elementwise.glsl"
#include "int8.glsl"

layout(constant_id = 0) const uint COUNT = 1;  // output words: N * ceil(C / 4)
layout(constant_id = 1) const uint STRIDE = 64;
// Offsets (4-byte words) into the bindings vary between otherwise equal layers: push
// constants, so that those layers share one pipeline.
layout(push_constant) uniform Push {
  uint IN_OFF;
  uint OUT_OFF;
};
layout(constant_id = 4) const uint C = 1;
layout(constant_id = 5) const uint PLANE = 1;
layout(constant_id = 6) const int ZP_IN = 0;
layout(constant_id = 7) const int ZP_OUT = 0;
layout(constant_id = 8) const int MULTIPLIER = 0;
layout(constant_id = 9) const int SHIFT = 1;

const uint C4 = (C + 3u) / 4u;

void main() {
  for (uint item = gl_GlobalInvocationID.x; item < COUNT; item += STRIDE) {
    ivec4 sum = ivec4(0);
    for (uint p = 0u; p < PLANE; ++p) sum += unpack_int8x4(texelFetch(in_bits[0], int(IN_OFF + item * PLANE + p)).x);
    ivec4 q;
    [[unroll]] for (uint k = 0u; k < 4u; ++k)
      q[k] = clamp(clamp(requantize(sum[k] - int(PLANE) * ZP_IN, MULTIPLIER, SHIFT), -512, 512) + ZP_OUT, -128, 127);
    dst_words[OUT_OFF + item] = pack_int8x4(q, min(4u, C - (item % C4) * 4u));
  }
}
