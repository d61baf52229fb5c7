// Pad against the CPU reference.

#include "ops/single_node.hpp"
#include "reference/pad_reference.hpp"

namespace vkbnn::test {
namespace {

using Shape = std::vector<int64_t>;

std::vector<uint8_t> pad_model(const Shape& in, const std::vector<int64_t>& pads, fb::PadMode mode, float value,
                               const Shape& out) {
  return single_node_model(
      fb::OpParams::Pad, [&](auto& b) { return fb::CreatePad(b, b.CreateVector(pads), mode, value).Union(); },
      {{in, {}}}, out);
}

Shape padded(const Shape& in, const std::vector<int64_t>& pads) {
  Shape out = in;
  for (size_t d = 0; d < in.size(); ++d) out[d] += pads[d] + pads[in.size() + d];
  return out;
}

TEST(Pad, AllModesAndRanks) {
  struct Case {
    Shape shape;
    std::vector<int64_t> pads;
  };
  const std::vector<Case> cases = {
      {{2, 3, 5, 7}, {0, 0, 1, 2, 0, 0, 3, 1}},  // spatial, asymmetric
      {{2, 3, 5, 7}, {1, 2, 0, 4, 0, 1, 2, 6}},  // every axis
      {{1, 1, 1, 4}, {0, 0, 0, 3, 0, 0, 0, 0}},
      {{4, 6}, {2, 1, 3, 5}},
      {{3, 5, 2}, {1, 4, 1, 0, 0, 1}},
      {{9}, {8, 2}},
  };
  uint32_t seed = 1200;
  for (auto mode : {fb::PadMode::Constant, fb::PadMode::Reflect, fb::PadMode::Edge})
    for (const auto& c : cases) {
      SCOPED_TRACE(std::string(fb::EnumNamePadMode(mode)) + " " + ::testing::PrintToString(c.shape) + " pads " +
                   ::testing::PrintToString(c.pads));
      const Shape out = padded(c.shape, c.pads);
      auto x = random_vector(count_of(c.shape), ++seed);
      EXPECT_TRUE(all_close(run_single(pad_model(c.shape, c.pads, mode, 0.75f, out), {x}),
                            ref::pad(x, c.shape, c.pads, mode, 0.75f), 0.0f, 0.0f));
    }
}

TEST(Pad, RejectsBadPads) {
  EXPECT_TRUE(rejected(pad_model({1, 3, 4, 4}, {0, 0, -1, 0, 0, 0, 0, 0}, fb::PadMode::Constant, 0, {1, 3, 3, 4}),
                       "negative pads"));
  EXPECT_TRUE(rejected(pad_model({1, 3, 4, 4}, {0, 0, 4, 0, 0, 0, 0, 0}, fb::PadMode::Reflect, 0, {1, 3, 8, 4}),
                       "smaller than the axis length"));
  EXPECT_TRUE(rejected(pad_model({1, 3, 4, 4}, {0, 0, 1, 1, 0, 0, 1, 1}, fb::PadMode::Edge, 0, {1, 3, 6, 5}),
                       "plus the pads"));
  EXPECT_TRUE(rejected(pad_model({1, 3, 4, 4}, {0, 0, 1, 1}, fb::PadMode::Edge, 0, {1, 3, 5, 5}), "needs 8 pads"));
  EXPECT_TRUE(rejected(pad_model({1, 1, 3, 4, 4}, std::vector<int64_t>(10, 0), fb::PadMode::Edge, 0, {1, 1, 3, 4, 4}),
                       "ranks 1 to 4"));
  EXPECT_TRUE(rejected(pad_model({1, 3, 4, 4}, {0, 0, int64_t{1} << 62, 0, 0, 0, int64_t{1} << 62, 0},
                                 fb::PadMode::Constant, 0, {1, 3, 4, 4}),
                       "exceed the output length"));
}

}  // namespace
}  // namespace vkbnn::test
