#version 450
#extension GL_EXT_control_flow_attributes : require
// Micro-benchmark of the device's fp32 rate: ITERATIONS (a multiple of 16) rounds of CHAINS independent vec4 fused
// multiply-adds per invocation, 8 * CHAINS FLOP a round. Independent chains hide the FMA latency;
// two vec4s are eight accumulators, which still fit the registers of a CPU implementation that
// runs each component of eight lanes as one AVX2 register. The result is stored so the compiler
// keeps the work.
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint ITERATIONS = 1024;
const int CHAINS = 2;
layout(std430, set = 0, binding = 0) buffer Out { vec4 result[]; };

void main() {
  const float seed = float(gl_GlobalInvocationID.x) * 1e-7;
  vec4 acc[CHAINS];
  [[unroll]] for (int i = 0; i < CHAINS; ++i) acc[i] = vec4(seed + float(i));
  const vec4 a = vec4(0.999999), b = vec4(1e-7);
  // 16 rounds per trip: a loop's own bookkeeping (on CPU implementations, lane masks too) must
  // not dilute the arithmetic.
  for (uint k = 0; k < ITERATIONS / 16; ++k)
    [[unroll]] for (int u = 0; u < 16; ++u)
      [[unroll]] for (int i = 0; i < CHAINS; ++i) acc[i] = fma(acc[i], a, b);
  vec4 sum = vec4(0.0);
  [[unroll]] for (int i = 0; i < CHAINS; ++i) sum += acc[i];
  result[gl_GlobalInvocationID.x] = sum;
}
