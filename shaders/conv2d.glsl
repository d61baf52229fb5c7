// Grouped 2-D convolution.
// Each invocation computes a tile of R neighbouring outputs of one row for Q output channels,
// so per input channel and kernel row it loads the row span the R outputs cover once and Q/4
// weight vectors per kernel column, and reuses each loaded value for Q (inputs) or R (weights)
// multiply-adds. On CPU implementations every load is a gather over the lanes, whatever the
// address, so this reuse is what sets the speed. Reads go through the texel views (common.glsl).
// Weights are packed per block of Q output channels as [ICG][SLICE] with each slice holding
// [KH][KW][Q] (channels past OCG and the slice's tail are zero), and the bias as [block][Q];
// block b of group g is number g * BLOCKS + b. A layer whose weights exceed one buffer binding
// runs as several dispatches over ranges of blocks, the first of them BLOCK0, each binding the
// weights of its own blocks.
//
// With SUBGROUP_WEIGHTS defined, the weights, which are the same for every lane of a workgroup,
// are loaded once per subgroup instead of once per lane: lane l loads every 8th word of an
// input channel's slice and the lanes pass them around with subgroupBroadcast. On lavapipe a
// load costs a loop over the lanes while a broadcast is a register move, so this removes most
// of the load work; it needs subgroups of at least 8 lanes.
#include "common.glsl"

layout(local_size_x_id = 0) in;
// Offsets (4-byte words) into the bindings vary between otherwise equal layers: push
// constants, so that those layers share one pipeline.
layout(push_constant) uniform Push {
  uint IN_OFF;
  uint OUT_OFF;
  uint WT_OFF;
  uint BIAS_OFF;
};
layout(constant_id = 5) const bool HAS_BIAS = false;
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
layout(constant_id = 21) const uint ICG = 1;     // input channels per group
layout(constant_id = 22) const uint OCG = 1;     // output channels per group
layout(constant_id = 23) const uint BLOCKS = 1;  // blocks of Q output channels per group
layout(constant_id = 24) const uint Q = 4;       // output channels per invocation, a multiple of 4
layout(constant_id = 25) const uint R = 1;       // outputs per invocation along a row
layout(constant_id = 26) const bool PADDED = true;  // some taps may fall outside the input
layout(constant_id = 27) const uint ACT_KIND = 0;
layout(constant_id = 28) const float ACT_ALPHA = 0.0;
layout(constant_id = 29) const float ACT_BETA = 0.0;
layout(constant_id = 30) const uint BLOCK0 = 0;  // the first block of this dispatch

const uint Q4 = Q / 4;
const uint TAPS = uint(KH * KW);
const uint SLICE = (TAPS * Q + 7) / 8 * 8;  // words per input channel of a block
const uint RUNS = (OW + R - 1) / R;  // tiles per output row
const int SPAN = (int(R) - 1) * SW + (KW - 1) * DW + 1;  // input columns a tile reads per row

void main() {
  const uint item = min(gl_GlobalInvocationID.x, N * OH * RUNS - 1);
  const uint ox0 = (item % RUNS) * R;
  const uint oy = (item / RUNS) % OH;
  const uint n = item / (RUNS * OH);
  const uint group = (BLOCK0 + gl_WorkGroupID.y) / BLOCKS;
  const uint block = (BLOCK0 + gl_WorkGroupID.y) % BLOCKS;

  // Clamped input columns of the span and whether each lies inside the input, so that padding
  // is a select rather than a branch.
  const int x0 = int(ox0) * SW - PL;
  int column[SPAN];
  bool column_inside[SPAN];
  [[unroll]] for (int j = 0; j < SPAN; ++j) {
    column[j] = clamp(x0 + j, 0, W - 1);
    column_inside[j] = x0 + j >= 0 && x0 + j < W;
  }
  int row[KH];
  bool row_inside[KH];
  [[unroll]] for (int ky = 0; ky < KH; ++ky) {
    const int iy = int(oy) * SH - PT + ky * DH;
    row[ky] = clamp(iy, 0, H - 1) * W;
    row_inside[ky] = iy >= 0 && iy < H;
  }

  vec4 acc[R][Q4];
  [[unroll]] for (uint r = 0; r < R; ++r)
    [[unroll]] for (uint q = 0; q < Q4; ++q) acc[r][q] = vec4(0.0);

  const uint plane = uint(H * W);
  uint in_base = IN_OFF + (n * C + group * ICG) * plane;
  uint w_base = WT_OFF + gl_WorkGroupID.y * ICG * SLICE;
#ifdef SUBGROUP_WEIGHTS
  const uint lane = gl_SubgroupInvocationID & 7u;
#endif
  for (uint ic = 0; ic < ICG; ++ic) {
#ifdef SUBGROUP_WEIGHTS
    float share[SLICE / 8];
    [[unroll]] for (uint j = 0; j < SLICE / 8; ++j) share[j] = texelFetch(wt_texels, int(w_base + j * 8 + lane)).x;
#endif
    [[unroll]] for (int ky = 0; ky < KH; ++ky) {
      float span[SPAN];
      [[unroll]] for (int j = 0; j < SPAN; ++j) {
        const float v = texelFetch(in_texels[0], int(in_base + uint(row[ky] + column[j]))).x;
        span[j] = !PADDED || (row_inside[ky] && column_inside[j]) ? v : 0.0;
      }
      [[unroll]] for (int kx = 0; kx < KW; ++kx) {
        const uint tap = uint(ky * KW + kx);
        vec4 w[Q4];
        [[unroll]] for (uint q = 0; q < Q4; ++q) {
#ifdef SUBGROUP_WEIGHTS
          [[unroll]] for (uint k = 0; k < 4; ++k) {
            const uint e = tap * Q + q * 4 + k;
            w[q][k] = subgroupBroadcast(share[e / 8], e % 8);
          }
#else
          w[q] = texelFetch(wt4_texels, int((w_base + tap * Q) / 4 + q));
#endif
        }
        [[unroll]] for (uint r = 0; r < R; ++r)
          [[unroll]] for (uint q = 0; q < Q4; ++q) acc[r][q] += span[int(r) * SW + kx * DW] * w[q];
      }
    }
    in_base += plane;
    w_base += SLICE;
  }

  const bool item_valid = gl_GlobalInvocationID.x < N * OH * RUNS;
  const uint out_row = OUT_OFF + (n * M + group * OCG) * OH * OW + oy * OW + ox0;
  [[unroll]] for (uint q = 0; q < Q4; ++q) {
    const vec4 bias = HAS_BIAS ? wt4[(BIAS_OFF + gl_WorkGroupID.y * Q) / 4 + q] : vec4(0.0);
    [[unroll]] for (uint k = 0; k < 4; ++k) {
      const uint oc = block * Q + q * 4 + k;
      [[unroll]] for (uint r = 0; r < R; ++r) {
        if (item_valid && oc < OCG && ox0 + r < OW)
          dst[out_row + oc * OH * OW + r] = apply_activation(acc[r][q][k] + bias[k], ACT_KIND, ACT_ALPHA, ACT_BETA);
      }
    }
  }
}
