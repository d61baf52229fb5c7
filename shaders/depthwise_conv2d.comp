#version 450
#extension GL_GOOGLE_include_directive : require
// Depthwise 2-D convolution (group == C == M). A workgroup covers part of one channel plane, so
// the channel's weights and bias are the same for all lanes; each invocation computes R
// neighbouring outputs of a row and loads each input of its row span once for all of them.
// Weights are [C][KH][KW] as in the model.
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
layout(constant_id = 19) const uint R = 4;  // outputs per invocation along the row
layout(constant_id = 20) const uint ACT_KIND = 0;
layout(constant_id = 21) const float ACT_ALPHA = 0.0;
layout(constant_id = 22) const float ACT_BETA = 0.0;

const uint RUNS = (OW + R - 1) / R;  // runs of R outputs per output row
const int SPAN = (int(R) - 1) * SW + (KW - 1) * DW + 1;  // input columns a run reads per row

void main() {
  const uint item = min(gl_GlobalInvocationID.x, OH * RUNS - 1);
  const uint plane = gl_WorkGroupID.y;  // n * C + c
  const uint c = plane % C;
  const uint oy = item / RUNS;
  const uint ox0 = (item % RUNS) * R;
  const int x0 = int(ox0) * SW - PL;
  const uint in_base = IN_OFF + plane * uint(H * W);

  float acc[R];
  [[unroll]] for (uint r = 0; r < R; ++r) acc[r] = 0.0;
  [[unroll]] for (int ky = 0; ky < KH; ++ky) {
    const int iy = int(oy) * SH - PT + ky * DH;
    const bool row_inside = iy >= 0 && iy < H;
    const uint row = in_base + uint(clamp(iy, 0, H - 1) * W);
    float span[SPAN];
    [[unroll]] for (int j = 0; j < SPAN; ++j) {
      const int ix = x0 + j;
      const float v = texelFetch(in_texels[0], int(row + uint(clamp(ix, 0, W - 1)))).x;
      span[j] = row_inside && ix >= 0 && ix < W ? v : 0.0;
    }
    [[unroll]] for (int kx = 0; kx < KW; ++kx) {
      const float w = texelFetch(wt_texels, int(WT_OFF + c * uint(KH * KW) + uint(ky * KW + kx))).x;
      [[unroll]] for (uint r = 0; r < R; ++r) acc[r] += span[int(r) * SW + kx * DW] * w;
    }
  }

  const float bias = HAS_BIAS ? wt[BIAS_OFF + c] : 0.0;
  const uint out_row = OUT_OFF + (plane * OH + oy) * OW;
  const bool item_valid = gl_GlobalInvocationID.x < OH * RUNS;
  [[unroll]] for (uint r = 0; r < R; ++r) {
    if (item_valid && ox0 + r < OW)
      dst[out_row + ox0 + r] = apply_activation(acc[r] + bias, ACT_KIND, ACT_ALPHA, ACT_BETA);
  }
}
