#version 450
#extension GL_GOOGLE_include_directive : require
// Binary convolution (and, with a 1x1 kernel on a 1x1 image, binary fully connected) by XOR and
// popcount over packed signs, with the whole BinaryEpilogue of the model file fused in.
//
// Each invocation computes R neighbouring outputs of one row for Q output channels. Per kernel
// row and input channel word it loads the span of input words the R outputs cover once, and per
// tap Q/4 uvec4s of weight words; every XOR + popcount then does 32 multiply-adds of +-1 values.
// Weights are packed per block of Q output channels as [TAPS][CW][Q] words, with the bits past C
// zero like the activations' (DataType::Bit), so the tail words need no mask: equal zero bits
// count as agreeing +1s, which is corrected by counting C rather than CW * 32 channels.
//
// Taps outside the input read +1 (a zero word): that is One padding. For Zero padding the
// contribution of those taps, sum_c w = C - 2 popcount(w) per tap and output channel, is taken
// back out of the outputs whose window leaves the input. Which taps leave it depends on the row
// and the column only through a few classes (top, interior, bottom rows; left, interior, right
// columns for a 3x3 kernel), so the correction is a table (BORDER_OFF) read once per output
// pixel, as uvec4s over its Q channels:
//   [OH] row class offsets, [OW] column class offsets, padded to 4 words, then the corrections
//   [row class][column class][MP] ints (zero for the interior class).
//
// On CPU implementations the epilogue costs more than the XOR/popcount loop unless it runs on
// vectors, so where the rows split into whole runs of 4-aligned outputs (VEC_OUT) the
// Elastic-Link input is read and the outputs are written as 4-pixel texels and vec4 stores.
#include "common.glsl"

layout(local_size_x_id = 0) in;
// Offsets (4-byte words) into the bindings vary between otherwise equal layers: push
// constants, so that those layers share one pipeline.
layout(push_constant) uniform Push {
  uint IN_OFF;
  uint OUT_OFF;
  uint WT_OFF;
  uint BORDER_OFF;
  uint PARAM_OFF;  // [7][MP] floats, rows as PARAM_* below
  uint LINK_OFF;
};
layout(constant_id = 6) const uint N = 1;
layout(constant_id = 7) const uint C = 1;
layout(constant_id = 8) const int H = 1;
layout(constant_id = 9) const int W = 1;
layout(constant_id = 10) const uint M = 1;
layout(constant_id = 11) const uint OH = 1;
layout(constant_id = 12) const uint OW = 1;
layout(constant_id = 13) const int KH = 1;
layout(constant_id = 14) const int KW = 1;
layout(constant_id = 15) const int SH = 1;
layout(constant_id = 16) const int SW = 1;
layout(constant_id = 17) const int DH = 1;
layout(constant_id = 18) const int DW = 1;
layout(constant_id = 19) const int PT = 0;
layout(constant_id = 20) const int PL = 0;
layout(constant_id = 21) const uint Q = 8;        // output channels per invocation, a multiple of 4
layout(constant_id = 22) const uint R = 1;        // outputs per invocation along a row
layout(constant_id = 23) const bool PADDED = true;  // some taps may fall outside the input
layout(constant_id = 24) const bool ZERO_PADDING = true;
layout(constant_id = 25) const uint ACT_KIND = 0;   // fb::BinaryActivationKind
layout(constant_id = 26) const bool ACT_AFTER_LINK = true;
layout(constant_id = 27) const bool LINK = false;
layout(constant_id = 29) const uint LINK_C = 1;
layout(constant_id = 30) const int LINK_H = 1;
layout(constant_id = 31) const int LINK_W = 1;
layout(constant_id = 32) const uint LINK_CHANNELS = 0;  // fb::LinkChannels
layout(constant_id = 33) const bool LINK_STRIDED = false;
layout(constant_id = 34) const bool LINK_MEAN = true;
layout(constant_id = 35) const int LINK_POOL = 1;
layout(constant_id = 36) const bool BIT_OUTPUT = false;  // then Q = 32 and blocks are output words
layout(constant_id = 37) const uint MP = 8;               // M rounded up to Q
layout(constant_id = 38) const bool SWAR_POPCOUNT = false;  // nibble_counts/byte_sums, not bitCount

#include "binary_epilogue.glsl"

