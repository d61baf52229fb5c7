#version 450
// Micro-benchmark of the device's memory bandwidth: a vec4 copy through the same kind of texel
// view the engine's kernels read with, so the number is the one those kernels can reach.
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint COUNT = 1;   // vec4s to copy
layout(constant_id = 1) const uint STRIDE = 64;  // grid stride, in vec4s
layout(set = 0, binding = 1) uniform samplerBuffer source;  // RGBA32F
layout(std430, set = 0, binding = 0) buffer Destination { vec4 destination[]; };

void main() {
  for (uint i = gl_GlobalInvocationID.x; i < COUNT; i += STRIDE) destination[i] = texelFetch(source, int(i));
}
