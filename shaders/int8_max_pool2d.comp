#version 450
#extension GL_GOOGLE_include_directive : require
// Max pooling of an Int8 tensor, one output word (four channels) per item. The quantization is
// monotonic and shared by input and output, so the integers are pooled directly; taps outside
// the input are skipped, as max pooling skips padding.
#include "common.glsl"
#include "elementwise.glsl"
#include "int8.glsl"

layout(constant_id = 0) const uint COUNT = 1;  // output words
layout(constant_id = 1) const uint STRIDE = 64;
// Offsets (4-byte words) into the bindings vary between otherwise equal layers: push
// constants, so that those layers share one pipeline.
layout(push_constant) uniform Push {
  uint IN_OFF;
  uint OUT_OFF;
};
layout(constant_id = 4) const int H = 1;
layout(constant_id = 5) const int W = 1;
layout(constant_id = 6) const uint OH = 1;
layout(constant_id = 7) const uint OW = 1;
layout(constant_id = 8) const int KH = 1;
layout(constant_id = 9) const int KW = 1;
layout(constant_id = 10) const int SH = 1;
layout(constant_id = 11) const int SW = 1;
layout(constant_id = 12) const int DH = 1;
layout(constant_id = 13) const int DW = 1;
layout(constant_id = 14) const int PT = 0;
layout(constant_id = 15) const int PL = 0;
layout(constant_id = 16) const uint C = 1;

const uint C4 = (C + 3u) / 4u;

void main() {
  for (uint item = gl_GlobalInvocationID.x; item < COUNT; item += STRIDE) {
    const uint ox = item % OW;
    const uint oy = (item / OW) % OH;
    const uint plane = item / (OW * OH);  // batch x channel word
    const int y0 = int(oy) * SH - PT;
    const int x0 = int(ox) * SW - PL;
    ivec4 best = ivec4(-128);
    for (int ky = 0; ky < KH; ++ky) {
      const int y = y0 + ky * DH;
      if (y < 0 || y >= H) continue;
      for (int kx = 0; kx < KW; ++kx) {
        const int x = x0 + kx * DW;
        if (x >= 0 && x < W)
          best = max(best, unpack_int8x4(texelFetch(in_bits[0], int(IN_OFF + plane * uint(H * W) + uint(y * W + x))).x));
      }
    }
    dst_words[OUT_OFF + item] = pack_int8x4(best, min(4u, C - (plane % C4) * 4u));
  }
}
