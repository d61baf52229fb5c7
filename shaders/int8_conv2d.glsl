// int8 grouped 2-D convolution (Int8Conv2D, and Int8FullyConnected as a convolution whose kernel
// covers the whole input). Each invocation computes R neighbouring outputs of one row for Q
// output channels (Q / 4 output words), so every input word it loads feeds 4 * Q products and
// every weight R of them.
//
// A block of Q output channels reads the WORDS input words from the first one of its first
// channel's group; weights of channels outside an output channel's group are zero there, so
// one loop serves dense and grouped convolutions alike (depthwise ones have their own kernel,
// int8_depthwise_conv2d.comp). Padded taps read a word of
// four input zero points (the converter folded -zp * sum(w) into the bias).
//
// Two ways to multiply, picked on the host from the device's features:
// - INT8_DOT_PRODUCT: OpSDot on packed 4x8-bit operands (VK_KHR_shader_integer_dot_product).
// - otherwise: bytes widened to float and multiplied with fp32 fused multiply-adds, which every
//   device has (on lavapipe, which offers both, the dot products measured faster: int8 ResNet-18
//   ~190 against ~225 ms on busy cores). A product is at most 128 * 127 in magnitude, so 256 words (1024
//   products) of them sum to less than 2^24 and every partial sum is an exact float integer;
//   the float accumulators move into int32 ones before that bound.
// Weights are [TAPS][WORDS][Q/4] uvec4 per block: four output channels' packed words.
// The per-channel epilogue (bias, multiplier, shift) is one ivec4 texel per output channel.
#ifdef INT8_DOT_PRODUCT
#extension GL_EXT_spirv_intrinsics : require
// OpSDotKHR (4450) with capabilities DotProductKHR (6019) and DotProductInput4x8BitPackedKHR
// (6018); the literal 0 is PackedVectorFormat4x8BitKHR. glslang 12 has no GLSL built-in for it.
spirv_instruction(extensions = ["SPV_KHR_integer_dot_product"], capabilities = [6019, 6018], id = 4450)
int sdot_packed(uint a, uint b, spirv_literal int format);
#endif
#include "common.glsl"
#include "int8.glsl"

layout(local_size_x_id = 0) in;
// Offsets (4-byte words) into the bindings vary between otherwise equal layers: push
// constants, so that those layers share one pipeline.
layout(push_constant) uniform Push {
  uint IN_OFF;
  uint OUT_OFF;
  uint WT_OFF;
  uint EPI_OFF;
};
layout(constant_id = 5) const uint N = 1;
layout(constant_id = 6) const uint C4 = 1;  // input words per pixel
layout(constant_id = 7) const int H = 1;
layout(constant_id = 8) const int W = 1;
layout(constant_id = 9) const uint M = 1;
layout(constant_id = 10) const uint OH = 1;
layout(constant_id = 11) const uint OW = 1;
layout(constant_id = 12) const int KH = 1;
layout(constant_id = 13) const int KW = 1;
layout(constant_id = 14) const int SH = 1;
layout(constant_id = 15) const int SW = 1;
layout(constant_id = 16) const int DH = 1;
layout(constant_id = 17) const int DW = 1;
layout(constant_id = 18) const int PT = 0;
layout(constant_id = 19) const int PL = 0;
layout(constant_id = 20) const uint ICG = 1;    // input channels per group
layout(constant_id = 21) const uint OCG = 1;    // output channels per group
layout(constant_id = 22) const uint WORDS = 1;  // input words a block reads per tap
layout(constant_id = 23) const uint Q = 4;      // output channels per invocation, a multiple of 4
layout(constant_id = 24) const uint R = 1;      // outputs per invocation along a row
layout(constant_id = 25) const uint ZP_WORD = 0;  // four copies of the input zero point
layout(constant_id = 26) const int ZP_OUT = 0;
layout(constant_id = 27) const int CMIN = -128;
layout(constant_id = 28) const int CMAX = 127;
layout(constant_id = 29) const bool PADDED = true;  // some taps may fall outside the input

const uint Q4 = Q / 4u;
const uint M4 = (M + 3u) / 4u;
const uint TAPS = uint(KH * KW);
const uint RUNS = (OW + R - 1u) / R;

