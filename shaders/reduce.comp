#version 450
#extension GL_GOOGLE_include_directive : require
// Reduction over any set of axes, one output element per item. The input is seen as DIM0..DIM5
// (outermost first) where bit d of MASK marks DIMd as reduced; the innermost reduced axis is
// walked with one stride and the others are decomposed from a counter.
#include "common.glsl"
#include "elementwise.glsl"

layout(constant_id = 0) const uint COUNT = 1;
layout(constant_id = 1) const uint STRIDE = 64;
// Offsets (4-byte words) into the bindings vary between otherwise equal layers: push constants, so that
// those layers share one pipeline.
layout(push_constant) uniform Push {
  uint IN_OFF;
  uint OUT_OFF;
};
layout(constant_id = 4) const uint KIND = REDUCE_MEAN;
layout(constant_id = 5) const uint REDUCED = 1;  // elements per output
layout(constant_id = 6) const uint MASK = 0;
layout(constant_id = 7) const uint DIM0 = 1;
layout(constant_id = 8) const uint DIM1 = 1;
layout(constant_id = 9) const uint DIM2 = 1;
layout(constant_id = 10) const uint DIM3 = 1;
layout(constant_id = 11) const uint DIM4 = 1;
layout(constant_id = 12) const uint DIM5 = 1;

void main() {
  const uint dims[6] = uint[6](DIM0, DIM1, DIM2, DIM3, DIM4, DIM5);
  // The innermost reduced axis and its stride.
  uint inner = 5, inner_stride = 1;
  for (uint s = 1, d = 6; d-- > 0; s *= dims[d])
    if ((MASK & (1u << d)) != 0u) {
      inner = d;
      inner_stride = s;
      break;
    }
  const uint inner_len = (MASK & (1u << inner)) != 0u ? dims[inner] : 1u;
  for (uint o = gl_GlobalInvocationID.x; o < COUNT; o += STRIDE) {
    uint base = 0;
    uint rest = o;
    for (uint s = 1, d = 6; d-- > 0; s *= dims[d])
      if ((MASK & (1u << d)) == 0u) {
        base += (rest % dims[d]) * s;
        rest /= dims[d];
      }
    float acc = KIND == REDUCE_MAX ? -1.0 / 0.0 : KIND == REDUCE_MIN ? 1.0 / 0.0 : 0.0;
    for (uint r = 0; r < REDUCED / inner_len; ++r) {
      uint start = base;
      uint left = r;
      for (uint s = 1, d = 6; d-- > 0; s *= dims[d])
        if ((MASK & (1u << d)) != 0u && d != inner) {
          start += (left % dims[d]) * s;
          left /= dims[d];
        }
      for (uint k = 0; k < inner_len; ++k) {
        float v = in_act[0].v[IN_OFF + start + k * inner_stride];
        if (KIND == REDUCE_MAX) acc = max(acc, v);
        else if (KIND == REDUCE_MIN) acc = min(acc, v);
        else if (KIND == REDUCE_L1) acc += abs(v);
        else if (KIND == REDUCE_L2 || KIND == REDUCE_SUM_SQUARE) acc += v * v;
        else acc += v;
      }
    }
    if (KIND == REDUCE_MEAN) acc /= float(REDUCED);
    else if (KIND == REDUCE_L2) acc = sqrt(acc);
    dst[OUT_OFF + o] = acc;
  }
}
