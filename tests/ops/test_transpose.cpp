// Transpose against the CPU reference: every permutation of ranks 1 to 4, a selection of ranks 5
// and 6, ShuffleNet's channel shuffle.

#include <algorithm>
#include <numeric>

#include "ops/single_node.hpp"
#include "reference/transpose_reference.hpp"

namespace vkbnn::test {
namespace {

using Shape = std::vector<int64_t>;

std::vector<uint8_t> transpose_model(const Shape& in, const std::vector<int32_t>& perm, const Shape& out) {
  return single_node_model(
      fb::OpParams::Transpose, [&](auto& b) { return fb::CreateTranspose(b, b.CreateVector(perm)).Union(); },
      {{in, {}}}, out);
}

void expect_transpose(const Shape& shape, const Shape& perm, uint32_t seed) {
  SCOPED_TRACE(::testing::PrintToString(shape) + " perm " + ::testing::PrintToString(perm));
  const auto x = random_vector(count_of(shape), seed);
  const Shape out = ref::transposed_shape(shape, perm);
  const std::vector<int32_t> perm32(perm.begin(), perm.end());
  EXPECT_TRUE(all_close(run_single(transpose_model(shape, perm32, out), {x}), ref::transpose(x, shape, perm), 0.0f,
                        0.0f));
}

TEST(Transpose, EveryPermutationUpToRank4) {
  const std::vector<Shape> shapes = {{7}, {3, 5}, {2, 3, 5}, {2, 3, 4, 5}};
  uint32_t seed = 1500;
  for (const auto& shape : shapes) {
    Shape perm(shape.size());
    std::iota(perm.begin(), perm.end(), 0);
    do {
      expect_transpose(shape, perm, ++seed);
    } while (std::next_permutation(perm.begin(), perm.end()));
  }
}

TEST(Transpose, Ranks5And6AndChannelShuffle) {
  expect_transpose({2, 3, 2, 4, 5}, {4, 2, 0, 3, 1}, 1601);
  expect_transpose({2, 3, 2, 4, 5}, {0, 1, 2, 4, 3}, 1602);
  expect_transpose({2, 1, 3, 2, 3, 2}, {5, 3, 1, 0, 4, 2}, 1603);
  expect_transpose({3, 2, 2, 1, 2, 4}, {1, 0, 5, 4, 3, 2}, 1604);
  // ShuffleNetV2: [N, groups, C / groups, H, W] -> [N, C / groups, groups, H, W].
  expect_transpose({1, 2, 58, 7, 7}, {0, 2, 1, 3, 4}, 1605);
  // More elements than one launch covers without the grid stride.
  expect_transpose({1, 3, 130, 131}, {0, 2, 3, 1}, 1606);
}

TEST(Transpose, RejectsBadPermutations) {
  EXPECT_TRUE(rejected(transpose_model({2, 3, 4}, {0, 1}, {2, 3}), "perm has 2 axes for an input of rank 3"));
  EXPECT_TRUE(rejected(transpose_model({2, 3, 4}, {0, 1, 1}, {2, 3, 3}), "not a permutation"));
  EXPECT_TRUE(rejected(transpose_model({2, 3, 4}, {0, 3, 1}, {2, 3, 3}), "not a permutation"));
  EXPECT_TRUE(rejected(transpose_model({2, 3, 4}, {0, -1, 1}, {2, 3, 3}), "not a permutation"));
  EXPECT_TRUE(rejected(transpose_model({2, 3, 4}, {2, 1, 0}, {2, 3, 4}), "permuted"));
  EXPECT_TRUE(rejected(transpose_model({1, 1, 2, 3, 4, 1, 1}, {0, 1, 2, 3, 4, 5, 6}, {1, 1, 2, 3, 4, 1, 1}),
                       "ranks 1 to 6"));
}

}  // namespace
}  // namespace vkbnn::test
