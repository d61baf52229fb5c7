// MatMul (batched, broadcasting, either operand computed or constant) against the CPU reference.

#include "ops/single_node.hpp"
#include "reference/matmul_reference.hpp"

namespace vkbnn::test {
namespace {

using Shape = std::vector<int64_t>;
// Float sums of up to 70 products against the double reference.
constexpr float kRtol = 1e-5f, kAtol = 1e-6f;

std::vector<uint8_t> matmul_model(const Shape& a, const Shape& b, const Shape& out,
                                  const std::optional<std::vector<float>>& a_constant = {},
                                  const std::optional<std::vector<float>>& b_constant = {}) {
  return single_node_model(
      fb::OpParams::MatMul, [&](auto& builder) { return fb::CreateMatMul(builder).Union(); },
      {{a, a_constant}, {b, b_constant}}, out);
}

const std::vector<std::pair<Shape, Shape>> kShapes = {
    {{3, 4}, {4, 5}},
    {{2, 3, 7}, {2, 7, 4}},                 // batched
    {{2, 4, 5, 16}, {2, 4, 16, 5}},         // attention: heads x tokens x head size
    {{2, 1, 3, 6}, {5, 6, 2}},              // batch axes broadcast both ways
    {{1, 3, 70}, {4, 2, 70, 3}},            // an operand with fewer axes
    {{2, 1, 3, 1, 2, 5}, {3, 1, 5, 4}},     // 4 batch axes
    // Register tiles of rows x 4 columns (see matmul.cpp): rows and columns not multiples of the
    // tile, K a multiple of 4 (vec4 reads of A) or not, N a multiple of 4 (vec4 reads of B).
    {{3, 19, 36}, {3, 36, 44}},
    {{2, 17, 13}, {2, 13, 7}},
    {{12, 9, 64}, {12, 64, 9}},             // attention's Q x K^T
    {{12, 9, 9}, {12, 9, 64}},              // and softmax x V
    {{1, 33}, {33, 1}},
};

TEST(MatMul, BatchedAndBroadcastComputedOperands) {
  uint32_t seed = 6100;
  for (const auto& [as, bs] : kShapes) {
    SCOPED_TRACE(::testing::PrintToString(as) + " x " + ::testing::PrintToString(bs));
    const auto a = random_vector(count_of(as), ++seed);
    const auto b = random_vector(count_of(bs), ++seed);
    Shape out;
    const auto expected = ref::matmul(a, as, b, bs, out);
    EXPECT_TRUE(all_close(run_single(matmul_model(as, bs, out), {a, b}), expected, kRtol, kAtol));
  }
}

TEST(MatMul, ConstantOperands) {
  uint32_t seed = 6200;
  for (const auto& [as, bs] : kShapes) {
    SCOPED_TRACE(::testing::PrintToString(as) + " x " + ::testing::PrintToString(bs));
    const auto a = random_vector(count_of(as), ++seed);
    const auto b = random_vector(count_of(bs), ++seed);
    Shape out;
    const auto expected = ref::matmul(a, as, b, bs, out);
    EXPECT_TRUE(all_close(run_single(matmul_model(as, bs, out, {}, b), {a}), expected, kRtol, kAtol));
    EXPECT_TRUE(all_close(run_single(matmul_model(as, bs, out, a, {}), {b}), expected, kRtol, kAtol));
  }
}

TEST(MatMul, RejectsBadParameters) {
  EXPECT_TRUE(rejected(matmul_model({2, 3}, {4, 5}, {2, 5}), "disagree on the inner length"));
  EXPECT_TRUE(rejected(matmul_model({2, 2, 3}, {3, 3, 5}, {3, 2, 5}), "do not broadcast"));
  EXPECT_TRUE(rejected(matmul_model({3}, {3, 5}, {5}), "operands need 2 to 6 axes"));
  EXPECT_TRUE(rejected(matmul_model({2, 3}, {3, 5}, {2, 6}), "output shape 2x6 should be 2x5"));
}

}  // namespace
}  // namespace vkbnn::test
