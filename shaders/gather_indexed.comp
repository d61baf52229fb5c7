#version 450
#extension GL_GOOGLE_include_directive : require
// Gather along one axis at indices computed on the GPU, one output element per item. X is seen
// as [OUTER, AXIS, INNER] and the output as [OUTER, K, INNER]; output slice k copies input
// slice index[k]. The indices are floats holding integers: rounded, wrapped once when negative
// (ONNX's counting from the end), then clamped into the axis (ONNX leaves an index outside it
// undefined; a NaN reads slice 0), so no index reads outside X.
#include "common.glsl"
#include "elementwise.glsl"

layout(constant_id = 0) const uint COUNT = 1;
layout(constant_id = 1) const uint STRIDE = 64;
// Arena and weight offsets (4-byte words) vary between otherwise equal layers: push
// constants, so that those layers share one pipeline.
layout(push_constant) uniform Push {
  uint IN_OFF;
  uint OUT_OFF;
  uint INDEX_OFF;
};
layout(constant_id = 5) const bool X_IN_WEIGHTS = false;  // X is a constant (a lookup table)
layout(constant_id = 6) const uint INNER = 1;             // elements per slice
layout(constant_id = 7) const uint K = 1;                 // indices
layout(constant_id = 8) const uint AXIS = 1;              // X's length along the axis

uint slice_of(float value) {
  if (isnan(value)) return 0u;
  // Into range before rounding: lavapipe's round() of a float beyond int range (1e20) is garbage.
  float v = round(clamp(value, -float(AXIS), float(AXIS)));
  if (v < 0.0) v += float(AXIS);
  return uint(clamp(v, 0.0, float(AXIS - 1u)));
}

void main() {
  for (uint i = gl_GlobalInvocationID.x; i < COUNT; i += STRIDE) {
    const uint j = i % INNER;
    const uint k = (i / INNER) % K;
    const uint outer = i / (INNER * K);
    const uint index = slice_of(in_act[1].v[INDEX_OFF + k]);
    dst[OUT_OFF + i] = load_operand(X_IN_WEIGHTS, 0, IN_OFF + (outer * AXIS + index) * INNER + j);
  }
}
