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

// Constant operands beyond one buffer binding (NetworkOptions::max_buffer_range, 64 KiB here)
// split the work along the output's leading batch axis into dispatches whose constant matrices
// fit one weight buffer each: the outputs are those of the single dispatch, bit for bit.
TEST(MatMul, SplitsConstantOperandsBeyondOneBufferBinding) {
  struct Case {
    Shape a, b;
    bool b_constant;
    uint32_t dispatches;
  };
  const std::vector<Case> cases = {
      {{6, 7, 64}, {6, 64, 100}, true, 3},                  // 2 of 6 batch matrices per page
      {{3, 2, 5, 130}, {3, 1, 130, 50}, true, 2},           // B broadcast along the inner batch axis
      {{5, 30, 120}, {5, 120, 9}, false, 2},                // constant A
      {{2, 1, 1, 1, 5, 64}, {2, 1, 1, 1, 64, 130}, true, 2}, // 4 batch axes
  };
  uint32_t seed = 6300;
  for (const auto& c : cases) {
    SCOPED_TRACE(::testing::PrintToString(c.a) + " x " + ::testing::PrintToString(c.b));
    const auto a = random_vector(count_of(c.a), ++seed);
    const auto b = random_vector(count_of(c.b), ++seed);
    Shape out;
    const auto expected = ref::matmul(a, c.a, b, c.b, out);
    const auto model = c.b_constant ? matmul_model(c.a, c.b, out, {}, b) : matmul_model(c.a, c.b, out, a, {});
    const auto& input = c.b_constant ? a : b;
    const LimitedRun whole = run_with_buffer_range(model, input, 0);
    const LimitedRun split = run_with_buffer_range(model, input, 64 << 10);
    EXPECT_EQ(whole.dispatches, 1u);
    EXPECT_EQ(split.dispatches, c.dispatches);
    EXPECT_EQ(split.weight_buffers, c.dispatches);
    EXPECT_TRUE(same_bits(split.output, whole.output));
    // Sums of up to 130 products: observed 1.4e-6 off at most.
    EXPECT_TRUE(all_close(split.output, expected, kRtol, 5e-6f));
  }
}

TEST(MatMul, ConstantBroadcastAlongTheLeadingAxisBeyondOneBindingFailsClearly) {
  const auto b = random_vector(64 * 300, 5);
  Shape out;
  ref::matmul(random_vector(4 * 5 * 64, 6), {4, 5, 64}, b, {1, 64, 300}, out);
  expect_error([&] { run_with_buffer_range(matmul_model({4, 5, 64}, {1, 64, 300}, out, {}, b), random_vector(4 * 5 * 64, 6), 64 << 10); },
               "node 'op' (MatMul): its constant operands take 76800 bytes per index of the output's leading batch "
               "axis, more than one buffer binding may span (NetworkOptions::max_buffer_range (65536 bytes))");
}

TEST(MatMul, RejectsBadParameters) {
  EXPECT_TRUE(rejected(matmul_model({2, 3}, {4, 5}, {2, 5}), "disagree on the inner length"));
  EXPECT_TRUE(rejected(matmul_model({2, 2, 3}, {3, 3, 5}, {3, 2, 5}), "do not broadcast"));
  EXPECT_TRUE(rejected(matmul_model({3}, {3, 5}, {5}), "operands need 2 to 6 axes"));
  EXPECT_TRUE(rejected(matmul_model({2, 3}, {3, 5}, {2, 6}), "output shape 2x6 should be 2x5"));
}

}  // namespace
}  // namespace vkbnn::test
