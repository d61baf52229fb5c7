#version 450
#extension GL_GOOGLE_include_directive : require
// Grouped (and depthwise) binary convolution by XOR and popcount over packed signs, with the
// whole BinaryEpilogue fused in. Output channel m reads the C/GROUPS input channels of group
// m / (M/GROUPS). A group's channels need not start at a word boundary of the packed input
// (DataType::Bit packs all C channels along words of 32), so each 32-channel word of a group is
// assembled from the one or two words it straddles, and the bits past the group are masked.
// Weights are the Bit constant as stored: [M][ceil(CG/32)][TAPS] words with zero tail bits.
//
// One invocation computes Q output channels at one output position (Q = 32 and one output word
// for a packed output). A tap outside the input adds nothing (Zero padding) or reads +1 (One).
#include "common.glsl"

layout(local_size_x_id = 0) in;
// Offsets (4-byte words) into the bindings vary between otherwise equal layers: push
// constants, so that those layers share one pipeline.
layout(push_constant) uniform Push {
  uint IN_OFF;
  uint OUT_OFF;
  uint WT_OFF;
  uint PARAM_OFF;  // [7][M] floats, rows as PARAM_*
  uint LINK_OFF;
};
layout(constant_id = 5) const uint N = 1;
layout(constant_id = 6) const uint C = 1;
layout(constant_id = 7) const int H = 1;
layout(constant_id = 8) const int W = 1;
layout(constant_id = 9) const uint M = 1;
layout(constant_id = 10) const uint OH = 1;
layout(constant_id = 11) const uint OW = 1;
layout(constant_id = 12) const int KH = 1;
layout(constant_id = 13) const int KW = 1;
layout(constant_id = 14) const int SH = 1;
layout(constant_id = 15) const int SW = 1;
layout(constant_id = 16) const int DH = 1;
layout(constant_id = 17) const int DW = 1;
layout(constant_id = 18) const int PT = 0;
layout(constant_id = 19) const int PL = 0;
layout(constant_id = 20) const uint GROUPS = 1;
layout(constant_id = 21) const uint Q = 4;
layout(constant_id = 22) const bool ZERO_PADDING = true;
layout(constant_id = 23) const uint ACT_KIND = 0;  // fb::BinaryActivationKind
layout(constant_id = 24) const bool ACT_AFTER_LINK = true;
layout(constant_id = 25) const bool LINK = false;
layout(constant_id = 27) const uint LINK_C = 1;
layout(constant_id = 28) const int LINK_H = 1;
layout(constant_id = 29) const int LINK_W = 1;
layout(constant_id = 30) const uint LINK_CHANNELS = 0;  // fb::LinkChannels
layout(constant_id = 31) const bool LINK_STRIDED = false;
layout(constant_id = 32) const bool LINK_MEAN = true;
layout(constant_id = 33) const int LINK_POOL = 1;
layout(constant_id = 34) const bool BIT_OUTPUT = false;

#include "binary_epilogue.glsl"

const uint CG = C / GROUPS;
const uint MG = M / GROUPS;
const uint CW = (C + 31) / 32;
const uint CWG = (CG + 31) / 32;
const uint TAPS = uint(KH * KW);

float param(uint row, uint m) { return texelFetch(wt_texels, int(PARAM_OFF + row * M + m)).x; }

// Input channels first .. first + 31 at one position (base: its word in channel word 0).
uint channel_word(uint base, uint plane, uint first) {
  const uint word = first / 32, shift = first % 32;
  uint v = texelFetch(in_bits[0], int(base + word * plane)).x >> shift;
  if (shift != 0 && word + 1 < CW) v |= texelFetch(in_bits[0], int(base + (word + 1) * plane)).x << (32 - shift);
  return v;
}

void main() {
  const uint positions = N * OH * OW;
  const bool valid = gl_GlobalInvocationID.x < positions;
  const uint p = min(gl_GlobalInvocationID.x, positions - 1);
  const uint ox = p % OW, oy = (p / OW) % OH, n = p / (OW * OH);
  const uint block = gl_WorkGroupID.y;
  const uint plane = uint(H * W);
  uint bits = 0;
  for (uint j = 0; j < Q; ++j) {
    const uint m = block * Q + j;
    if (m >= M) break;
    const uint first = (m / MG) * CG;
    int acc = 0;
    for (int ky = 0; ky < KH; ++ky)
      for (int kx = 0; kx < KW; ++kx) {
        const int iy = int(oy) * SH - PT + ky * DH, ix = int(ox) * SW - PL + kx * DW;
        const bool inside = iy >= 0 && iy < H && ix >= 0 && ix < W;
        if (!inside && ZERO_PADDING) continue;
        const uint base = IN_OFF + n * CW * plane + uint(clamp(iy, 0, H - 1) * W + clamp(ix, 0, W - 1));
        const uint tap = uint(ky * KW + kx);
        int pop = 0;
        for (uint k = 0; k < CWG; ++k) {
          const uint count = min(32u, CG - k * 32);
          const uint mask = count == 32u ? 0xFFFFFFFFu : (1u << count) - 1u;
          const uint w = texelFetch(wt_bits, int(WT_OFF + (m * CWG + k) * TAPS + tap)).x;
          const uint a = inside ? channel_word(base, plane, first + k * 32) : 0u;
          pop += bitCount((a ^ w) & mask);
        }
        acc += int(CG) - 2 * pop;
      }
    const float slope = param(PARAM_SLOPE, m), shift_in = param(PARAM_SHIFT_IN, m), shift_out = param(PARAM_SHIFT_OUT, m);
    float y = float(acc) * param(PARAM_SCALE, m) + param(PARAM_SHIFT, m);
    if (!ACT_AFTER_LINK) y = binary_activate(y, slope, shift_in, shift_out);
    if (LINK) y += param(PARAM_GAMMA, m) * link_value(n, m, oy, ox);
    if (ACT_AFTER_LINK) y = binary_activate(y, slope, shift_in, shift_out);
    if (BIT_OUTPUT) {
      if (y + param(PARAM_THRESHOLD, m) < 0.0) bits |= 1u << j;
    } else if (valid) {
      dst[OUT_OFF + ((n * M + m) * OH + oy) * OW + ox] = y;
    }
  }
  if (BIT_OUTPUT && valid) dst_words[OUT_OFF + ((n * ((M + 31) / 32) + block) * OH + oy) * OW + ox] = bits;
}
