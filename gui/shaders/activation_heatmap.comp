#version 450
// Draws every channel of one activation tensor (N = 1, C x H x W) as a heatmap tile in a grid,
// straight from the engine's activation arena. One workgroup per channel: it finds the channel's
// range, stores it for the host, then colours the channel's pixels normalised to that range.
// Bit tensors are read from their packed signs: words laid out ceil(C/32) x H x W, bit c % 32 of
// a word set where the value is -1. Int8 tensors from their bytes: words laid out ceil(C/4) x H x
// W, byte c % 4 of a word, dequantized.
layout(local_size_x = 256) in;

layout(std430, set = 0, binding = 0) readonly buffer Arena { uint words[]; } arena;
layout(set = 0, binding = 1, rgba8) uniform writeonly image2D tiles;
layout(std430, set = 0, binding = 2) writeonly buffer Ranges { vec4 range[]; } ranges;  // min, max, mean, 0

layout(push_constant) uniform Params {
  uint offset;  // words from the arena's start
  uint channels;
  uint height;
  uint width;
  uint packing;  // 0 float32, 1 packed bits, 2 packed int8
  uint columns;  // tiles per row; a tile is (width + 1) x (height + 1) pixels with a 1-pixel gap
  float scale;   // int8: real = scale * (q - zero_point)
  int zero_point;
} p;

shared float lo[256];
shared float hi[256];
shared float total[256];

float value(uint c, uint i) {
  if (p.packing == 1u) {
    uint word = arena.words[p.offset + (c / 32u) * p.height * p.width + i];
    return ((word >> (c % 32u)) & 1u) != 0u ? -1.0 : 1.0;
  }
  if (p.packing == 2u) {
    uint word = arena.words[p.offset + (c / 4u) * p.height * p.width + i];
    return float(bitfieldExtract(int(word), int(8u * (c % 4u)), 8) - p.zero_point) * p.scale;
  }
  return uintBitsToFloat(arena.words[p.offset + c * p.height * p.width + i]);
}

// A perceptually ordered ramp (close to "inferno") from t = 0 (dark) to 1 (bright).
vec3 ramp(float t) {
  t = clamp(t, 0.0, 1.0);
  vec3 c0 = vec3(0.0002, 0.0016, -0.0194);
  vec3 c1 = vec3(0.1065, 0.5639, 3.9327);
  vec3 c2 = vec3(11.6025, -3.9729, -15.9424);
  vec3 c3 = vec3(-41.7040, 17.4364, 44.3541);
  vec3 c4 = vec3(77.1629, -33.4023, -81.8073);
  vec3 c5 = vec3(-71.3194, 32.6261, 73.2095);
  vec3 c6 = vec3(25.1311, -12.2427, -23.0703);
  return clamp(c0 + t * (c1 + t * (c2 + t * (c3 + t * (c4 + t * (c5 + t * c6))))), 0.0, 1.0);
}

void main() {
  uint c = gl_WorkGroupID.x;
  uint lane = gl_LocalInvocationID.x;
  uint n = p.height * p.width;
  float a = 3.4e38, b = -3.4e38, sum = 0.0;
  for (uint i = lane; i < n; i += 256u) {
    float v = value(c, i);
    if (!isnan(v)) {
      a = min(a, v);
      b = max(b, v);
      sum += v;
    }
  }
  lo[lane] = a;
  hi[lane] = b;
  total[lane] = sum;
  barrier();
  for (uint s = 128u; s > 0u; s >>= 1u) {
    if (lane < s) {
      lo[lane] = min(lo[lane], lo[lane + s]);
      hi[lane] = max(hi[lane], hi[lane + s]);
      total[lane] += total[lane + s];
    }
    barrier();
  }
  float mn = lo[0], mx = hi[0];
  if (lane == 0u) ranges.range[c] = vec4(mn, mx, total[0] / float(n), 0.0);
  float scale = mx > mn ? 1.0 / (mx - mn) : 0.0;
  ivec2 tile = ivec2((c % p.columns) * (p.width + 1u), (c / p.columns) * (p.height + 1u));
  for (uint i = lane; i < n; i += 256u) {
    float v = value(c, i);
    vec3 colour = p.packing == 1u ? (v > 0.0 ? vec3(0.98, 0.85, 0.30) : vec3(0.10, 0.12, 0.35))
                                      : (isnan(v) ? vec3(1.0, 0.0, 1.0) : ramp(mx > mn ? (v - mn) * scale : 0.5));
    imageStore(tiles, tile + ivec2(i % p.width, i / p.width), vec4(colour, 1.0));
  }
}
