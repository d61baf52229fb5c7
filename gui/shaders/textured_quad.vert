#version 450
// One textured rectangle for vkbnn-studio: four vertices from gl_VertexIndex (triangle strip).
layout(push_constant) uniform Quad {
  vec4 rect;  // x0, y0, x1, y1 in normalised device coordinates
  vec4 uv;    // u0, v0, u1, v1
} quad;
layout(location = 0) out vec2 uv;

void main() {
  vec2 corner = vec2(gl_VertexIndex & 1, gl_VertexIndex >> 1);
  uv = mix(quad.uv.xy, quad.uv.zw, corner);
  gl_Position = vec4(mix(quad.rect.xy, quad.rect.zw, corner), 0.0, 1.0);
}
