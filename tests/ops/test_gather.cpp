// Gather (constant indices on any axis) and Tile (repeats and broadcasts) against the CPU
// references; both copy values, so the results are exact.

#include "ops/single_node.hpp"
#include "reference/gather_reference.hpp"

namespace vkbnn::test {
namespace {

using Shape = std::vector<int64_t>;

std::vector<uint8_t> gather_model(const Shape& in, int32_t axis, const std::vector<int32_t>& indices, const Shape& out) {
  return single_node_model(
      fb::OpParams::Gather, [&](auto& b) { return fb::CreateGatherDirect(b, axis, &indices).Union(); }, {{in, {}}},
      out);
}

std::vector<uint8_t> tile_model(const Shape& in, const Shape& out) {
  return single_node_model(
      fb::OpParams::Tile, [&](auto& b) { return fb::CreateTile(b).Union(); }, {{in, {}}}, out);
}

struct GatherCase {
  Shape in;
  int32_t axis;
  std::vector<int32_t> indices;
};

TEST(Gather, EveryAxisRepeatsAndReorders) {
  const std::vector<GatherCase> cases = {
      {{2, 5, 3}, 1, {0}},                    // ViT's class token x[:, 0]
      {{4, 3, 2}, 0, {3, 1, 1, 0, 2}},        // repeated and reordered
      {{2, 3, 4, 5}, 3, {4, 0}},              // innermost axis
      {{2, 3, 4, 5}, 2, {2, 2, 2}},           // one slice three times
      {{7}, 0, {6, 0, 3}},                    // rank 1
      {{1, 2, 1, 3, 2, 4}, 4, {1, 0, 1}},     // rank 6
      {{3, 70, 11}, 1, {69, 0, 35, 68, 1}},   // long slices
  };
  uint32_t seed = 5100;
  for (const auto& c : cases) {
    SCOPED_TRACE(::testing::PrintToString(c.in) + " axis " + std::to_string(c.axis) + " indices " +
                 ::testing::PrintToString(c.indices));
    Shape out = c.in;
    out[static_cast<size_t>(c.axis)] = static_cast<int64_t>(c.indices.size());
    const auto x = random_vector(count_of(c.in), ++seed);
    const std::vector<int64_t> indices(c.indices.begin(), c.indices.end());
    EXPECT_TRUE(all_close(run_single(gather_model(c.in, c.axis, c.indices, out), {x}),
                          ref::gather(x, c.in, c.axis, indices), 0.0f, 0.0f));
  }
}

TEST(Gather, RejectsBadParameters) {
  EXPECT_NO_THROW(Model::from_bytes(gather_model({2, 3}, 1, {2, 0}, {2, 2})));
  EXPECT_TRUE(rejected(gather_model({2, 3}, 1, {3}, {2, 1}), "index 3 is outside axis 1"));
  EXPECT_TRUE(rejected(gather_model({2, 3}, 1, {-1}, {2, 1}), "index -1 is outside"));
  EXPECT_TRUE(rejected(gather_model({2, 3}, 2, {0}, {2, 3}), "axis 2 is outside"));
  EXPECT_TRUE(rejected(gather_model({2, 3}, 0, {}, {2, 3}), "at least one index"));
  EXPECT_TRUE(rejected(gather_model({2, 3}, 0, {1, 1}, {2, 2}), "output shape 2x2 should be 2x3"));
}

TEST(Tile, RepeatsAndBroadcastsUpToRank6) {
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{2, 3}, {4, 9}},                            // Tile
      {{1, 3, 1, 1}, {2, 3, 5, 4}},                // Expand of length-1 axes
      {{2, 1, 3}, {4, 5, 3}},                      // both at once
      {{5}, {15}},
      {{1, 2, 1, 3, 1, 2}, {2, 4, 3, 3, 2, 2}},    // rank 6
      {{3, 4, 5}, {3, 4, 5}},                      // a plain copy
  };
  uint32_t seed = 5200;
  for (const auto& [in, out] : cases) {
    SCOPED_TRACE(::testing::PrintToString(in) + " -> " + ::testing::PrintToString(out));
    const auto x = random_vector(count_of(in), ++seed);
    EXPECT_TRUE(all_close(run_single(tile_model(in, out), {x}), ref::tile(x, in, out), 0.0f, 0.0f));
  }
}

TEST(Tile, RejectsBadParameters) {
  EXPECT_TRUE(rejected(tile_model({2, 3}, {4, 8}), "not a whole number of copies of input 2x3 on axis 1"));
  EXPECT_TRUE(rejected(tile_model({2, 3}, {2, 3, 1}), "must have the input's rank"));
  EXPECT_TRUE(rejected(tile_model({1, 1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 1, 1}), "ranks 1 to 6"));
}

}  // namespace
}  // namespace vkbnn::test
