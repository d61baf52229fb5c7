#version 450
#extension GL_EXT_control_flow_attributes : require
#extension GL_EXT_spirv_intrinsics : require
// Micro-benchmark of the device's packed int8 dot-product rate (the int8 kernels' multiply on
// devices with VK_KHR_shader_integer_dot_product): ITERATIONS (a multiple of 16) rounds of
// CHAINS independent ivec4 accumulations of OpSDot, 4 * 4 * CHAINS multiply-adds a round, laid
// out like peak_fp32.comp.
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint ITERATIONS = 1024;
const int CHAINS = 2;
layout(std430, set = 0, binding = 0) buffer Out { ivec4 result[]; };

spirv_instruction(extensions = ["SPV_KHR_integer_dot_product"], capabilities = [6019, 6018], id = 4450)
int sdot_packed(uint a, uint b, spirv_literal int format);

void main() {
  const uint seed = gl_GlobalInvocationID.x;
  ivec4 acc[CHAINS];
  [[unroll]] for (int i = 0; i < CHAINS; ++i) acc[i] = ivec4(int(seed) + i);
  // Each dot product reads its own chain's accumulator, so no round can be folded or hoisted.
  const uint b = 0x7F01FF80u;
  for (uint k = 0; k < ITERATIONS / 16; ++k)
    [[unroll]] for (int u = 0; u < 16; ++u)
      [[unroll]] for (int i = 0; i < CHAINS; ++i)
        acc[i] += ivec4(sdot_packed(uint(acc[i].x), b, 0), sdot_packed(uint(acc[i].y), b, 0),
                        sdot_packed(uint(acc[i].z), b, 0), sdot_packed(uint(acc[i].w), b, 0));
  ivec4 sum = ivec4(0);
  [[unroll]] for (int i = 0; i < CHAINS; ++i) sum += acc[i];
  result[gl_GlobalInvocationID.x] = sum;
}
