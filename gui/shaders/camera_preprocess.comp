#version 450
// A camera frame on the GPU, YUYV or 3-byte RGB (decoded MJPEG). Pass 0 (one invocation per frame pixel): converts to RGB for
// display. Pass 1 (one invocation per model-input pixel): averages the frame pixels the input
// pixel covers (a box filter), converts to the model's channels (gray by luminance
// 0.299 R + 0.587 G + 0.114 B, or RGB / BGR), scales to [0, 1], normalises with (x - mean) / std
// and writes the CHW float tensor the engine takes.
layout(local_size_x = 8, local_size_y = 8) in;

layout(std430, set = 0, binding = 0) readonly buffer Frame { uint words[]; } frame;
layout(std430, set = 0, binding = 1) writeonly buffer Tensor { float values[]; } tensor;
layout(set = 0, binding = 2, rgba8) uniform writeonly image2D display;

layout(push_constant) uniform Params {
  uint pass;
  uint src_width;
  uint src_height;
  uint src_stride;  // bytes per row
  uint dst_width;
  uint dst_height;
  uint channels;  // 1 or 3
  uint bgr;
  uint rgb;  // 1: 3-byte RGB rows, 0: YUYV
  vec4 mean;
  vec4 inv_std;
} p;

uint byte_at(uint offset) { return (frame.words[offset >> 2] >> ((offset & 3u) * 8u)) & 0xFFu; }

// BT.601 limited range, as V4L2 cameras deliver YUYV; RGB as it is.
vec3 rgb_at(uint x, uint y) {
  if (p.rgb != 0u) {
    uint at = y * p.src_stride + x * 3u;
    return vec3(float(byte_at(at)), float(byte_at(at + 1u)), float(byte_at(at + 2u))) / 255.0;
  }
  uint pair = y * p.src_stride + (x & ~1u) * 2u;
  float luma = float(byte_at(pair + (x & 1u) * 2u)) - 16.0;
  float u = float(byte_at(pair + 1u)) - 128.0;
  float v = float(byte_at(pair + 3u)) - 128.0;
  float c = 1.164383 * luma;
  return clamp(vec3(c + 1.596027 * v, c - 0.391762 * u - 0.812968 * v, c + 2.017232 * u) / 255.0, 0.0, 1.0);
}

void main() {
  uvec2 id = gl_GlobalInvocationID.xy;
  if (p.pass == 0u) {
    if (id.x >= p.src_width || id.y >= p.src_height) return;
    imageStore(display, ivec2(id), vec4(rgb_at(id.x, id.y), 1.0));
    return;
  }
  if (id.x >= p.dst_width || id.y >= p.dst_height) return;
  uint x0 = id.x * p.src_width / p.dst_width, x1 = max(x0 + 1u, (id.x + 1u) * p.src_width / p.dst_width);
  uint y0 = id.y * p.src_height / p.dst_height, y1 = max(y0 + 1u, (id.y + 1u) * p.src_height / p.dst_height);
  vec3 sum = vec3(0.0);
  for (uint y = y0; y < y1; ++y)
    for (uint x = x0; x < x1; ++x) sum += rgb_at(x, y);
  vec3 rgb = sum / float((x1 - x0) * (y1 - y0));
  uint plane = p.dst_width * p.dst_height, at = id.y * p.dst_width + id.x;
  if (p.channels == 1u) {
    float gray = dot(rgb, vec3(0.299, 0.587, 0.114));
    tensor.values[at] = (gray - p.mean.x) * p.inv_std.x;
  } else {
    vec3 c = p.bgr != 0u ? rgb.bgr : rgb;
    tensor.values[at] = (c.x - p.mean.x) * p.inv_std.x;
    tensor.values[plane + at] = (c.y - p.mean.y) * p.inv_std.y;
    tensor.values[2u * plane + at] = (c.z - p.mean.z) * p.inv_std.z;
  }
}