const uint Q4 = Q / 4;
const uint CW = (C + 31) / 32;
const uint TAPS = uint(KH * KW);
const uint RUNS = (OW + R - 1) / R;
const int SPAN = (int(R) - 1) * SW + (KW - 1) * DW + 1;
// Whole runs of 4-aligned outputs: the output is bound from its start.
const bool VEC_OUT = R % 4 + OW % R + uint(BIT_OUTPUT) == 0;
// (Sums, since glslang 11 mis-emits && between specialization constant expressions.)
const bool VEC_LINK = R % 4 + OW % R + uint(BIT_OUTPUT) + (1 - uint(LINK)) + uint(LINK_POOL - 1) == 0;
const uint CORR_START = (OH + OW + 3) / 4 * 4;

// The epilogue's per-channel parameters of this workgroup's block, loaded once per workgroup:
// every lane reads the same ones, and on CPU implementations a texel fetch per lane and output
// cost more than the whole XOR/popcount loop.
shared float block_params[7][Q];

// j: the output channel within the block, a constant once the loops are unrolled.
float param(uint row, uint j) { return block_params[row][j]; }

void load_block_params(uint block) {
  for (uint i = gl_LocalInvocationIndex; i < 7 * Q; i += gl_WorkGroupSize.x)
    block_params[i / Q][i % Q] = texelFetch(wt_texels, int(PARAM_OFF + (i / Q) * MP + block * Q + i % Q)).x;
  barrier();
}

float activate(float y, uint j) {
  return binary_activate(y, param(PARAM_SLOPE, j), param(PARAM_SHIFT_IN, j), param(PARAM_SHIFT_OUT, j));
}

