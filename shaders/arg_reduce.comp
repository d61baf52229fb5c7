#version 450
#extension GL_GOOGLE_include_directive : require
// ArgMax / ArgMin along one axis, one output element per item. The input is seen as [OUTER,
// AXIS, INNER]; an item scans its AXIS elements and writes the winner's index as a float. NaN
// wins over every number (as numpy's argmax and argmin, ONNX's reference, have it); ties go to
// the first index, or the last when LAST.
#include "common.glsl"
#include "elementwise.glsl"

layout(constant_id = 0) const uint COUNT = 1;
layout(constant_id = 1) const uint STRIDE = 64;
// Arena offsets (4-byte words) vary between otherwise equal layers: push constants, so that
// those layers share one pipeline.
layout(push_constant) uniform Push {
  uint IN_OFF;
  uint OUT_OFF;
};
layout(constant_id = 4) const uint KIND = ARG_MAX;
layout(constant_id = 5) const bool LAST = false;
layout(constant_id = 6) const uint AXIS = 1;   // the reduced axis' length
layout(constant_id = 7) const uint INNER = 1;  // elements after the axis

void main() {
  for (uint o = gl_GlobalInvocationID.x; o < COUNT; o += STRIDE) {
    const uint base = IN_OFF + (o / INNER) * AXIS * INNER + o % INNER;
    float best = texelFetch(in_texels[0], int(base)).x;
    uint index = 0;
    for (uint k = 1; k < AXIS; ++k) {
      const float v = texelFetch(in_texels[0], int(base + k * INNER)).x;
      bool take;
      if (isnan(best)) take = LAST && isnan(v);
      else if (isnan(v)) take = true;
      else if (KIND == ARG_MAX) take = LAST ? v >= best : v > best;
      else take = LAST ? v <= best : v < best;
      if (take) {
        best = v;
        index = k;
      }
    }
    dst[OUT_OFF + o] = float(index);
  }
}
