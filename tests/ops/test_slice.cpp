// Slice against the CPU reference: starts and steps (negative too) on every axis, ranks 1 to 6.

#include "ops/single_node.hpp"
#include "reference/slice_reference.hpp"

namespace vkbnn::test {
namespace {

using Shape = std::vector<int64_t>;

std::vector<uint8_t> slice_model(const Shape& in, const std::vector<int64_t>& starts, const std::vector<int64_t>& steps,
                                 const Shape& out) {
  return single_node_model(
      fb::OpParams::Slice,
      [&](auto& b) { return fb::CreateSliceDirect(b, &starts, &steps).Union(); }, {{in, {}}}, out);
}

TEST(Slice, StartsAndStepsOnEveryAxis) {
  struct Case {
    Shape in, starts, steps, out;
  };
  const std::vector<Case> cases = {
      {{10}, {3}, {1}, {5}},
      {{10}, {9}, {-2}, {5}},
      {{4, 7}, {1, 6}, {2, -3}, {2, 3}},
      {{1, 116, 7, 7}, {0, 58, 0, 0}, {1, 1, 1, 1}, {1, 58, 7, 7}},  // ShuffleNet's second half
      {{2, 6, 5, 9}, {1, 5, 4, 0}, {1, -1, -2, 4}, {1, 6, 3, 3}},
      {{2, 3, 4, 5, 6}, {0, 2, 1, 4, 1}, {1, -1, 2, -2, 3}, {2, 3, 2, 3, 2}},
      {{2, 2, 3, 2, 3, 4}, {1, 0, 2, 0, 1, 3}, {1, 1, -1, 1, 1, -1}, {1, 2, 3, 2, 2, 4}},
  };
  uint32_t seed = 1900;
  for (const auto& c : cases) {
    SCOPED_TRACE(::testing::PrintToString(c.in) + " starts " + ::testing::PrintToString(c.starts) + " steps " +
                 ::testing::PrintToString(c.steps));
    const auto x = random_vector(count_of(c.in), ++seed);
    EXPECT_TRUE(all_close(run_single(slice_model(c.in, c.starts, c.steps, c.out), {x}),
                          ref::slice(x, c.in, c.starts, c.steps, c.out), 0.0f, 0.0f));
  }
}

TEST(Slice, RejectsReadsOutsideTheInput) {
  EXPECT_TRUE(rejected(slice_model({4, 4}, {0, 0}, {1, 1}, {4, 5}), "out of range"));
  EXPECT_TRUE(rejected(slice_model({4, 4}, {2, 0}, {1, 1}, {3, 4}), "reads past the input"));
  EXPECT_TRUE(rejected(slice_model({4, 4}, {1, 0}, {-1, 1}, {3, 4}), "reads past the input"));
  EXPECT_TRUE(rejected(slice_model({4, 4}, {4, 0}, {1, 1}, {1, 4}), "outside the input"));
  EXPECT_TRUE(rejected(slice_model({4, 4}, {0, 0}, {0, 1}, {1, 4}), "step 0"));
  EXPECT_TRUE(rejected(slice_model({4, 4}, {0}, {1}, {4, 4}), "a start and a step per axis"));
  EXPECT_TRUE(rejected(slice_model({4, 4}, {0, 0}, {int64_t{1} << 40, 1}, {1, 4}), "out of range"));
}

}  // namespace
}  // namespace vkbnn::test
