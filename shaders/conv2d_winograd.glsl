// 3x3 convolution, stride 1, dilation 1, one group, by Winograd's F(2x2, 3x3): each 2x2 block of
// outputs of a channel is A^T [sum over input channels of U (.) V] A, with U = G g G^T the
// channel pair's 3x3 kernel transformed to 4x4 (done once at load, engine/src/ops/conv.cpp) and
// V = B^T d B the 4x4 input patch transformed: 16 multiply-adds per input channel for 4 outputs
// instead of 36, at the price of the transforms, whose cost is shared across Q output channels
// (V) and all input channels (A^T . A, once per output).
//
// Each invocation computes T neighbouring 2x2 tiles along a tile row for Q output channels; per
// input channel it reads the 4 x (2T + 2) input patch once, transforms it, and multiplies each of
// its 16 T transformed values by Q weights. Weights are packed per block of Q output channels as
// [C][16][Q] (channels past M are zero), the bias as [block][Q]; a layer whose weights exceed one
// buffer binding runs as several dispatches over ranges of blocks, the first of them BLOCK0.
// Output tiles past the image's bottom or right edge compute from clamped inputs and are not
// stored.
//
// With SUBGROUP_WEIGHTS defined the weights are loaded once per subgroup and passed around with
// subgroupBroadcast, as in conv2d.glsl.
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(push_constant) uniform Push {
  uint IN_OFF;
  uint OUT_OFF;
  uint WT_OFF;
  uint BIAS_OFF;
};
layout(constant_id = 1) const bool HAS_BIAS = false;
layout(constant_id = 2) const uint N = 1;
layout(constant_id = 3) const uint C = 1;
layout(constant_id = 4) const int H = 1;
layout(constant_id = 5) const int W = 1;
layout(constant_id = 6) const uint M = 1;
layout(constant_id = 7) const uint OH = 1;
layout(constant_id = 8) const uint OW = 1;
layout(constant_id = 9) const int PT = 0;
layout(constant_id = 10) const int PL = 0;
layout(constant_id = 11) const uint Q = 4;  // output channels per invocation, a multiple of 4
layout(constant_id = 12) const uint T = 1;  // 2x2 tiles per invocation along a tile row
layout(constant_id = 13) const bool PADDED = true;  // some inputs read may fall outside the image
layout(constant_id = 14) const uint ACT_KIND = 0;
layout(constant_id = 15) const float ACT_ALPHA = 0.0;
layout(constant_id = 16) const float ACT_BETA = 0.0;
layout(constant_id = 17) const uint BLOCK0 = 0;

const uint Q4 = Q / 4;
const uint SLICE = 16 * Q;  // weight words per input channel of a block
const uint TILES_H = (OH + 1) / 2, TILES_W = (OW + 1) / 2;
const uint RUNS = (TILES_W + T - 1) / T;  // invocations per tile row
const int SPAN = 2 * int(T) + 2;          // input columns an invocation reads