// Popcount by SWAR with the horizontal sum deferred (LLVM lowers bitCount on AVX2 to a nibble
// lookup per word): per word the bit counts of its nibbles (at most 4 each), summed over up to 3
// taps, then the nibbles' sums added up once. It costs registers (a tap's weights for all KW taps
// at once): binary.cpp picks it where the channel words outweigh that (SWAR_POPCOUNT).
uvec4 nibble_counts(uvec4 x) {
  x -= (x >> 1) & 0x55555555u;
  return (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
}

ivec4 byte_sums(uvec4 nibbles) {
  const uvec4 bytes = (nibbles & 0x0F0F0F0Fu) + ((nibbles >> 4) & 0x0F0F0F0Fu);
  return ivec4((bytes * 0x01010101u) >> 24);
}

void main() {
  const uint item = min(gl_GlobalInvocationID.x, N * OH * RUNS - 1);
  const uint ox0 = (item % RUNS) * R;
  const uint oy = (item / RUNS) % OH;
  const uint n = item / (RUNS * OH);
  const uint block = gl_WorkGroupID.y;
  load_block_params(block);

  const int x0 = int(ox0) * SW - PL;
  int column[SPAN];
  bool column_inside[SPAN];
  [[unroll]] for (int j = 0; j < SPAN; ++j) {
    column[j] = clamp(x0 + j, 0, W - 1);
    column_inside[j] = !PADDED || (x0 + j >= 0 && x0 + j < W);
  }

  ivec4 pop[R][Q4];
  [[unroll]] for (uint r = 0; r < R; ++r)
    [[unroll]] for (uint q = 0; q < Q4; ++q) pop[r][q] = ivec4(0);

  const uint plane = uint(H * W);
  for (int ky = 0; ky < KH; ++ky) {
    const int iy = int(oy) * SH - PT + ky * DH;
    const bool row_inside = !PADDED || (iy >= 0 && iy < H);
    const uint row = uint(clamp(iy, 0, H - 1) * W);
    uint in_base = IN_OFF + n * CW * plane + row;
    uint w_base = (WT_OFF + (block * TAPS + uint(ky * KW)) * CW * Q) / 4;
    for (uint cw = 0; cw < CW; ++cw) {
      uint span[SPAN];
      [[unroll]] for (int j = 0; j < SPAN; ++j) {
        const uint v = texelFetch(in_bits[0], int(in_base + uint(column[j]))).x;
        span[j] = row_inside && column_inside[j] ? v : 0u;
      }
      if (SWAR_POPCOUNT) {
        [[unroll]] for (uint q = 0; q < Q4; ++q) {
          uvec4 w[KW];
          [[unroll]] for (int kx = 0; kx < KW; ++kx) w[kx] = texelFetch(wt4_bits, int(w_base + uint(kx) * CW * Q4 + q));
          [[unroll]] for (uint r = 0; r < R; ++r) {
            uvec4 nibbles = uvec4(0);
            [[unroll]] for (int kx = 0; kx < KW; ++kx) {
              nibbles += nibble_counts(span[int(r) * SW + kx * DW] ^ w[kx]);
              if (kx % 3 == 2 || kx == KW - 1) {
                pop[r][q] += byte_sums(nibbles);
                nibbles = uvec4(0);
              }
            }
          }
        }
      } else {
        [[unroll]] for (int kx = 0; kx < KW; ++kx) {
          uvec4 w[Q4];
          [[unroll]] for (uint q = 0; q < Q4; ++q) w[q] = texelFetch(wt4_bits, int(w_base + uint(kx) * CW * Q4 + q));
          [[unroll]] for (uint r = 0; r < R; ++r)
            [[unroll]] for (uint q = 0; q < Q4; ++q) pop[r][q] += bitCount(span[int(r) * SW + kx * DW] ^ w[q]);
        }
      }
      in_base += plane;
      w_base += Q4;
    }
  }

  const bool item_valid = gl_GlobalInvocationID.x < N * OH * RUNS;
  const int full = int(TAPS * C);
  [[unroll]] for (uint r = 0; r < R; ++r)
    [[unroll]] for (uint q = 0; q < Q4; ++q) pop[r][q] = full - 2 * pop[r][q];
  if (PADDED && ZERO_PADDING) {
    const uint row_class = texelFetch(wt_bits, int(BORDER_OFF + oy)).x;
    [[unroll]] for (uint r = 0; r < R; ++r) {
      const uint column_class = texelFetch(wt_bits, int(BORDER_OFF + OH + min(ox0 + r, OW - 1))).x;
      const uint at = (BORDER_OFF + CORR_START + row_class + column_class + block * Q) / 4;
      [[unroll]] for (uint q = 0; q < Q4; ++q) pop[r][q] -= ivec4(texelFetch(wt4_bits, int(at + q)));
    }
  }

  uint bits[R];
  [[unroll]] for (uint r = 0; r < R; ++r) bits[r] = 0;
  [[unroll]] for (uint q = 0; q < Q4; ++q)
    [[unroll]] for (uint k = 0; k < 4; ++k) {
      const uint j = q * 4 + k;
      const uint oc = min(block * Q + j, M - 1);
      const float scale = param(PARAM_SCALE, j), shift = param(PARAM_SHIFT, j), gamma = param(PARAM_GAMMA, j);
      const bool store = item_valid && block * Q + j < M;
      if (VEC_OUT) {
        const uint out_at = (OUT_OFF + ((n * M + oc) * OH + oy) * OW + ox0) / 4;
        [[unroll]] for (uint g = 0; g < R / 4; ++g) {
          vec4 y = vec4(pop[4 * g][q][k], pop[4 * g + 1][q][k], pop[4 * g + 2][q][k], pop[4 * g + 3][q][k]) * scale + shift;
          if (!ACT_AFTER_LINK) y = binary_activate(y, param(PARAM_SLOPE, j), param(PARAM_SHIFT_IN, j), param(PARAM_SHIFT_OUT, j));
          if (VEC_LINK) {
            y += gamma * link_value4(n, oc, oy, ox0 + 4 * g);
          } else if (LINK) {
            [[unroll]] for (uint i = 0; i < 4; ++i) y[i] += gamma * link_value(n, oc, oy, ox0 + 4 * g + i);
          }
          if (ACT_AFTER_LINK) y = binary_activate(y, param(PARAM_SLOPE, j), param(PARAM_SHIFT_IN, j), param(PARAM_SHIFT_OUT, j));
          if (store) dst4[out_at + g] = y;
        }
      } else {
        [[unroll]] for (uint r = 0; r < R; ++r) {
          const uint ox = ox0 + r;
          float y = float(pop[r][q][k]) * scale + shift;
          if (!ACT_AFTER_LINK) y = activate(y, j);
          if (LINK) y += gamma * link_value(n, oc, oy, min(ox, OW - 1));
          if (ACT_AFTER_LINK) y = activate(y, j);
          if (BIT_OUTPUT) {
            if (store && ox < OW && y + param(PARAM_THRESHOLD, j) < 0.0) bits[r] |= 1u << j;
          } else if (store && ox < OW) {
            dst[OUT_OFF + ((n * M + oc) * OH + oy) * OW + ox] = y;
          }
        }
      }
    }
  if (BIT_OUTPUT)
    [[unroll]] for (uint r = 0; r < R; ++r)
      if (item_valid && ox0 + r < OW) dst_words[OUT_OFF + ((n * ((M + 31) / 32) + block) * OH + oy) * OW + ox0 + r] = bits[r];
}
