// Launch shape and operand access shared by the element-wise and data-movement shaders
// (include after common.glsl). Work is a flat range of items walked with a grid stride, so the
// workgroup count stays within device limits; the stride is a specialization constant.
layout(local_size_x = 64) in;

// How a vec4 of A's elements finds its broadcast operand values: BCAST_* from schema_enums.glsl,
// as BroadcastFetch in engine/src/ops/shader_codes.hpp says.

// An operand in the weights or in operand slot `slot` (a literal: see common.glsl).
float load_operand(bool in_weights, uint slot, uint index) {
  if (in_weights) return wt[index];
  return slot == 0 ? in_act[0].v[index] : in_act[1].v[index];
}

vec4 load_operand4(bool in_weights, uint slot, uint index4) {
  if (in_weights) return wt4[index4];
  return slot == 0 ? in_act4[0].v[index4] : in_act4[1].v[index4];
}

// Operand value for flat element i when it repeats as B[(i / inner) % count].
float load_broadcast(bool in_weights, uint slot, uint offset, uint i, uint inner, uint count) {
  return load_operand(in_weights, slot, offset + (i / inner) % count);
}

// The same for elements i..i+3, i a multiple of 4.
vec4 load_broadcast4(bool in_weights, uint slot, uint offset, uint i, uint inner, uint count, uint fetch) {
  if (fetch == BCAST_SPLAT) return vec4(load_broadcast(in_weights, slot, offset, i, inner, count));
  if (fetch == BCAST_VEC4) return load_operand4(in_weights, slot, (offset + i % count) / 4);
  vec4 values;
  [[unroll]] for (uint k = 0; k < 4; ++k) values[k] = load_broadcast(in_weights, slot, offset, i + k, inner, count);
  return values;
}

vec4 apply_activation4(vec4 v, uint kind, float alpha, float beta) {
  return vec4(apply_activation(v.x, kind, alpha, beta), apply_activation(v.y, kind, alpha, beta),
              apply_activation(v.z, kind, alpha, beta), apply_activation(v.w, kind, alpha, beta));
}
