#version 450
#extension GL_GOOGLE_include_directive : require
// Batched matrix product Y[b] = A[b] x B[b] (A [M, K], B [K, N]) as a register-tiled product:
// each item computes R rows x 4 columns of one Y[b], so that every loaded vec4 of B feeds R rows
// and every value of A 4 columns. Neighbouring lanes take neighbouring column tiles of the same
// rows. The output's batch index splits into up to 4 batch coordinates (O0..O3); each
// operand's matrix for them is at sum c_d * SA_d (SB_d) matrices, a stride of 0 broadcasting
// that axis. Either operand may live in the weight buffer. Reads go through the texel views
// (common.glsl), as vec4 where the rows allow (A_VEC4, B_VEC4).
#include "common.glsl"

layout(local_size_x = 64) in;
layout(constant_id = 0) const uint COUNT = 1;  // items: batches x row tiles x column tiles
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
layout(constant_id = 21) const uint R = 1;            // rows per item
layout(constant_id = 22) const bool A_VEC4 = false;   // A's rows start 16-byte aligned (K % 4 == 0)
layout(constant_id = 23) const bool B_VEC4 = false;   // B's rows start 16-byte aligned (N % 4 == 0)

const uint ROW_TILES = (M + R - 1) / R;
const uint COL_TILES = (N + 3) / 4;

float load_a(uint index) {
  return A_IN_WEIGHTS ? texelFetch(wt_texels, int(index)).x : texelFetch(in_texels[0], int(index)).x;
}

vec4 load_a4(uint index) {
  if (!A_VEC4) return vec4(load_a(index), load_a(index + 1), load_a(index + 2), load_a(index + 3));
  return A_IN_WEIGHTS ? texelFetch(wt4_texels, int(index / 4)) : texelFetch(in4_texels[0], int(index / 4));
}

float load_b(uint index) {
  return B_IN_WEIGHTS ? texelFetch(wt_texels, int(index)).x : texelFetch(in_texels[1], int(index)).x;
}

// Columns n0 .. n0 + 3 of a row of B starting at `row`; those past N read column N - 1 again.
vec4 load_b4(uint row, uint n0) {
  if (B_VEC4) return B_IN_WEIGHTS ? texelFetch(wt4_texels, int((row + n0) / 4)) : texelFetch(in4_texels[1], int((row + n0) / 4));
  vec4 v;
  [[unroll]] for (uint j = 0; j < 4; ++j) v[j] = load_b(row + min(n0 + j, N - 1));
  return v;
}

void main() {
  for (uint i = gl_GlobalInvocationID.x; i < COUNT; i += STRIDE) {
    const uint n0 = (i % COL_TILES) * 4;
    const uint m0 = ((i / COL_TILES) % ROW_TILES) * R;
    uint batch = i / (COL_TILES * ROW_TILES);
    const uint out_batch = batch;
    const uint c3 = batch % O3;
    batch /= O3;
    const uint c2 = batch % O2;
    batch /= O2;
    const uint c1 = batch % O1;
    const uint c0 = batch / O1;
    const uint a = A_OFF + (c0 * SA0 + c1 * SA1 + c2 * SA2 + c3 * SA3) * M * K;
    const uint b = B_OFF + (c0 * SB0 + c1 * SB1 + c2 * SB2 + c3 * SB3) * K * N;
    // Rows past M read row M - 1 again and are not stored.
    uint a_row[R];
    [[unroll]] for (uint r = 0; r < R; ++r) a_row[r] = a + min(m0 + r, M - 1) * K;
    vec4 acc[R];
    [[unroll]] for (uint r = 0; r < R; ++r) acc[r] = vec4(0.0);
    uint k = 0;
    for (; k + 4 <= K; k += 4) {
      vec4 x[R];
      [[unroll]] for (uint r = 0; r < R; ++r) x[r] = load_a4(a_row[r] + k);
      [[unroll]] for (uint j = 0; j < 4; ++j) {
        const vec4 w = load_b4(b + (k + j) * N, n0);
        [[unroll]] for (uint r = 0; r < R; ++r) acc[r] += x[r][j] * w;
      }
    }
    for (; k < K; ++k) {
      const vec4 w = load_b4(b + k * N, n0);
      [[unroll]] for (uint r = 0; r < R; ++r) acc[r] += load_a(a_row[r] + k) * w;
    }
    const uint y = OUT_OFF + out_batch * M * N;
    [[unroll]] for (uint r = 0; r < R; ++r)
      [[unroll]] for (uint j = 0; j < 4; ++j)
        if (m0 + r < M && n0 + j < N) dst[y + (m0 + r) * N + n0 + j] = acc[r][j];
  }
}
