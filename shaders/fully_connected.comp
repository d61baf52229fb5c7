#version 450
#extension GL_GOOGLE_include_directive : require
// Y[N, M] = X[N, K] * W^T + B. Each invocation computes one output feature of one row as a dot
// product of vec4s: its own weight row (packed [M][K4 * 4], zero padded) and the input row,
// read as vec4 when its offset allows, else as four scalars. A layer whose weights exceed one
// buffer binding runs as several dispatches, each over M of Y's Y_STRIDE features.
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

const uint K4 = (K + 3) / 4;

void main() {
  const uint m = min(gl_GlobalInvocationID.x, M - 1);
  const uint row = gl_WorkGroupID.y;
  const uint x_base = IN_OFF + row * K;
  const uint w_base = WT_OFF / 4 + m * K4;
  vec4 acc = vec4(0.0);
  for (uint k4 = 0; k4 < K4; ++k4) {
    vec4 x;
    if (X_VEC4) {
      x = texelFetch(in4_texels[0], int(x_base / 4 + k4));
    } else {
      // The padded tail reads clamped X and multiplies it by zero weights.
      [[unroll]] for (uint j = 0; j < 4; ++j) x[j] = texelFetch(in_texels[0], int(x_base + min(k4 * 4 + j, K - 1))).x;
    }
    acc += x * texelFetch(wt4_texels, int(w_base + k4));
  }
  float sum = acc.x + acc.y + acc.z + acc.w;
  if (HAS_BIAS) sum += wt[BIAS_OFF + m];
  if (gl_GlobalInvocationID.x < M) dst[OUT_OFF + row * Y_STRIDE + m] = apply_activation(sum, ACT_KIND, ACT_ALPHA, ACT_BETA);
}
