// Bindings shared by every vkbnn compute shader, all addressed in 4-byte words. Each dispatch has
// its own descriptor set that binds only what it touches: the tensor it writes (dst, from the
// tensor's start or from the part it writes), the activation tensors it reads (operand slots
// in_*[k], each bound from the tensor's start) and the weight page it reads. Synchronization
// validation then sees each dispatch's real accesses, and the recorder's barriers follow the same
// ranges. Shapes arrive as specialization constants, so each layer's pipeline is compiled for its
// exact shape; offsets within the bindings arrive as push constants.
#extension GL_EXT_control_flow_attributes : require

// The schema's enums (ACT_*, LINK_*, PAD_*, OP_*, ...) and the engine's own codes (BCAST_*,
// PARAM_*), generated from the C++ definitions by shaders/generator.
#include "schema_enums.glsl"

// kOperandSlots in engine/src/ops/op.hpp. Index the slot arrays with literal constants only
// (dynamic indexing is an optional device feature).
#define OPERAND_SLOTS 3

layout(std430, set = 0, binding = 0) buffer Dst { float dst[]; };
layout(std430, set = 0, binding = 0) buffer Dst4 { vec4 dst4[]; };
layout(std430, set = 0, binding = 0) buffer DstWords { uint dst_words[]; };
layout(std430, set = 0, binding = 1) readonly buffer Weights { float wt[]; };
layout(std430, set = 0, binding = 1) readonly buffer WeightsVec4 { vec4 wt4[]; };
// Read-only: a writable binding would count as a write of the whole tensor.
layout(std430, set = 0, binding = 2) readonly buffer InAct { float v[]; } in_act[OPERAND_SLOTS];
layout(std430, set = 0, binding = 2) readonly buffer InAct4 { vec4 v[]; } in_act4[OPERAND_SLOTS];

// The operands and weights as texel buffers, for reading. lavapipe (Mesa 22.3) loads from a
// storage buffer with a loop over the lanes, but fetches texels with vector code: reading the hot
// operands this way took ResNet-18 from ~170 to ~110 ms there. Real GPUs read either at the same speed.
layout(set = 0, binding = 3) uniform samplerBuffer in_texels[OPERAND_SLOTS];   // R32F, as in_act[k].v
layout(set = 0, binding = 4) uniform samplerBuffer in4_texels[OPERAND_SLOTS];  // RGBA32F, as in_act4[k].v
// Packed-bit tensors (and integer tables) read as integers: a float view could quieten a word
// whose bits happen to spell a signalling NaN.
layout(set = 0, binding = 5) uniform usamplerBuffer in_bits[OPERAND_SLOTS];    // R32UI
layout(set = 0, binding = 6) uniform samplerBuffer wt_texels;    // R32F, as wt[]
layout(set = 0, binding = 7) uniform samplerBuffer wt4_texels;   // RGBA32F, as wt4[]
layout(set = 0, binding = 8) uniform usamplerBuffer wt_bits;     // R32UI, as wt[]
layout(set = 0, binding = 9) uniform usamplerBuffer wt4_bits;    // RGBA32UI, as wt4[]

// GLSL has no erf. Below |x| = 1 its Maclaurin series (alternating, terms below 2e-9 by the 12th)
// keeps the relative error near float's even for tiny x, where GELU's erf(x / sqrt 2) lives;
// above, 1 - erfc(x) with erfc from Abramowitz & Stegun 7.1.26 (absolute error <= 1.5e-7), and
// erf is 1 in float from |x| = 4 on.
// erfc to a relative error of about 1.2e-7 over the whole line (the Chebyshev fit of Numerical
// Recipes' erfcc), so that GELU's left tail x * erfc(-x / sqrt(2)) / 2 keeps its relative
// accuracy where 1 + erf(x) would cancel.
float erfc_approx(float x) {
  const float z = abs(x);
  const float t = 1.0 / (1.0 + 0.5 * z);
  const float p = -z * z - 1.26551223 +
                  t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 +
                  t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const float r = t * exp(p);
  return x >= 0.0 ? r : 2.0 - r;
}

float erf_approx(float x) {
  const float a = abs(x);
  if (a < 1.0) {
    const float x2 = x * x;
    float term = x, sum = x;
    [[unroll]] for (int n = 1; n < 12; ++n) {
      term *= -x2 / float(n);
      sum += term / float(2 * n + 1);
    }
    return 1.1283791670955126 * sum;
  }
  if (a >= 4.0) return sign(x);
  const float t = 1.0 / (1.0 + 0.3275911 * a);
  const float poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return sign(x) * (1.0 - poly * exp(-a * a));
}

// log(1 + exp(x)) without overflow: max(x, 0) + log1p(exp(-|x|)), log1p by its series below 0.1
// (8 terms leave < 1e-9 relative), where 1 + e would round off e's low bits.
float softplus(float x) {
  const float e = exp(-abs(x));
  float log1p_e;
  if (e < 0.1) {
    log1p_e = 0.0;
    [[unroll]] for (int n = 8; n >= 1; --n) log1p_e = e * (1.0 / float(n) - log1p_e);
  } else {
    log1p_e = log(1.0 + e);
  }
  return max(x, 0.0) + log1p_e;
}

// tanh from exp(-2|x|), which cannot overflow; the series below |x| = 2^-4 avoids 1 - t's
// cancellation.
float tanh_stable(float x) {
  const float a = abs(x);
  if (a < 0.0625) {
    const float x2 = x * x;
    return x * (1.0 + x2 * (-1.0 / 3.0 + x2 * (2.0 / 15.0 - x2 * 17.0 / 315.0)));
  }
  const float t = exp(-2.0 * a);
  return sign(x) * (1.0 - t) / (1.0 + t);
}

float apply_activation(float x, uint kind, float alpha, float beta) {
  if (kind == ACT_RELU) return max(x, 0.0);
  if (kind == ACT_CLIP) return clamp(x, alpha, beta);
  if (kind == ACT_LEAKY_RELU) return x >= 0.0 ? x : x * alpha;
  if (kind == ACT_SIGMOID) return 1.0 / (1.0 + exp(-x));
  if (kind == ACT_HARD_SIGMOID) return clamp(alpha * x + beta, 0.0, 1.0);
  if (kind == ACT_HARD_SWISH) return x * clamp(x / 6.0 + 0.5, 0.0, 1.0);
  if (kind == ACT_ERF) return erf_approx(x);
  if (kind == ACT_TANH) return tanh_stable(x);
  if (kind == ACT_EXP) return exp(x);
  if (kind == ACT_LOG) return log(x);
  if (kind == ACT_SQRT) return sqrt(x);
  if (kind == ACT_RECIPROCAL) return 1.0 / x;
  if (kind == ACT_ABS) return abs(x);
  if (kind == ACT_SOFTPLUS) return softplus(x);
  if (kind == ACT_MISH) return x * tanh_stable(softplus(x));
  // exp(-x) overflows to +inf below x = -88, and x / inf is the -0 the limit is.
  if (kind == ACT_SILU) return x / (1.0 + exp(-x));
  if (kind == ACT_GELU) return 0.5 * x * erfc_approx(-x * 0.70710678118654752);
  if (kind == ACT_FLOOR) return floor(x);
  if (kind == ACT_CEIL) return ceil(x);
  if (kind == ACT_ROUND) return roundEven(x);
  if (kind == ACT_TRUNC) return trunc(x);
  if (kind == ACT_NOT) return float(x == 0.0);
  if (kind == ACT_SIGN) return sign(x);
  return x;
}