void main() {
  const uint item = min(gl_GlobalInvocationID.x, N * OH * RUNS - 1u);
  const uint ox0 = (item % RUNS) * R;
  const uint oy = (item / RUNS) % OH;
  const uint n = item / (RUNS * OH);
  const uint block = gl_WorkGroupID.y;
  const uint first = (block * Q / OCG) * ICG / 4u;

  ivec4 acc[R * Q4];
  [[unroll]] for (uint i = 0u; i < R * Q4; ++i) acc[i] = ivec4(0);
#ifndef INT8_DOT_PRODUCT
  vec4 accf[R * Q4];
  [[unroll]] for (uint i = 0u; i < R * Q4; ++i) accf[i] = vec4(0.0);
  uint pending = 0u;
#endif

  for (uint t = 0u; t < TAPS; ++t) {
    const int iy = int(oy) * SH - PT + int(t / uint(KW)) * DH;
    const int ix0 = int(ox0) * SW - PL + int(t % uint(KW)) * DW;
    const bool row_inside = !PADDED || (iy >= 0 && iy < H);
    for (uint j = 0u; j < WORDS; ++j) {
      const uint row = ((n * C4 + min(first + j, C4 - 1u)) * uint(H) + uint(iy)) * uint(W);
      uint a[R];
      [[unroll]] for (uint r = 0u; r < R; ++r) {
        const int ix = ix0 + int(r) * SW;
        const bool inside = !PADDED || (row_inside && ix >= 0 && ix < W);
        a[r] = inside ? texelFetch(in_bits[0], int(IN_OFF + row + uint(ix))).x : ZP_WORD;
      }
      const uint wbase = WT_OFF / 4u + ((block * TAPS + t) * WORDS + j) * Q4;
#ifndef INT8_DOT_PRODUCT
      vec4 av[R];
      [[unroll]] for (uint r = 0u; r < R; ++r) av[r] = vec4(unpack_int8x4(a[r]));
#endif
      [[unroll]] for (uint qv = 0u; qv < Q4; ++qv) {
        const uvec4 w = texelFetch(wt4_bits, int(wbase + qv));
#ifdef INT8_DOT_PRODUCT
        [[unroll]] for (uint r = 0u; r < R; ++r)
          acc[r * Q4 + qv] += ivec4(sdot_packed(a[r], w.x, 0), sdot_packed(a[r], w.y, 0), sdot_packed(a[r], w.z, 0),
                                    sdot_packed(a[r], w.w, 0));
      }
#else
        [[unroll]] for (uint k = 0u; k < 4u; ++k) {
          const vec4 wk = vec4(bitfieldExtract(ivec4(w), int(8u * k), 8));  // input channel k of 4 outputs
          [[unroll]] for (uint r = 0u; r < R; ++r) accf[r * Q4 + qv] = fma(vec4(av[r][k]), wk, accf[r * Q4 + qv]);
        }
      }
      if (++pending == 256u) {
        [[unroll]] for (uint i = 0u; i < R * Q4; ++i) {
          acc[i] += ivec4(accf[i]);
          accf[i] = vec4(0.0);
        }
        pending = 0u;
      }
#endif
    }
  }
#ifndef INT8_DOT_PRODUCT
  [[unroll]] for (uint i = 0u; i < R * Q4; ++i) acc[i] += ivec4(accf[i]);
#endif

  if (gl_GlobalInvocationID.x >= N * OH * RUNS) return;
  [[unroll]] for (uint qv = 0u; qv < Q4; ++qv) {
    const uint ow = block * Q4 + qv;
    if (ow >= M4) break;
    ivec4 epi[4];
    [[unroll]] for (uint k = 0u; k < 4u; ++k) epi[k] = ivec4(texelFetch(wt4_bits, int(EPI_OFF / 4u + ow * 4u + k)));
    [[unroll]] for (uint r = 0u; r < R; ++r) {
      const uint ox = ox0 + r;
      if (ox >= OW) break;
      dst_words[OUT_OFF + ((n * M4 + ow) * OH + oy) * OW + ox] =
          requantize_word(acc[r * Q4 + qv], epi, ZP_OUT, CMIN, CMAX, min(4u, M - ow * 4u));
    }
  }
}
