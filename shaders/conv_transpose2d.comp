#version 450
#extension GL_GOOGLE_include_directive : require
// Grouped transposed 2-D convolution, one output element per item. Output (oy, ox) gathers the
// input pixels whose kernel taps land on it: iy = (oy + PT - ky * DH) / SH where that divides
// exactly and lies inside the input, likewise ix. Weights arrive as [M][ICG][KH][KW] (the
// engine repacks ONNX's [C][OCG][KH][KW]), so an item reads its channel's weights contiguously.
#include "common.glsl"
#include "elementwise.glsl"

layout(constant_id = 0) const uint COUNT = 1;
layout(constant_id = 1) const uint STRIDE = 64;
// Offsets (4-byte words) into the bindings vary between otherwise equal layers: push
// constants, so that those layers share one pipeline.
layout(push_constant) uniform Push {
  uint IN_OFF;
  uint OUT_OFF;
  uint WT_OFF;
  uint BIAS_OFF;
};
layout(constant_id = 4) const bool HAS_BIAS = false;
layout(constant_id = 5) const uint C = 1;
layout(constant_id = 6) const int H = 1;
layout(constant_id = 7) const int W = 1;
layout(constant_id = 8) const uint M = 1;
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
layout(constant_id = 19) const uint ICG = 1;  // input channels per group
layout(constant_id = 20) const uint OCG = 1;  // output channels per group
layout(constant_id = 21) const uint ACT_KIND = 0;
layout(constant_id = 22) const float ACT_ALPHA = 0.0;
layout(constant_id = 23) const float ACT_BETA = 0.0;

void main() {
  const uint plane = uint(H * W);
  for (uint i = gl_GlobalInvocationID.x; i < COUNT; i += STRIDE) {
    const uint ox = i % OW;
    const uint oy = (i / OW) % OH;
    const uint m = (i / (OW * OH)) % M;
    const uint n = i / (OW * OH * M);
    const uint in_base = IN_OFF + (n * C + (m / OCG) * ICG) * plane;
    const uint w_base = WT_OFF + m * ICG * uint(KH * KW);
    float acc = HAS_BIAS ? wt[BIAS_OFF + m] : 0.0;
    for (int ky = 0; ky < KH; ++ky) {
      const int ty = int(oy) + PT - ky * DH;
      if (ty < 0 || ty % SH != 0 || ty / SH >= H) continue;
      for (int kx = 0; kx < KW; ++kx) {
        const int tx = int(ox) + PL - kx * DW;
        if (tx < 0 || tx % SW != 0 || tx / SW >= W) continue;
        const uint pixel = uint((ty / SH) * W + tx / SW);
        const uint tap = uint(ky * KW + kx);
        for (uint ic = 0; ic < ICG; ++ic)
          acc += texelFetch(in_texels[0], int(in_base + ic * plane + pixel)).x *
                 texelFetch(wt_texels, int(w_base + ic * uint(KH * KW) + tap)).x;
      }
    }
    dst[OUT_OFF + i] = apply_activation(acc, ACT_KIND, ACT_ALPHA, ACT_BETA);
  }
}
