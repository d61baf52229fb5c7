#version 450
#extension GL_GOOGLE_include_directive : require
// Normalization of ROWS rows of LEN contiguous elements, one row per item: LayerNorm (a row is
// the normalized trailing axes, an affine entry per element: INNER = 1, CHANNELS = LEN) and
// GroupNorm (a row is one group of one batch item, an affine entry per channel: INNER = the
// spatial size, CHANNELS = C). Element i of the tensor takes affine entry (i / INNER) % CHANNELS.
// The variance is the mean of squared deviations from the mean (two passes), which stays
// accurate where E[x^2] - E[x]^2 would cancel.
#include "common.glsl"
#include "elementwise.glsl"

layout(constant_id = 0) const uint ROWS = 1;
layout(constant_id = 1) const uint STRIDE = 64;
// Offsets (4-byte words) into the bindings vary between otherwise equal layers: push constants,
// so that those layers share one pipeline.
layout(push_constant) uniform Push {
  uint IN_OFF;
  uint OUT_OFF;
  uint SCALE_OFF;
  uint BIAS_OFF;
};
layout(constant_id = 4) const uint LEN = 1;
layout(constant_id = 5) const uint INNER = 1;
layout(constant_id = 6) const uint CHANNELS = 1;
layout(constant_id = 7) const float EPSILON = 1e-5;

void main() {
  for (uint r = gl_GlobalInvocationID.x; r < ROWS; r += STRIDE) {
    const uint base = r * LEN;
    float sum = 0.0;
    for (uint k = 0; k < LEN; ++k) sum += in_act[0].v[IN_OFF + base + k];
    const float mean = sum / float(LEN);
    float squares = 0.0;
    for (uint k = 0; k < LEN; ++k) {
      float d = in_act[0].v[IN_OFF + base + k] - mean;
      squares += d * d;
    }
    const float inv_std = 1.0 / sqrt(squares / float(LEN) + EPSILON);
    for (uint k = 0; k < LEN; ++k) {
      const uint c = ((base + k) / INNER) % CHANNELS;
      dst[OUT_OFF + base + k] = (in_act[0].v[IN_OFF + base + k] - mean) * inv_std * wt[SCALE_OFF + c] + wt[BIAS_OFF + c];
    }
  }
}
