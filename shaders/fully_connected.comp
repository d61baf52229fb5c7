#version 450
#extension GL_GOOGLE_include_directive : require
// Y[N, M] = X[N, K] * W^T + B as a register-tiled product: each invocation computes a tile of R
// rows x F features of Y, so that every weight vector it loads feeds R rows and every input
// vector F features (a one-row layer has R = 1). The lanes of a workgroup run along the
// features and share the tile's rows (gl_WorkGroupID.y), so they all read the same X. On CPU
// implementations every load is a gather over the lanes, so this reuse is what sets the speed.
//
// Weights are packed as vec4s [MT][K4][F] over the MT tiles of F features (zero past M and K),
// so that each lane streams through its own tile's weights (on lavapipe, 2x faster at one row
// than [K4][F][MT], whose neighbouring lanes read neighbouring vec4s); X is read as vec4 when its rows allow,
// else as four scalars. A layer whose weights exceed one buffer binding runs as several
// dispatches, each over M of Y's Y_STRIDE features.
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
layout(constant_id = 6) const uint K = 1;
layout(constant_id = 7) const uint M = 1;
layout(constant_id = 8) const bool X_VEC4 = false;  // rows of X start 16-byte aligned and K % 4 == 0
layout(constant_id = 9) const uint ACT_KIND = 0;
layout(constant_id = 10) const float ACT_ALPHA = 0.0;
layout(constant_id = 11) const float ACT_BETA = 0.0;
layout(constant_id = 12) const uint Y_STRIDE = 1;  // features per row of Y
layout(constant_id = 13) const uint N = 1;         // rows of X and Y
layout(constant_id = 14) const uint R = 1;         // rows per invocation
layout(constant_id = 15) const uint F = 1;         // features per invocation

const uint K4 = (K + 3) / 4;
const uint MT = (M + F - 1) / F;

void main() {
  const uint tile = min(gl_GlobalInvocationID.x, MT - 1);
  const uint row0 = gl_WorkGroupID.y * R;
  // Rows past N read the last row again and are not stored.
  uint x_row[R];
  [[unroll]] for (uint r = 0; r < R; ++r) x_row[r] = IN_OFF + min(row0 + r, N - 1) * K;

  float acc[R][F];
  [[unroll]] for (uint r = 0; r < R; ++r)
    [[unroll]] for (uint f = 0; f < F; ++f) acc[r][f] = 0.0;

  uint w_at = WT_OFF / 4 + tile * K4 * F;
  for (uint k4 = 0; k4 < K4; ++k4) {
    vec4 x[R];
    [[unroll]] for (uint r = 0; r < R; ++r) {
      if (X_VEC4) {
        x[r] = texelFetch(in4_texels[0], int(x_row[r] / 4 + k4));
      } else {
        // The padded tail reads clamped X and multiplies it by zero weights.
        [[unroll]] for (uint j = 0; j < 4; ++j)
          x[r][j] = texelFetch(in_texels[0], int(x_row[r] + min(k4 * 4 + j, K - 1))).x;
      }
    }
    [[unroll]] for (uint f = 0; f < F; ++f) {
      const vec4 w = texelFetch(wt4_texels, int(w_at + f));
      [[unroll]] for (uint r = 0; r < R; ++r) acc[r][f] += dot(x[r], w);
    }
    w_at += F;
  }

  if (gl_GlobalInvocationID.x >= MT) return;
  [[unroll]] for (uint f = 0; f < F; ++f) {
    const uint m = tile * F + f;
    if (m >= M) break;
    const float bias = HAS_BIAS ? wt[BIAS_OFF + m] : 0.0;
    [[unroll]] for (uint r = 0; r < R; ++r)
      if (row0 + r < N)
        dst[OUT_OFF + (row0 + r) * Y_STRIDE + m] = apply_activation(acc[r][f] + bias, ACT_KIND, ACT_ALPHA, ACT_BETA);
  }
}
