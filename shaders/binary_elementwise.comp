#version 450
#extension GL_GOOGLE_include_directive : require
// out = act(op(A[i], B[(i / B_INNER) % B_COUNT])) for Add, Mul, Sub, Div, Min, Max, Pow and PRelu
// (B = slope).
// Either operand may be an activation or a packed constant.
#include "common.glsl"
#include "elementwise.glsl"

layout(constant_id = 0) const uint COUNT = 1;
layout(constant_id = 1) const uint STRIDE = 64;
layout(constant_id = 2) const bool VEC4 = false;
// Offsets (4-byte words) into the bindings vary between otherwise equal layers: push
// constants, so that those layers share one pipeline.
layout(push_constant) uniform Push {
  uint A_OFF;
  uint B_OFF;
  uint OUT_OFF;
};
layout(constant_id = 4) const bool A_IN_WEIGHTS = false;
layout(constant_id = 6) const bool B_IN_WEIGHTS = false;
layout(constant_id = 7) const uint B_INNER = 1;
layout(constant_id = 8) const uint B_COUNT = 1;
layout(constant_id = 9) const uint B_FETCH = BCAST_GATHER;
layout(constant_id = 11) const uint OP = 0;
layout(constant_id = 12) const uint ACT_KIND = 0;
layout(constant_id = 13) const float ACT_ALPHA = 0.0;
layout(constant_id = 14) const float ACT_BETA = 0.0;

// OP is an fb::BinaryKind (OP_*) or, after those, PRelu.
#define OP_PRELU (OP_POW + 1u)

// ONNX's Pow on floats. GLSL's pow is undefined for a base <= 0, so the sign is taken apart: a
// negative base raised to an integer exponent is |a|^b with the sign of a when b is odd, and NaN
// for any other exponent; x^0 = 1 for every x. Squares (LayerNorm's variance) are exact products.
float onnx_pow(float a, float b) {
  if (b == 0.0) return 1.0;
  if (b == 1.0) return a;
  if (b == 2.0) return a * a;
  if (a == 0.0) return b > 0.0 ? 0.0 : uintBitsToFloat(0x7f800000u);
  const float magnitude = exp2(b * log2(abs(a)));
  if (a > 0.0) return magnitude;
  if (floor(b) != b) return uintBitsToFloat(0x7fc00000u);
  return mod(b, 2.0) == 1.0 ? -magnitude : magnitude;
}

float combine(float a, float b) {
  if (OP == OP_ADD) return a + b;
  if (OP == OP_MUL) return a * b;
  if (OP == OP_SUB) return a - b;
  if (OP == OP_DIV) return a / b;
  if (OP == OP_MIN) return min(a, b);
  if (OP == OP_MAX) return max(a, b);
  if (OP == OP_POW) return onnx_pow(a, b);
  return a >= 0.0 ? a : a * b;
}

vec4 combine(vec4 a, vec4 b) {
  if (OP == OP_ADD) return a + b;
  if (OP == OP_MUL) return a * b;
  if (OP == OP_SUB) return a - b;
  if (OP == OP_DIV) return a / b;
  if (OP == OP_MIN) return min(a, b);
  if (OP == OP_MAX) return max(a, b);
  if (OP == OP_POW) return vec4(onnx_pow(a.x, b.x), onnx_pow(a.y, b.y), onnx_pow(a.z, b.z), onnx_pow(a.w, b.w));
  return mix(a * b, a, greaterThanEqual(a, vec4(0.0)));
}

void main() {
  if (VEC4 && B_FETCH == BCAST_PLANE) {
    const uint plane = gl_WorkGroupID.y;
    const vec4 b = vec4(load_operand(B_IN_WEIGHTS, 1, B_OFF + plane % B_COUNT));
    for (uint q = gl_GlobalInvocationID.x; q < B_INNER / 4; q += STRIDE) {
      uint v = plane * (B_INNER / 4) + q;
      dst4[OUT_OFF / 4 + v] = apply_activation4(combine(load_operand4(A_IN_WEIGHTS, 0, A_OFF / 4 + v), b), ACT_KIND,
                                                ACT_ALPHA, ACT_BETA);
    }
  } else if (VEC4) {
    for (uint q = gl_GlobalInvocationID.x; q < COUNT / 4; q += STRIDE) {
      vec4 a = load_operand4(A_IN_WEIGHTS, 0, A_OFF / 4 + q);
      vec4 b = load_broadcast4(B_IN_WEIGHTS, 1, B_OFF, q * 4, B_INNER, B_COUNT, B_FETCH);
      dst4[OUT_OFF / 4 + q] = apply_activation4(combine(a, b), ACT_KIND, ACT_ALPHA, ACT_BETA);
    }
  } else {
    for (uint i = gl_GlobalInvocationID.x; i < COUNT; i += STRIDE) {
      float a = load_operand(A_IN_WEIGHTS, 0, A_OFF + i);
      float b = load_broadcast(B_IN_WEIGHTS, 1, B_OFF, i, B_INNER, B_COUNT);
      dst[OUT_OFF + i] = apply_activation(combine(a, b), ACT_KIND, ACT_ALPHA, ACT_BETA);
    }
  }
}
