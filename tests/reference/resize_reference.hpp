#pragma once

// Naive CPU reference for Resize of H and W (nearest, linear), following ONNX's reference
// implementation: each axis interpolated on its own, neighbours taken from the edge-padded input.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace vkbnn::test::ref {

struct ResizeSpec {
  std::string mode = "nearest";                 // or "linear"
  std::string coordinates = "half_pixel";       // ONNX coordinate_transformation_mode
  std::string nearest_mode = "round_prefer_floor";
  // Scales of H and W as given; absent: the output sizes below, with scale = out / in.
  std::optional<std::pair<float, float>> scales;
  int64_t out_h = 0, out_w = 0;
};

// x: [N, C, H, W]; returns [N, C, out_h, out_w].
std::vector<float> resize(std::span<const float> x, const std::vector<int64_t>& shape, const ResizeSpec& spec);

}  // namespace vkbnn::test::ref
