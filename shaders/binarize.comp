#version 450
#extension GL_GOOGLE_include_directive : require
// Y = sign(X + threshold_c) packed 32 channels to a word (DataType::Bit: bit set for -1,
// sign(0) = +1, bits past C left 0). One item per output word.
#include "common.glsl"
#include "elementwise.glsl"

layout(constant_id = 0) const uint COUNT = 1;  // output words: N x ceil(C/32) x INNER
layout(constant_id = 1) const uint STRIDE = 64;
// Offsets (4-byte words) into the bindings vary between otherwise equal layers: push
// constants, so that those layers share one pipeline.
layout(push_constant) uniform Push {
  uint IN_OFF;
  uint OUT_OFF;
  uint THRESHOLD_OFF;
};
layout(constant_id = 5) const bool HAS_THRESHOLD = false;
layout(constant_id = 6) const uint C = 1;
layout(constant_id = 7) const uint INNER = 1;  // elements per channel (H x W, or 1)

const uint CW = (C + 31) / 32;

void main() {
  for (uint item = gl_GlobalInvocationID.x; item < COUNT; item += STRIDE) {
    const uint i = item % INNER;
    const uint cw = (item / INNER) % CW;
    const uint n = item / (INNER * CW);
    const uint c0 = cw * 32;
    uint word = 0;
    for (uint j = 0; j < min(32u, C - c0); ++j) {
      float x = texelFetch(in_texels[0], int(IN_OFF + (n * C + c0 + j) * INNER + i)).x;
      if (HAS_THRESHOLD) x += texelFetch(wt_texels, int(THRESHOLD_OFF + c0 + j)).x;
      if (x < 0.0) word |= 1u << j;
    }
    dst_words[OUT_OFF + item] = word;
  }
}
