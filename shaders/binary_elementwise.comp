#version 450
#extension GL_GOOGLE_include_directive : require
// out = act(op(A[i], B[(i / B_INNER) % B_COUNT])) for Add, Mul, Sub, Div, Min, Max, Pow, the
// integer TruncDiv, Mod and Fmod, the comparisons and logic (1.0 or 0.0), and PRelu (B = slope).
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

// OP is an fb::BinaryKind (OP_*) or, after the last of those, PRelu.
#define OP_PRELU (OP_XOR + 1u)

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

// Integer Div and Mod on the int32 values of the operands (exact floats below 2^24). A float
// beyond int32's range converts to an undefined value, so it is clamped (to the largest floats
// inside it) first. The magnitudes are divided as unsigned numbers and the signs put back, since
// GLSL leaves / and % of negative ints undefined; a divisor of 0 gives 0.
int as_int(float x) { return int(clamp(x, -2147483520.0, 2147483520.0)); }

float trunc_div(float a, float b) {
  const int x = as_int(a), y = as_int(b);
  if (y == 0) return 0.0;
  const float q = float(uint(abs(x)) / uint(abs(y)));
  return (x < 0) != (y < 0) ? -q : q;
}

// The remainder with the dividend's sign (C's fmod); with the divisor's when floored (Python's %).
float int_mod(float a, float b, bool floored) {
  const int x = as_int(a), y = as_int(b);
  if (y == 0) return 0.0;
  int r = int(uint(abs(x)) % uint(abs(y)));
  if (x < 0) r = -r;
  if (floored && r != 0 && (r < 0) != (y < 0)) r += y;
  return float(r);
}

// ONNX Mod with fmod=1: exact on integer operands, a - b * trunc(a / b) on other floats.
float onnx_fmod(float a, float b) {
  if (a == trunc(a) && b == trunc(b)) return int_mod(a, b, false);
  return a - b * trunc(a / b);
}

float combine(float a, float b) {
  if (OP == OP_ADD) return a + b;
  if (OP == OP_MUL) return a * b;
  if (OP == OP_SUB) return a - b;
  if (OP == OP_DIV) return a / b;
  if (OP == OP_MIN) return min(a, b);
  if (OP == OP_MAX) return max(a, b);
  if (OP == OP_POW) return onnx_pow(a, b);
  if (OP == OP_TRUNC_DIV) return trunc_div(a, b);
  if (OP == OP_MOD) return int_mod(a, b, true);
  if (OP == OP_FMOD) return onnx_fmod(a, b);
  if (OP == OP_EQUAL) return float(a == b);
  if (OP == OP_GREATER) return float(a > b);
  if (OP == OP_GREATER_OR_EQUAL) return float(a >= b);
  if (OP == OP_LESS) return float(a < b);
  if (OP == OP_LESS_OR_EQUAL) return float(a <= b);
  if (OP == OP_AND) return float(a != 0.0 && b != 0.0);
  if (OP == OP_OR) return float(a != 0.0 || b != 0.0);
  if (OP == OP_XOR) return float((a != 0.0) != (b != 0.0));
  return a >= 0.0 ? a : a * b;
}

vec4 combine(vec4 a, vec4 b) {
  if (OP == OP_ADD) return a + b;
  if (OP == OP_MUL) return a * b;
  if (OP == OP_SUB) return a - b;
  if (OP == OP_DIV) return a / b;
  if (OP == OP_MIN) return min(a, b);
  if (OP == OP_MAX) return max(a, b);
  if (OP == OP_POW || OP == OP_TRUNC_DIV || OP == OP_MOD || OP == OP_FMOD)
    return vec4(combine(a.x, b.x), combine(a.y, b.y), combine(a.z, b.z), combine(a.w, b.w));
  if (OP == OP_EQUAL) return vec4(equal(a, b));
  if (OP == OP_GREATER) return vec4(greaterThan(a, b));
  if (OP == OP_GREATER_OR_EQUAL) return vec4(greaterThanEqual(a, b));
  if (OP == OP_LESS) return vec4(lessThan(a, b));
  if (OP == OP_LESS_OR_EQUAL) return vec4(lessThanEqual(a, b));
  if (OP == OP_AND || OP == OP_OR || OP == OP_XOR) {
    // GLSL has no component-wise && or || of bvec4: the truths as 0/1 floats combine instead.
    const vec4 ta = vec4(notEqual(a, vec4(0.0))), tb = vec4(notEqual(b, vec4(0.0)));
    if (OP == OP_AND) return min(ta, tb);
    if (OP == OP_OR) return max(ta, tb);
    return abs(ta - tb);
  }
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