void main() {
  const uint item = min(gl_GlobalInvocationID.x, N * TILES_H * RUNS - 1);
  const uint tx0 = (item % RUNS) * T;
  const uint ty = (item / RUNS) % TILES_H;
  const uint n = item / (RUNS * TILES_H);
  const uint block = BLOCK0 + gl_WorkGroupID.y;

  const int x0 = int(tx0) * 2 - PL, y0 = int(ty) * 2 - PT;
  int column[SPAN];
  bool column_inside[SPAN];
  [[unroll]] for (int j = 0; j < SPAN; ++j) {
    column[j] = clamp(x0 + j, 0, W - 1);
    column_inside[j] = x0 + j >= 0 && x0 + j < W;
  }
  int row[4];
  bool row_inside[4];
  [[unroll]] for (int i = 0; i < 4; ++i) {
    row[i] = clamp(y0 + i, 0, H - 1) * W;
    row_inside[i] = y0 + i >= 0 && y0 + i < H;
  }

  vec4 acc[T][16][Q4];
  [[unroll]] for (uint t = 0; t < T; ++t)
    [[unroll]] for (uint p = 0; p < 16; ++p)
      [[unroll]] for (uint q = 0; q < Q4; ++q) acc[t][p][q] = vec4(0.0);

  const uint plane = uint(H * W);
  uint in_base = IN_OFF + n * C * plane;
  uint w_base = WT_OFF + gl_WorkGroupID.y * C * SLICE;
#ifdef SUBGROUP_WEIGHTS
  const uint lane = gl_SubgroupInvocationID & 7u;
#endif
  for (uint ic = 0; ic < C; ++ic) {
    // B^T d down each column of the patch: rows d0 - d2, d1 + d2, d2 - d1, d1 - d3.
    float col[4][SPAN];
    [[unroll]] for (int j = 0; j < SPAN; ++j) {
      float d[4];
      [[unroll]] for (int i = 0; i < 4; ++i) {
        const float value = texelFetch(in_texels[0], int(in_base + uint(row[i] + column[j]))).x;
        d[i] = !PADDED || (row_inside[i] && column_inside[j]) ? value : 0.0;
      }
      col[0][j] = d[0] - d[2];
      col[1][j] = d[1] + d[2];
      col[2][j] = d[2] - d[1];
      col[3][j] = d[1] - d[3];
    }
    // ... then along each row of every tile: V = (B^T d) B.
    float v[T][16];
    [[unroll]] for (uint t = 0; t < T; ++t)
      [[unroll]] for (uint i = 0; i < 4; ++i) {
        const int c0 = 2 * int(t);
        v[t][i * 4 + 0] = col[i][c0] - col[i][c0 + 2];
        v[t][i * 4 + 1] = col[i][c0 + 1] + col[i][c0 + 2];
        v[t][i * 4 + 2] = col[i][c0 + 2] - col[i][c0 + 1];
        v[t][i * 4 + 3] = col[i][c0 + 1] - col[i][c0 + 3];
      }
#ifdef SUBGROUP_WEIGHTS
    float share[SLICE / 8];
    [[unroll]] for (uint j = 0; j < SLICE / 8; ++j) share[j] = texelFetch(wt_texels, int(w_base + j * 8 + lane)).x;
#endif
    [[unroll]] for (uint p = 0; p < 16; ++p) {
      vec4 w[Q4];
      [[unroll]] for (uint q = 0; q < Q4; ++q) {
#ifdef SUBGROUP_WEIGHTS
        [[unroll]] for (uint k = 0; k < 4; ++k) {
          const uint e = p * Q + q * 4 + k;
          w[q][k] = subgroupBroadcast(share[e / 8], e % 8);
        }
#else
        w[q] = texelFetch(wt4_texels, int((w_base + p * Q) / 4 + q));
#endif
      }
      [[unroll]] for (uint t = 0; t < T; ++t)
        [[unroll]] for (uint q = 0; q < Q4; ++q) acc[t][p][q] += v[t][p] * w[q];
    }
    in_base += plane;
    w_base += SLICE;
  }

  const bool item_valid = gl_GlobalInvocationID.x < N * TILES_H * RUNS;
  const uint oy = ty * 2;
  [[unroll]] for (uint q = 0; q < Q4; ++q) {
    const vec4 bias = HAS_BIAS ? wt4[(BIAS_OFF + gl_WorkGroupID.y * Q) / 4 + q] : vec4(0.0);
    [[unroll]] for (uint t = 0; t < T; ++t) {
      // Y = A^T M A with A^T = [1 1 1 0; 0 1 -1 -1], four output channels at a time.
      vec4 r[2][4];
      [[unroll]] for (uint j = 0; j < 4; ++j) {
        r[0][j] = acc[t][j][q] + acc[t][4 + j][q] + acc[t][8 + j][q];
        r[1][j] = acc[t][4 + j][q] - acc[t][8 + j][q] - acc[t][12 + j][q];
      }
      vec4 y[2][2];
      [[unroll]] for (uint i = 0; i < 2; ++i) {
        y[i][0] = r[i][0] + r[i][1] + r[i][2] + bias;
        y[i][1] = r[i][1] - r[i][2] - r[i][3] + bias;
      }
      const uint ox = (tx0 + t) * 2;
      [[unroll]] for (uint k = 0; k < 4; ++k) {
        const uint oc = block * Q + q * 4 + k;
        const uint out_plane = OUT_OFF + (n * M + oc) * OH * OW;
        [[unroll]] for (uint i = 0; i < 2; ++i)
          [[unroll]] for (uint j = 0; j < 2; ++j) {
            if (item_valid && oc < M && tx0 + t < TILES_W && oy + i < OH && ox + j < OW)
              dst[out_plane + (oy + i) * OW + ox + j] = apply_activation(y[i][j][k], ACT_KIND, ACT_ALPHA, ACT_BETA);
          }
      }
    }
  }
}
