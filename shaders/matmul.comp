#version 450
#extension GL_GOOGLE_include_directive : require
// Batched matrix product Y[b] = A[b] x B[b], one output element per item. The output's batch
// index splits into up to 4 batch coordinates (O0..O3); each operand's matrix for them is at
// sum c_d * SA_d (SB_d) matrices, a stride of 0 broadcasting that axis. Either operand may live
// in the weight buffer.
#include "common.glsl"
#include "elementwise.glsl"

layout(constant_id = 0) const uint COUNT = 1;
layout(constant_id = 1) const uint STRIDE = 64;
// Offsets (4-byte words) into the bindings vary between otherwise equal layers: push
// constants, so that those layers share one pipeline.
layout(push_constant) uniform Push {
  uint A_OFF;
  uint B_OFF;
  uint OUT_OFF;
};
layout(constant_id = 5) const bool A_IN_WEIGHTS = false;
layout(constant_id = 6) const bool B_IN_WEIGHTS = false;
layout(constant_id = 7) const uint M = 1;
layout(constant_id = 8) const uint K = 1;
layout(constant_id = 9) const uint N = 1;
layout(constant_id = 10) const uint O1 = 1;
layout(constant_id = 11) const uint O2 = 1;
layout(constant_id = 12) const uint O3 = 1;
layout(constant_id = 13) const uint SA0 = 0;
layout(constant_id = 14) const uint SA1 = 0;
layout(constant_id = 15) const uint SA2 = 0;
layout(constant_id = 16) const uint SA3 = 0;
layout(constant_id = 17) const uint SB0 = 0;
layout(constant_id = 18) const uint SB1 = 0;
layout(constant_id = 19) const uint SB2 = 0;
layout(constant_id = 20) const uint SB3 = 0;

void main() {
  for (uint i = gl_GlobalInvocationID.x; i < COUNT; i += STRIDE) {
    const uint n = i % N;
    const uint m = (i / N) % M;
    uint batch = i / (N * M);
    const uint c3 = batch % O3;
    batch /= O3;
    const uint c2 = batch % O2;
    batch /= O2;
    const uint c1 = batch % O1;
    const uint c0 = batch / O1;
    const uint a = A_OFF + (c0 * SA0 + c1 * SA1 + c2 * SA2 + c3 * SA3) * M * K + m * K;
    const uint b = B_OFF + (c0 * SB0 + c1 * SB1 + c2 * SB2 + c3 * SB3) * K * N + n;
    float acc = 0.0;
    for (uint k = 0; k < K; ++k) acc += load_operand(A_IN_WEIGHTS, 0, a + k) * load_operand(B_IN_WEIGHTS, 1, b + k * N);
    dst[OUT_OFF + i] = acc;
  }
}
