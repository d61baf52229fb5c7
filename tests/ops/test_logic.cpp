// The run-time comparisons and logic (Binary kinds Equal..Xor), Not and Sign (activations) and
// Where against the CPU references: random operands with many ties, every broadcast the ops
// take, constants and activations, on outputs the runs poison first. All of them are exact.

#include <algorithm>
#include <cmath>

#include "ops/single_node.hpp"
#include "reference/elementwise_reference.hpp"
#include "reference/where_reference.hpp"

namespace vkbnn::test {
namespace {

using Shape = std::vector<int64_t>;

const std::vector<fb::BinaryKind> kComparisons = {fb::BinaryKind::Equal, fb::BinaryKind::Greater,
                                                  fb::BinaryKind::GreaterOrEqual, fb::BinaryKind::Less,
                                                  fb::BinaryKind::LessOrEqual};
const std::vector<fb::BinaryKind> kLogic = {fb::BinaryKind::And, fb::BinaryKind::Or, fb::BinaryKind::Xor};

// Values from a few integers and halves, so that equal pairs are common; some are exact integers
// near 2^24, which comparisons must keep apart.
std::vector<float> tied_values(size_t n, uint32_t seed) {
  auto v = random_vector(n, seed, -2.0f, 2.0f);
  for (size_t k = 0; k < v.size(); ++k) v[k] = std::round(v[k] * 2.0f) / 2.0f;
  const std::vector<float> placed{16777215.0f, 16777214.0f, -16777215.0f, 0.0f, -0.0f, 1e-30f};
  for (size_t k = 0; k < std::min(placed.size(), v.size()); ++k) v[k * 7 % v.size()] = placed[k];
  return v;
}

// Booleans as the engine holds them, and other values logic reads as true (any nonzero one).
std::vector<float> truth_values(size_t n, uint32_t seed) {
  auto v = random_vector(n, seed, 0.0f, 1.0f);
  for (size_t k = 0; k < v.size(); ++k) v[k] = v[k] < 0.4f ? 0.0f : v[k] < 0.8f ? 1.0f : (k % 2 ? -2.5f : 1e-3f);
  return v;
}

// B shapes that Binary broadcasts onto an A of shape [N, C, H, W].
std::vector<Shape> broadcast_shapes(const Shape& a) {
  return {a, {1, a[1], 1, 1}, {1}, {a[3]}, {a[2], a[3]}};
}

// On shapes whose element counts do and do not allow the vec4 path.
TEST(Binary, ComparisonsAndLogicOnTiesAndBroadcasts) {
  uint32_t seed = 700;
  std::vector<fb::BinaryKind> kinds = kComparisons;
  kinds.insert(kinds.end(), kLogic.begin(), kLogic.end());
  for (auto kind : kinds)
    for (const Shape& shape : {Shape{2, 3, 5, 8}, Shape{2, 5, 7, 13}, Shape{1, 32, 8, 8}})
      for (const Shape& b_shape : broadcast_shapes(shape))
        for (bool constant : {true, false}) {
          SCOPED_TRACE(std::string(fb::EnumNameBinaryKind(kind)) + " " + ::testing::PrintToString(shape) + " with " +
                       ::testing::PrintToString(b_shape) + (constant ? " constant" : " activation"));
          const bool logic = std::find(kLogic.begin(), kLogic.end(), kind) != kLogic.end();
          auto a = logic ? truth_values(count_of(shape), ++seed) : tied_values(count_of(shape), ++seed);
          auto b = logic ? truth_values(count_of(b_shape), ++seed) : tied_values(count_of(b_shape), ++seed);
          // One value that leaves both results possible.
          if (b.size() == 1) b[0] = !logic ? 0.5f : kind == fb::BinaryKind::Or ? 0.0f : 1.0f;
          auto model = single_node_model(
              fb::OpParams::Binary, [&](auto& fbb) { return fb::CreateBinary(fbb, kind).Union(); },
              {{shape, {}}, {b_shape, constant ? std::optional(b) : std::nullopt}}, shape);
          std::vector<std::vector<float>> inputs{a};
          if (!constant) inputs.push_back(b);
          const auto out = run_single(model, inputs);
          const auto expected = ref::binary(kind, a, shape, b, b_shape);
          EXPECT_EQ(out, expected);
          // Both results occur, or the case tests little.
          EXPECT_NE(std::count(expected.begin(), expected.end(), 1.0f), 0);
          EXPECT_NE(std::count(expected.begin(), expected.end(), 0.0f), 0);
        }
}

// A constant first operand (the converter keeps one there when it fills the output).
TEST(Binary, ComparisonOfConstantFirstOperand) {
  const Shape shape{1, 3, 4, 5};
  const auto a = tied_values(count_of(shape), 750);
  const auto b = tied_values(count_of(shape), 751);
  for (auto kind : kComparisons) {
    SCOPED_TRACE(fb::EnumNameBinaryKind(kind));
    auto model = single_node_model(
        fb::OpParams::Binary, [&](auto& fbb) { return fb::CreateBinary(fbb, kind).Union(); },
        {{shape, a}, {shape, {}}}, shape);
    EXPECT_EQ(run_single(model, {b}), ref::binary(kind, a, shape, b, shape));
  }
}

// Known values, independent of the reference: ONNX's truth tables and orderings.
TEST(Binary, ComparisonAndLogicTruthTables) {
  const Shape s{8};
  const std::vector<float> a{0, 0, 1, 1, -1, 2.5f, -0.0f, 3}, b{0, 1, 0, 1, -1, 2, 0, 4};
  auto run = [&](fb::BinaryKind kind) {
    return run_single(single_node_model(
                          fb::OpParams::Binary, [&](auto& fbb) { return fb::CreateBinary(fbb, kind).Union(); },
                          {{s, {}}, {s, {}}}, s),
                      {a, b});
  };
  using V = std::vector<float>;
  EXPECT_EQ(run(fb::BinaryKind::Equal), (V{1, 0, 0, 1, 1, 0, 1, 0}));
  EXPECT_EQ(run(fb::BinaryKind::Greater), (V{0, 0, 1, 0, 0, 1, 0, 0}));
  EXPECT_EQ(run(fb::BinaryKind::GreaterOrEqual), (V{1, 0, 1, 1, 1, 1, 1, 0}));
  EXPECT_EQ(run(fb::BinaryKind::Less), (V{0, 1, 0, 0, 0, 0, 0, 1}));
  EXPECT_EQ(run(fb::BinaryKind::LessOrEqual), (V{1, 1, 0, 1, 1, 0, 1, 1}));
  EXPECT_EQ(run(fb::BinaryKind::And), (V{0, 0, 0, 1, 1, 1, 0, 1}));
  EXPECT_EQ(run(fb::BinaryKind::Or), (V{0, 1, 1, 1, 1, 1, 0, 1}));
  EXPECT_EQ(run(fb::BinaryKind::Xor), (V{0, 1, 1, 0, 0, 0, 0, 0}));
}

// Not (of booleans and other values) and Sign (sign(0) = 0), at zeros of both signs, tiny and
// huge magnitudes and random values: exact.
TEST(ActivationOp, NotAndSign) {
  for (auto kind : {fb::ActivationKind::Not, fb::ActivationKind::Sign})
    for (const Shape& shape : {Shape{2, 3, 7, 5}, Shape{1, 4, 4, 4}}) {
      SCOPED_TRACE(std::string(fb::EnumNameActivationKind(kind)) + " on " + ::testing::PrintToString(shape));
      auto x = random_vector(count_of(shape), 760, -3.0f, 3.0f);
      const std::vector<float> placed{0.0f, -0.0f, 1.0f, 1.5e-38f, -1.5e-38f, 3e38f, -3e38f, 0.0f, 1.0f, 16777215.0f};
      std::copy(placed.begin(), placed.end(), x.begin());
      for (size_t k = placed.size(); k < x.size(); k += 3) x[k] = k % 2 ? 0.0f : 1.0f;
      const ref::Activation act{kind};
      auto model = single_node_model(
          fb::OpParams::ActivationOp,
          [&](auto& b) { return fb::CreateActivationOp(b, fb::CreateActivation(b, kind)).Union(); }, {{shape, {}}},
          shape);
      EXPECT_EQ(run_single(model, {x}), ref::activation(x, act));
    }
}

// Sign fused into a Binary, as any activation may be.
TEST(Binary, FusedSign) {
  const Shape shape{2, 3, 4, 4};
  auto a = tied_values(count_of(shape), 770), b = tied_values(count_of(shape), 771);
  auto model = single_node_model(
      fb::OpParams::Binary,
      [](auto& fbb) {
        return fb::CreateBinary(fbb, fb::BinaryKind::Sub, fb::CreateActivation(fbb, fb::ActivationKind::Sign)).Union();
      },
      {{shape, {}}, {shape, {}}}, shape);
  EXPECT_EQ(run_single(model, {a, b}), ref::binary(fb::BinaryKind::Sub, a, shape, b, shape, {fb::ActivationKind::Sign}));
}

struct WhereCase {
  Shape c, x, y;
  bool c_constant = false, x_constant = false, y_constant = false;
};

std::vector<uint8_t> where_model(const WhereCase& w, const std::vector<float>& c, const std::vector<float>& x,
                                 const std::vector<float>& y, const Shape& out) {
  auto input = [](const Shape& s, bool constant, const std::vector<float>& v) {
    return NodeInput{s, constant ? std::optional(v) : std::nullopt};
  };
  return single_node_model(
      fb::OpParams::Where, [](auto& fbb) { return fb::CreateWhere(fbb).Union(); },
      {input(w.c, w.c_constant, c), input(w.x, w.x_constant, x), input(w.y, w.y_constant, y)}, out);
}

// Each operand broadcast alone and together, along leading, inner and trailing axes, of ranks 1
// to 6, as constants or activations; conditions other than 0 and 1 count as true.
TEST(Where, BroadcastsEveryOperand) {
  const std::vector<WhereCase> cases = {
      {{2, 3, 4, 5}, {2, 3, 4, 5}, {2, 3, 4, 5}},
      {{2, 1, 4, 1}, {2, 3, 4, 5}, {2, 3, 4, 5}},
      {{2, 3, 4, 5}, {3, 1, 5}, {2, 3, 4, 5}},
      {{2, 3, 4, 5}, {2, 3, 4, 5}, {1}},
      {{1, 1, 4, 5}, {2, 3, 1, 1}, {5}},
      {{4, 1}, {1, 5}, {3, 1, 1}},
      {{2, 3, 4, 5}, {1}, {1}, false, true, true},
      {{2, 1, 1, 5}, {2, 3, 4, 5}, {1}, true, false, true},
      {{1, 4, 5}, {1, 4, 5}, {2, 3, 1, 1}, true, true, false},
      {{7}, {7}, {1}},
      {{2, 1, 3, 1, 2, 3}, {1, 2, 1, 2, 1, 3}, {2, 2, 3, 2, 2, 1}},
      {{1, 2, 1, 1, 1, 2}, {2, 2, 3, 2, 2, 2}, {2, 1, 3, 1, 2, 1}, false, true, false},
  };
  uint32_t seed = 800;
  for (const auto& w : cases) {
    SCOPED_TRACE("C " + ::testing::PrintToString(w.c) + " X " + ::testing::PrintToString(w.x) + " Y " +
                 ::testing::PrintToString(w.y));
    const Shape out = ref::broadcast_shape({w.c, w.x, w.y});
    auto c = truth_values(count_of(w.c), ++seed);
    if (c.size() > 1) c[0] = 0.0f, c[1] = 1.0f;
    const auto x = random_vector(count_of(w.x), ++seed, -3.0f, 3.0f);
    const auto y = random_vector(count_of(w.y), ++seed, 5.0f, 9.0f);
    std::vector<std::vector<float>> inputs;
    if (!w.c_constant) inputs.push_back(c);
    if (!w.x_constant) inputs.push_back(x);
    if (!w.y_constant) inputs.push_back(y);
    const auto result = run_single(where_model(w, c, x, y, out), inputs);
    EXPECT_EQ(result, ref::where(c, w.c, x, w.x, y, w.y));
  }
}

// Known values, independent of the reference: a [2, 1] mask over rows of a [2, 3] X, Y a scalar.
TEST(Where, SelectsPerRow) {
  const WhereCase w{{2, 1}, {2, 3}, {1}};
  const std::vector<float> c{0.0f, 2.0f}, x{1, 2, 3, 4, 5, 6}, y{-1};
  EXPECT_EQ(run_single(where_model(w, c, x, y, {2, 3}), {c, x, y}), (std::vector<float>{-1, -1, -1, 4, 5, 6}));
}

TEST(Where, RejectsShapesThatDoNotBroadcast) {
  auto model = [](Shape c, Shape x, Shape y, Shape out) {
    return where_model({c, x, y}, std::vector<float>(count_of(c)), std::vector<float>(count_of(x)),
                       std::vector<float>(count_of(y)), out);
  };
  EXPECT_TRUE(rejected(model({2, 3}, {2, 4}, {1}, {2, 4}), "does not broadcast"));
  EXPECT_TRUE(rejected(model({2, 3}, {2, 3}, {1}, {2, 4}), "does not broadcast"));
  EXPECT_TRUE(rejected(model({2, 1}, {1, 3}, {1}, {2, 3, 1}), "does not broadcast"));
  EXPECT_TRUE(rejected(model({2, 1}, {1, 1}, {1}, {2, 3}), "should be the inputs' broadcast"));
  EXPECT_TRUE(rejected(model({1, 2, 3}, {2, 3}, {1}, {2, 3}), "more axes than the output"));
  EXPECT_TRUE(rejected(model({1, 1, 1, 1, 1, 1, 2}, {2}, {1}, {1, 1, 1, 1, 1, 1, 2}), "ranks 1 to 6"));
}

}  // namespace
}  // namespace vkbnn::test
