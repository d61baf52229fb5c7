#version 450
#extension GL_GOOGLE_include_directive : require
// int8 depthwise convolution (one input and one output channel per group). The general kernel
// (int8_conv2d.glsl) would multiply every packed word by four output channels' weights, three
// of them zero; here each invocation computes R neighbouring outputs of one row for the four
// channels of one word, a product per channel and tap. Bytes are widened to float and multiplied
// with fp32 FMAs: a product is at most 128 * 127 and a kernel has at most 1024 taps, so every
// partial sum is an exact float integer below 2^24. Weights are one packed word (the four
// channels' bytes) per channel word and tap; the epilogue is int8_conv2d's.
#include "common.glsl"
#include "int8.glsl"

layout(local_size_x_id = 0) in;
// Offsets (4-byte words) into the bindings vary between otherwise equal layers: push
// constants, so that those layers share one pipeline.
layout(push_constant) uniform Push {
  uint IN_OFF;
  uint OUT_OFF;
  uint WT_OFF;
  uint EPI_OFF;
};
layout(constant_id = 5) const uint N = 1;
layout(constant_id = 6) const uint C = 1;
layout(constant_id = 7) const int H = 1;
layout(constant_id = 8) const int W = 1;
layout(constant_id = 9) const uint OH = 1;
layout(constant_id = 10) const uint OW = 1;
layout(constant_id = 11) const int KH = 1;
layout(constant_id = 12) const int KW = 1;
layout(constant_id = 13) const int SH = 1;
layout(constant_id = 14) const int SW = 1;
layout(constant_id = 15) const int DH = 1;
layout(constant_id = 16) const int DW = 1;
layout(constant_id = 17) const int PT = 0;
layout(constant_id = 18) const int PL = 0;
layout(constant_id = 19) const uint R = 1;
layout(constant_id = 20) const uint ZP_WORD = 0;
layout(constant_id = 21) const int ZP_OUT = 0;
layout(constant_id = 22) const int CMIN = -128;
layout(constant_id = 23) const int CMAX = 127;

const uint C4 = (C + 3u) / 4u;
const uint TAPS = uint(KH * KW);
const uint RUNS = (OW + R - 1u) / R;

void main() {
  const uint item = min(gl_GlobalInvocationID.x, N * OH * RUNS - 1u);
  const uint ox0 = (item % RUNS) * R;
  const uint oy = (item / RUNS) % OH;
  const uint n = item / (RUNS * OH);
  const uint cw = gl_WorkGroupID.y;
  const uint plane = (n * C4 + cw) * uint(H);

  vec4 acc[R];
  [[unroll]] for (uint r = 0u; r < R; ++r) acc[r] = vec4(0.0);
  const vec4 padded = vec4(unpack_int8x4(ZP_WORD));
  for (uint t = 0u; t < TAPS; ++t) {
    const int iy = int(oy) * SH - PT + int(t / uint(KW)) * DH;
    const int ix0 = int(ox0) * SW - PL + int(t % uint(KW)) * DW;
    const vec4 w = vec4(unpack_int8x4(texelFetch(wt_bits, int(WT_OFF + cw * TAPS + t)).x));
    const bool row_inside = iy >= 0 && iy < H;
    [[unroll]] for (uint r = 0u; r < R; ++r) {
      const int ix = ix0 + int(r) * SW;
      const vec4 a = row_inside && ix >= 0 && ix < W
                         ? vec4(unpack_int8x4(texelFetch(in_bits[0], int(IN_OFF + (plane + uint(iy)) * uint(W) + uint(ix))).x))
                         : padded;
      acc[r] = fma(a, w, acc[r]);
    }
  }

  if (gl_GlobalInvocationID.x >= N * OH * RUNS) return;
  ivec4 epi[4];
  [[unroll]] for (uint k = 0u; k < 4u; ++k) epi[k] = ivec4(texelFetch(wt4_bits, int(EPI_OFF / 4u + cw * 4u + k)));
  [[unroll]] for (uint r = 0u; r < R; ++r) {
    const uint ox = ox0 + r;
    if (ox >= OW) break;
    dst_words[OUT_OFF + ((n * C4 + cw) * OH + oy) * OW + ox] =
        requantize_word(ivec4(acc[r]), epi, ZP_OUT, CMIN, CMAX, min(4u, C - cw * 4u));
  }
}
