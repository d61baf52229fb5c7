// Resize against the CPU reference: nearest with every nearest_mode and linear with every
// coordinate transformation, up and down, by scales and by sizes.

#include <cmath>

#include "ops/single_node.hpp"
#include "reference/resize_reference.hpp"

namespace vkbnn::test {
namespace {

using Shape = std::vector<int64_t>;

std::vector<uint8_t> resize_model(const Shape& in, const Shape& out, fb::ResizeMode mode, fb::ResizeCoordinates coords,
                                  fb::ResizeNearest nearest, const std::vector<float>& scales) {
  return single_node_model(
      fb::OpParams::Resize,
      [&](auto& b) { return fb::CreateResizeDirect(b, mode, coords, nearest, scales.empty() ? nullptr : &scales).Union(); },
      {{in, {}}}, out);
}

const std::vector<std::pair<fb::ResizeCoordinates, std::string>> kCoordinates = {
    {fb::ResizeCoordinates::HalfPixel, "half_pixel"},
    {fb::ResizeCoordinates::Asymmetric, "asymmetric"},
    {fb::ResizeCoordinates::AlignCorners, "align_corners"},
    {fb::ResizeCoordinates::PytorchHalfPixel, "pytorch_half_pixel"},
    {fb::ResizeCoordinates::TfHalfPixelForNn, "tf_half_pixel_for_nn"}};
const std::vector<std::pair<fb::ResizeNearest, std::string>> kNearest = {
    {fb::ResizeNearest::RoundPreferFloor, "round_prefer_floor"},
    {fb::ResizeNearest::RoundPreferCeil, "round_prefer_ceil"},
    {fb::ResizeNearest::Floor, "floor"},
    {fb::ResizeNearest::Ceil, "ceil"}};

struct Geometry {
  Shape in;
  int64_t out_h, out_w;
  std::vector<float> scales;  // H, W; empty: by sizes
};

// Up, down, mixed, to one pixel; scales that leave a fraction of a pixel; the lengths by sizes.
const std::vector<Geometry> kGeometries = {
    {{1, 2, 3, 4}, 6, 8, {2.0f, 2.0f}},
    {{2, 3, 5, 7}, 3, 4, {0.6f, 0.6f}},
    {{1, 2, 4, 6}, 10, 3, {2.5f, 0.5f}},
    {{1, 1, 5, 5}, 1, 1, {}},
    {{1, 3, 5, 4}, 7, 9, {}},
    {{1, 2, 9, 8}, 4, 3, {}},
    {{1, 1, 3, 3}, 8, 8, {2.7f, 2.7f}},
};

void expect_resize(const Geometry& g, fb::ResizeMode mode, fb::ResizeCoordinates coords, fb::ResizeNearest nearest,
                   const ref::ResizeSpec& spec, uint32_t seed) {
  const Shape out{g.in[0], g.in[1], g.out_h, g.out_w};
  SCOPED_TRACE(spec.mode + " " + spec.coordinates + " " + spec.nearest_mode + " " + ::testing::PrintToString(g.in) +
               " -> " + ::testing::PrintToString(out) + " scales " + ::testing::PrintToString(g.scales));
  const auto x = random_vector(count_of(g.in), seed);
  const auto y = run_single(resize_model(g.in, out, mode, coords, nearest, g.scales), {x});
  const auto expected = ref::resize(x, g.in, spec);
  // Nearest copies values; linear is within float rounding of the double reference.
  EXPECT_TRUE(all_close(y, expected, mode == fb::ResizeMode::Nearest ? 0.0f : 1e-5f,
                        mode == fb::ResizeMode::Nearest ? 0.0f : 1e-6f));
}

ref::ResizeSpec spec_for(const Geometry& g, const std::string& mode, const std::string& coords,
                         const std::string& nearest) {
  ref::ResizeSpec spec{mode, coords, nearest, std::nullopt, g.out_h, g.out_w};
  if (!g.scales.empty()) spec.scales = std::make_pair(g.scales[0], g.scales[1]);
  return spec;
}

TEST(Resize, NearestEveryModeAndTransformation) {
  uint32_t seed = 1700;
  for (const auto& [nearest, nearest_name] : kNearest)
    for (const auto& [coords, coords_name] : kCoordinates)
      for (const auto& g : kGeometries)
        expect_resize(g, fb::ResizeMode::Nearest, coords, nearest, spec_for(g, "nearest", coords_name, nearest_name),
                      ++seed);
}

TEST(Resize, LinearEveryTransformation) {
  uint32_t seed = 1800;
  for (const auto& [coords, coords_name] : kCoordinates)
    for (const auto& g : kGeometries)
      expect_resize(g, fb::ResizeMode::Linear, coords, fb::ResizeNearest::RoundPreferFloor,
                    spec_for(g, "linear", coords_name, "round_prefer_floor"), ++seed);
}

TEST(Resize, RejectsBadParameters) {
  const auto nearest = fb::ResizeMode::Nearest;
  const auto half = fb::ResizeCoordinates::HalfPixel;
  const auto floor = fb::ResizeNearest::Floor;
  EXPECT_TRUE(rejected(resize_model({1, 2, 3}, {1, 2, 6}, nearest, half, floor, {}), "NCHW"));
  EXPECT_TRUE(rejected(resize_model({1, 2, 3, 3}, {1, 4, 6, 6}, nearest, half, floor, {}), "keep N and C"));
  EXPECT_TRUE(rejected(resize_model({1, 2, 3, 3}, {1, 2, 6, 6}, nearest, half, floor, {2.0f}), "needs 2 scales"));
  EXPECT_TRUE(rejected(resize_model({1, 2, 3, 3}, {1, 2, 6, 6}, nearest, half, floor, {2.0f, -1.0f}), "positive"));
  EXPECT_TRUE(rejected(resize_model({1, 2, 3, 3}, {1, 2, 6, 6}, nearest, half, floor, {2.0f, NAN}), "positive"));
  EXPECT_TRUE(rejected(resize_model({1, 2, 3, 3}, {1, 2, 6, 6}, static_cast<fb::ResizeMode>(7), half, floor, {}),
                       "unknown resize mode"));
}

}  // namespace
}  // namespace vkbnn::test
