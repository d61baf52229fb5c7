#version 450
#extension GL_GOOGLE_include_directive : require
// Max or average pooling. Window taps outside the input are skipped; the average divides by the
// taps inside the input, or inside the padded input when COUNT_PAD (a ceil-mode window running
// past the end padding is clipped there).
// Scalar path: one output per item. Row path (ROWS4): four neighbouring outputs of a row per
// item, reading the input rows they need as BLOCKS aligned vec4s; with W a multiple of 4, the
// first tap lands at LEAD within the first block for every item, so after unrolling every tap
// is a fixed register and border taps are masked instead of branched around.
#include "common.glsl"
#include "elementwise.glsl"

layout(constant_id = 0) const uint COUNT = 1;
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
layout(constant_id = 16) const int PB = 0;
layout(constant_id = 17) const int PR = 0;
layout(constant_id = 18) const bool AVERAGE = false;
layout(constant_id = 19) const bool COUNT_PAD = false;
layout(constant_id = 20) const bool ROWS4 = false;
layout(constant_id = 21) const uint BLOCKS = 1;
layout(constant_id = 22) const int LEAD = 0;
layout(constant_id = 23) const bool OUT_VEC4 = false;

const uint OW4 = (OW + 3) / 4;

// Kernel taps [x, y) of a window starting at `start` that land in [0, size); the load-time
// check guarantees start < size.
ivec2 taps_inside(int start, int size, int kernel, int dilation) {
  int first = start >= 0 ? 0 : (dilation - 1 - start) / dilation;
  return ivec2(first, min(kernel, (size - start + dilation - 1) / dilation));
}

void pool_rows4() {
  const float neg_inf = -uintBitsToFloat(0x7f800000u);
  for (uint item = gl_GlobalInvocationID.x; item < COUNT; item += STRIDE) {
    uint gx = item % OW4;
    uint rest = item / OW4;
    uint oy = rest % OH;
    uint plane = rest / OH;
    int y0 = int(oy) * SH - PT;
    int x0 = int(gx) * 4 * SW - PL;
    int block0 = (x0 - LEAD) / 4;
    vec4 acc = vec4(AVERAGE ? 0.0 : neg_inf);
    vec4 taps = vec4(0.0);
    [[unroll]] for (int ky = 0; ky < KH; ++ky) {
      int y = y0 + ky * DH;
      bool row_in = y >= 0 && y < H;
      bool row_in_pad = y >= -PT && y < H + PB;
      uint row4 = (IN_OFF + plane * uint(H * W) + uint(clamp(y, 0, H - 1) * W)) / 4;
      float row[BLOCKS * 4];
      [[unroll]] for (int b = 0; b < int(BLOCKS); ++b) {
        vec4 v = in_act4[0].v[row4 + uint(clamp(block0 + b, 0, W / 4 - 1))];
        row[4 * b] = v.x;
        row[4 * b + 1] = v.y;
        row[4 * b + 2] = v.z;
        row[4 * b + 3] = v.w;
      }
      [[unroll]] for (int k = 0; k < 4; ++k) {
        [[unroll]] for (int kx = 0; kx < KW; ++kx) {
          int tap = k * SW + kx * DW;
          int x = x0 + tap;
          bool inside = row_in && x >= 0 && x < W;
          float v = row[LEAD + tap];
          if (AVERAGE) {
            acc[k] += inside ? v : 0.0;
            bool counted = COUNT_PAD ? row_in_pad && x >= -PL && x < W + PR : inside;
            taps[k] += counted ? 1.0 : 0.0;
          } else {
            acc[k] = inside ? max(acc[k], v) : acc[k];
          }
        }
      }
    }
    if (AVERAGE) acc /= max(taps, vec4(1.0));
    uint first = OUT_OFF + (plane * OH + oy) * OW + gx * 4;
    if (OUT_VEC4) {
      dst4[first / 4] = acc;
    } else {
      [[unroll]] for (uint k = 0; k < 4; ++k)
        if (gx * 4 + k < OW) dst[first + k] = acc[k];
    }
  }
}

void main() {
  if (ROWS4) {
    pool_rows4();
    return;
  }
  for (uint i = gl_GlobalInvocationID.x; i < COUNT; i += STRIDE) {
    uint ox = i % OW;
    uint rest = i / OW;
    uint oy = rest % OH;
    uint plane = rest / OH;
    int y0 = int(oy) * SH - PT;
    int x0 = int(ox) * SW - PL;
    ivec2 ty = taps_inside(y0, H, KH, DH);
    ivec2 tx = taps_inside(x0, W, KW, DW);
    uint base = IN_OFF + plane * uint(H * W);
    float result;
    if (AVERAGE) {
      float sum = 0.0;
      for (int ky = ty.x; ky < ty.y; ++ky) {
        uint row = base + uint((y0 + ky * DH) * W + x0);
        for (int kx = tx.x; kx < tx.y; ++kx) sum += in_act[0].v[row + uint(kx * DW)];
      }
      int taps;
      if (COUNT_PAD) {
        taps = taps_inside(y0 + PT, H + PT + PB, KH, DH).y * taps_inside(x0 + PL, W + PL + PR, KW, DW).y;
      } else {
        taps = (ty.y - ty.x) * (tx.y - tx.x);
      }
      result = sum / float(taps);
    } else {
      result = -uintBitsToFloat(0x7f800000u);
      for (int ky = ty.x; ky < ty.y; ++ky) {
        uint row = base + uint((y0 + ky * DH) * W + x0);
        for (int kx = tx.x; kx < tx.y; ++kx) result = max(result, in_act[0].v[row + uint(kx * DW)]);
      }
    }
    dst[OUT_OFF + i] = result;
  }
}
