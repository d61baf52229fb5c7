#version 450
#extension GL_GOOGLE_include_directive : require
// Softmax over LEN elements INNER apart, one row per item: subtract the row's max before exp
// so that large logits cannot overflow.
#include "common.glsl"
#include "elementwise.glsl"

layout(constant_id = 0) const uint ROWS = 1;
layout(constant_id = 1) const uint STRIDE = 64;
// Offsets (4-byte words) into the bindings vary between otherwise equal layers: push
// constants, so that those layers share one pipeline.
layout(push_constant) uniform Push {
  uint IN_OFF;
  uint OUT_OFF;
};
layout(constant_id = 4) const uint LEN = 1;
layout(constant_id = 5) const uint INNER = 1;

void main() {
  for (uint r = gl_GlobalInvocationID.x; r < ROWS; r += STRIDE) {
    uint base = (r / INNER) * LEN * INNER + r % INNER;
    float m = in_act[0].v[IN_OFF + base];
    for (uint k = 1; k < LEN; ++k) m = max(m, in_act[0].v[IN_OFF + base + k * INNER]);
    float sum = 0.0;
    for (uint k = 0; k < LEN; ++k) {
      float e = exp(in_act[0].v[IN_OFF + base + k * INNER] - m);
      dst[OUT_OFF + base + k * INNER] = e;
      sum += e;
    }
    float scale = 1.0 / sum;
    for (uint k = 0; k < LEN; ++k) dst[OUT_OFF + base + k * INNER] *= scale;
  }
}
