// Bindings shared by every vkbnn compute shader: one activation arena and one weight buffer,
// both addressed in 4-byte words. Shapes arrive as specialization constants, so each layer's
// pipeline is compiled for its exact shape; offsets into the two buffers arrive as push
// constants, so layers that differ only in where their tensors live share a pipeline.
#extension GL_EXT_control_flow_attributes : require

// The schema's enums (ACT_*, LINK_*, PAD_*, OP_*, ...) and the engine's own codes (BCAST_*,
// PARAM_*), generated from the C++ definitions by shaders/generator.
#include "schema_enums.glsl"

layout(std430, set = 0, binding = 0) buffer Arena { float act[]; };
layout(std430, set = 0, binding = 0) buffer ArenaVec4 { vec4 act4[]; };
layout(std430, set = 0, binding = 1) readonly buffer Weights { float wt[]; };
layout(std430, set = 0, binding = 1) readonly buffer WeightsVec4 { vec4 wt4[]; };

// The same two buffers as texel buffers, for reading. lavapipe (Mesa 22.3) loads from a storage
// buffer with a loop over the lanes, but fetches texels with vector code: reading the hot
// operands this way took ResNet-18 from ~170 to ~110 ms there. Real GPUs read either at the same speed.
layout(set = 0, binding = 2) uniform samplerBuffer act_texels;   // R32F, as act[]
layout(set = 0, binding = 3) uniform samplerBuffer wt_texels;    // R32F, as wt[]
layout(set = 0, binding = 4) uniform samplerBuffer act4_texels;  // RGBA32F, as act4[]
layout(set = 0, binding = 5) uniform samplerBuffer wt4_texels;   // RGBA32F, as wt4[]
// Packed-bit tensors (and integer tables) read as integers: a float view could quieten a word
// whose bits happen to spell a signalling NaN.
layout(set = 0, binding = 6) uniform usamplerBuffer act_bits;    // R32UI, as act[]
layout(set = 0, binding = 7) uniform usamplerBuffer wt_bits;     // R32UI, as wt[]
layout(set = 0, binding = 8) uniform usamplerBuffer wt4_bits;    // RGBA32UI, as wt4[]
layout(std430, set = 0, binding = 0) buffer ArenaBits { uint act_words[]; };

float apply_activation(float x, uint kind, float alpha, float beta) {
  if (kind == ACT_RELU) return max(x, 0.0);
  if (kind == ACT_CLIP) return clamp(x, alpha, beta);
  if (kind == ACT_LEAKY_RELU) return x >= 0.0 ? x : x * alpha;
  if (kind == ACT_SIGMOID) return 1.0 / (1.0 + exp(-x));
  if (kind == ACT_HARD_SIGMOID) return clamp(alpha * x + beta, 0.0, 1.0);
  if (kind == ACT_HARD_SWISH) return x * clamp(x / 6.0 + 0.5, 0.0, 1.0);
  return x;
}
