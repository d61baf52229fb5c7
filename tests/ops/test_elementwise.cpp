// Activation, ChannelAffine, PRelu and Binary against the CPU references.

#include <algorithm>
#include <limits>
#include <cmath>

#include "ops/op.hpp"
#include "ops/shader_codes.hpp"
#include "ops/single_node.hpp"
#include "reference/elementwise_reference.hpp"

namespace vkbnn::test {
namespace {

using Shape = std::vector<int64_t>;
constexpr float kRtol = 1e-5f, kAtol = 1e-6f;

const std::vector<ref::Activation> kActivations = {
    {fb::ActivationKind::Relu, 0, 0},       {fb::ActivationKind::Clip, -0.3, 0.4},
    {fb::ActivationKind::LeakyRelu, 0.1, 0}, {fb::ActivationKind::Sigmoid, 0, 0},
    {fb::ActivationKind::HardSigmoid, 0.2, 0.5}, {fb::ActivationKind::HardSwish, 0, 0},
};

flatbuffers::Offset<fb::Activation> make_activation(flatbuffers::FlatBufferBuilder& b, const ref::Activation& a) {
  return fb::CreateActivation(b, a.kind, static_cast<float>(a.alpha), static_cast<float>(a.beta));
}

std::string name_of(const ref::Activation& a) { return fb::EnumNameActivationKind(a.kind); }

// Shapes whose element counts do and do not allow the vec4 paths.
const std::vector<Shape> kShapes = {{2, 5, 7, 13}, {1, 33, 4, 4}, {3, 10}, {1, 1, 3}, {2, 3, 5, 5, 2}};

TEST(ActivationOp, EveryKindOnAwkwardShapes) {
  uint32_t seed = 100;
  for (const auto& act : kActivations)
    for (const auto& shape : kShapes) {
      SCOPED_TRACE(name_of(act) + " on " + ::testing::PrintToString(shape));
      auto model = single_node_model(
          fb::OpParams::ActivationOp,
          [&](auto& b) { return fb::CreateActivationOp(b, make_activation(b, act)).Union(); }, {{shape, {}}}, shape);
      auto x = random_vector(count_of(shape), ++seed, -4.0f, 4.0f);
      EXPECT_TRUE(all_close(run_single(model, {x}), ref::activation(x, act), kRtol, kAtol));
    }
}

// The unary math kinds, each on its ONNX domain: the range random inputs are drawn from, values
// placed on purpose (zero, tiny and saturating magnitudes, the branch points of the shader's
// approximations), and the tolerance they meet against the double-precision reference.
struct UnaryCase {
  fb::ActivationKind kind;
  float lo, hi;
  std::vector<float> placed;
  float rtol, atol;
};

const std::vector<UnaryCase> kUnaryCases = {
    {fb::ActivationKind::Erf, -5.0f, 5.0f, {0.0f, 1e-6f, -1e-3f, 0.999f, 1.0f, -1.001f, 3.99f, 4.0f, -30.0f}, 1e-6f,
     2e-7f},
    {fb::ActivationKind::Tanh, -12.0f, 12.0f, {0.0f, 1e-6f, -0.0624f, 0.0625f, 0.07f, -9.0f, 100.0f, -100.0f}, 1e-6f,
     1e-7f},
    {fb::ActivationKind::Exp, -20.0f, 20.0f, {0.0f, -100.0f, 1e-7f, 80.0f}, 2e-6f, 0.0f},
    {fb::ActivationKind::Log, 1e-3f, 1e3f, {1.0f, 1e-30f, 1.0001f, 3e38f}, 1e-6f, 1e-6f},
    {fb::ActivationKind::Sqrt, 0.0f, 100.0f, {0.0f, 1e-30f, 1.0f, 3e38f}, 1e-6f, 0.0f},
    {fb::ActivationKind::Reciprocal, -10.0f, 10.0f, {1e-3f, -1e-3f, 1e30f, 3.0f}, 1e-6f, 0.0f},
    {fb::ActivationKind::Abs, -4.0f, 4.0f, {0.0f, -0.0f, -3e38f}, 0.0f, 0.0f},
    {fb::ActivationKind::Softplus, -30.0f, 30.0f, {0.0f, -9.3f, -9.2f, 2.3f, 2.31f, 90.0f, -90.0f}, 3e-6f, 1e-7f},
    {fb::ActivationKind::Mish, -30.0f, 30.0f, {0.0f, -9.2f, 1e-5f, 90.0f, -90.0f}, 2e-6f, 1e-7f},
    {fb::ActivationKind::Silu, -30.0f, 30.0f, {0.0f, -87.0f, -89.0f, -100.0f, 1e-5f, 90.0f}, 2e-6f, 1e-7f},
    {fb::ActivationKind::Gelu, -8.0f, 8.0f, {0.0f, -1.0f / 0.70710678f, 1.414f, 5.66f, -5.66f, -30.0f, 30.0f}, 2e-6f,
     1e-7f},
};

TEST(ActivationOp, UnaryMathOverItsDomain) {
  uint32_t seed = 150;
  for (const auto& c : kUnaryCases)
    for (const auto& shape : kShapes) {
      const ref::Activation act{c.kind};
      SCOPED_TRACE(name_of(act) + " on " + ::testing::PrintToString(shape));
      auto model = single_node_model(
          fb::OpParams::ActivationOp,
          [&](auto& b) { return fb::CreateActivationOp(b, make_activation(b, act)).Union(); }, {{shape, {}}}, shape);
      auto x = random_vector(count_of(shape), ++seed, c.lo, c.hi);
      if (c.kind == fb::ActivationKind::Log)  // over decades, not mostly the top one
        for (float& v : x) v = std::pow(10.0f, std::log10(c.lo) + (v - c.lo) / (c.hi - c.lo) * 6.0f);
      std::copy_n(c.placed.begin(), std::min(c.placed.size(), x.size()), x.begin());
      // Vulkan lets a device flush denormal results to zero: FLT_MIN absolute is allowed.
      EXPECT_TRUE(all_close(run_single(model, {x}), ref::activation(x, act), c.rtol,
                            std::max(c.atol, std::numeric_limits<float>::min())));
    }
}

TEST(ActivationOp, RejectsBadParameters) {
  auto model = [](Shape in, Shape out, ref::Activation act) {
    return single_node_model(
        fb::OpParams::ActivationOp,
        [&](auto& b) { return fb::CreateActivationOp(b, make_activation(b, act)).Union(); }, {{in, {}}}, out);
  };
  EXPECT_TRUE(rejected(model({1, 4}, {1, 5}, {fb::ActivationKind::Relu}), "differs from input"));
  EXPECT_TRUE(rejected(model({1, 4}, {1, 4}, {fb::ActivationKind::Clip, 1.0, -1.0}), "min <= max"));
  EXPECT_TRUE(rejected(model({1, 4}, {1, 4}, {static_cast<fb::ActivationKind>(42)}), "unknown activation kind"));
  EXPECT_TRUE(rejected(model({1, 4}, {1, 4}, {fb::ActivationKind::None}), "None"));
  EXPECT_TRUE(rejected(model({1, 4}, {1, 4}, {fb::ActivationKind::LeakyRelu, std::nan(""), 0}), "finite alpha"));
}

TEST(ChannelAffine, PerChannelScaleAndShiftWithActivations) {
  uint32_t seed = 200;
  const std::vector<Shape> shapes = {{2, 3, 7, 13}, {1, 33, 4, 4}, {2, 5}, {2, 8}, {1, 1, 9, 9}, {2, 5, 8, 12}};
  std::vector<ref::Activation> acts = kActivations;
  acts.push_back({});
  for (const auto& shape : shapes)
    for (const auto& act : acts) {
      SCOPED_TRACE(name_of(act) + " on " + ::testing::PrintToString(shape));
      const auto c = static_cast<size_t>(shape[1]);
      auto scale = random_vector(c, ++seed, -2.0f, 2.0f);
      auto shift = random_vector(c, ++seed);
      auto model = single_node_model(
          fb::OpParams::ChannelAffine,
          [&](auto& b) { return fb::CreateChannelAffine(b, make_activation(b, act)).Union(); },
          {{shape, {}}, {{shape[1]}, scale}, {{shape[1]}, shift}}, shape);
      auto x = random_vector(count_of(shape), ++seed, -3.0f, 3.0f);
      EXPECT_TRUE(all_close(run_single(model, {x}), ref::channel_affine(x, shape, scale, shift, act), kRtol, kAtol));
    }
}

TEST(ChannelAffine, RejectsBadInputs) {
  auto params = [](auto& b) { return fb::CreateChannelAffine(b).Union(); };
  std::vector<float> three(3, 1.0f), four(4, 1.0f);
  EXPECT_TRUE(rejected(single_node_model(fb::OpParams::ChannelAffine, params,
                                         {{{1, 3, 2, 2}, {}}, {{4}, four}, {{3}, three}}, {1, 3, 2, 2}),
                       "scale must have shape [3]"));
  EXPECT_TRUE(rejected(single_node_model(fb::OpParams::ChannelAffine, params,
                                         {{{1, 3, 2, 2}, {}}, {{3}, {}}, {{3}, three}}, {1, 3, 2, 2}),
                       "scale must be a constant"));
  EXPECT_TRUE(rejected(single_node_model(fb::OpParams::ChannelAffine, params, {{{1, 3, 2, 2}, {}}, {{3}, three}},
                                         {1, 3, 2, 2}),
                       "expects 3 input(s)"));
  EXPECT_TRUE(rejected(single_node_model(fb::OpParams::ChannelAffine, params,
                                         {{{1, 3, 2, 2}, {}}, {{3}, three}, {{3}, three}}, {1, 3, 2, 3}),
                       "differs from input"));
}

// B shapes for an A of shape [N, C, H, W], each a supported broadcast.
std::vector<Shape> broadcast_shapes(const Shape& a) {
  return {a, {1, a[1], 1, 1}, {a[1], 1, 1}, {1}, {}, {a[3]}, {1, a[1], a[2], a[3]}, {a[2], 1}};
}

TEST(PRelu, SlopeOfOneValuePerChannelOrFullShape) {
  uint32_t seed = 300;
  for (const Shape& shape : {Shape{2, 5, 7, 13}, Shape{1, 4, 6, 6}, Shape{2, 1, 3, 3}, Shape{2, 3, 8, 12}})
    for (const Shape& slope_shape : broadcast_shapes(shape))
      for (bool constant : {true, false}) {
        SCOPED_TRACE(::testing::PrintToString(shape) + " slope " + ::testing::PrintToString(slope_shape) +
                     (constant ? " constant" : " activation"));
        auto slope = random_vector(count_of(slope_shape), ++seed, 0.0f, 0.5f);
        auto model = single_node_model(
            fb::OpParams::PRelu, [](auto& b) { return fb::CreatePRelu(b).Union(); },
            {{shape, {}}, {slope_shape, constant ? std::optional(slope) : std::nullopt}}, shape);
        auto x = random_vector(count_of(shape), ++seed);
        std::vector<std::vector<float>> inputs{x};
        if (!constant) inputs.push_back(slope);
        EXPECT_TRUE(all_close(run_single(model, inputs), ref::prelu(x, shape, slope, slope_shape), kRtol, kAtol));
      }
}

TEST(Binary, EveryKindAndBroadcast) {
  uint32_t seed = 400;
  for (auto kind : {fb::BinaryKind::Add, fb::BinaryKind::Mul, fb::BinaryKind::Sub, fb::BinaryKind::Div,
                    fb::BinaryKind::Min, fb::BinaryKind::Max})
    for (const Shape& shape :
         {Shape{2, 5, 7, 13}, Shape{1, 33, 4, 4}, Shape{2, 3, 5, 8}, Shape{2, 3, 8, 12}, Shape{2, 1, 7, 13}})
      for (const Shape& b_shape : broadcast_shapes(shape))
        for (bool constant : {true, false}) {
          SCOPED_TRACE(std::string(fb::EnumNameBinaryKind(kind)) + " " + ::testing::PrintToString(shape) + " with " +
                       ::testing::PrintToString(b_shape) + (constant ? " constant" : " activation"));
          // Divisors stay away from zero so that the relative tolerance is meaningful.
          auto b = kind == fb::BinaryKind::Div ? random_vector(count_of(b_shape), ++seed, 0.5f, 2.0f)
                                               : random_vector(count_of(b_shape), ++seed);
          auto model = single_node_model(
              fb::OpParams::Binary, [&](auto& fbb) { return fb::CreateBinary(fbb, kind).Union(); },
              {{shape, {}}, {b_shape, constant ? std::optional(b) : std::nullopt}}, shape);
          auto a = random_vector(count_of(shape), ++seed);
          std::vector<std::vector<float>> inputs{a};
          if (!constant) inputs.push_back(b);
          EXPECT_TRUE(all_close(run_single(model, inputs), ref::binary(kind, a, shape, b, b_shape), kRtol, kAtol));
        }
}

// Pow as ONNX defines it: constant exponents as exporters write them (squares in LayerNorm,
// cubes in GELU's tanh form, roots, reciprocals), negative bases with integer exponents, zero
// bases, x^0 = 1; then a computed exponent, element by element.
TEST(Binary, PowEdgeCases) {
  uint32_t seed = 450;
  const Shape shape{2, 3, 5, 8};
  auto pow_model = [&](const Shape& b_shape, std::optional<std::vector<float>> b) {
    return single_node_model(
        fb::OpParams::Binary, [](auto& fbb) { return fb::CreateBinary(fbb, fb::BinaryKind::Pow).Union(); },
        {{shape, {}}, {b_shape, std::move(b)}}, shape);
  };
  for (float e : {2.0f, 3.0f, -1.0f, -2.0f, 0.0f, 1.0f, 0.5f, 1.5f, -0.5f, 2.5f, 7.0f}) {
    SCOPED_TRACE("exponent " + std::to_string(e));
    const bool integer = std::floor(e) == e;
    // A negative base takes only integer exponents (NaN otherwise); zero bases only
    // non-negative ones (the result is then exact).
    auto a = random_vector(count_of(shape), ++seed, integer ? -3.0f : 0.0f, 3.0f);
    if (e >= 0) a[0] = a[5] = 0.0f;
    a[1] = -a[2];
    const std::vector<float> b{e};
    EXPECT_TRUE(all_close(run_single(pow_model({1}, b), {a}), ref::binary(fb::BinaryKind::Pow, a, shape, b, {1}),
                          2e-6f, 1e-6f));
  }
  auto a = random_vector(count_of(shape), ++seed, 0.0f, 4.0f);
  auto b = random_vector(count_of(shape), ++seed, -3.0f, 3.0f);
  a[0] = -2.0f, b[0] = 3.0f;
  a[1] = -2.0f, b[1] = -2.0f;
  a[2] = 0.0f, b[2] = 0.0f;
  EXPECT_TRUE(all_close(run_single(pow_model(shape, std::nullopt), {a, b}),
                        ref::binary(fb::BinaryKind::Pow, a, shape, b, shape), 2e-6f, 1e-6f));
  // A negative base with a fractional exponent and zero to a negative power, as ONNX has them.
  auto edge = run_single(pow_model({1}, std::vector<float>{-0.5f}), {std::vector<float>(count_of(shape), 0.0f)});
  EXPECT_TRUE(std::isinf(edge[0]) && edge[0] > 0) << edge[0];
  auto negative = std::vector<float>(count_of(shape), -2.0f);
  EXPECT_TRUE(std::isnan(run_single(pow_model({1}, std::vector<float>{0.5f}), {negative})[0]));
}

// Random integers of both signs as floats, within +-range.
std::vector<float> random_integers(size_t n, uint32_t seed, float range) {
  auto v = random_vector(n, seed, -range - 0.5f, range + 0.5f);
  for (float& x : v) x = std::nearbyint(x);
  return v;
}

// ONNX's integer Div (truncating) and Mod (either sign convention) on integers of both signs:
// around zero, at multiples of the divisor, against divisors of either sign (constant, per
// channel or computed), up to the 2^24 the float words hold exactly; they must be exact.
TEST(Binary, IntegerDivisionAndRemainders) {
  uint32_t seed = 470;
  for (auto kind : {fb::BinaryKind::TruncDiv, fb::BinaryKind::Mod, fb::BinaryKind::Fmod})
    for (const Shape& shape : {Shape{2, 3, 5, 8}, Shape{1, 5, 3, 3}})
      for (const Shape& b_shape : {shape, Shape{1, shape[1], 1, 1}, Shape{1}})
        for (bool constant : {true, false}) {
          SCOPED_TRACE(std::string(fb::EnumNameBinaryKind(kind)) + " " + ::testing::PrintToString(shape) + " by " +
                       ::testing::PrintToString(b_shape) + (constant ? " constant" : " activation"));
          auto a = random_integers(count_of(shape), ++seed, 40.0f);
          auto b = random_integers(count_of(b_shape), ++seed, 9.0f);
          for (float& v : b)
            if (v == 0.0f) v = -7.0f;
          if (b.size() == 1) b[0] = -7.0f;
          // Exact multiples, zero, and magnitudes near the exact limit.
          a[0] = 0.0f, a[1] = b[b.size() > 1 ? 1 : 0] * 3, a[2] = -a[1], a[3] = 16777215.0f, a[4] = -16777215.0f;
          auto model = single_node_model(
              fb::OpParams::Binary, [&](auto& fbb) { return fb::CreateBinary(fbb, kind).Union(); },
              {{shape, {}}, {b_shape, constant ? std::optional(b) : std::nullopt}}, shape);
          std::vector<std::vector<float>> inputs{a};
          if (!constant) inputs.push_back(b);
          const std::vector<float> out = run_single(model, inputs);
          EXPECT_TRUE(all_close(out, ref::binary(kind, a, shape, b, b_shape), 0.0f, 0.0f));
        }
  // Known values, independent of the reference: ONNX's test_mod_mixed_sign_int64 and C's fmod.
  const Shape s{6};
  const std::vector<float> a{-4, 7, 5, 4, -7, 8}, b{2, -3, 8, -2, 3, 5};
  auto run = [&](fb::BinaryKind kind) {
    return run_single(single_node_model(
                          fb::OpParams::Binary, [&](auto& fbb) { return fb::CreateBinary(fbb, kind).Union(); },
                          {{s, {}}, {s, {}}}, s),
                      {a, b});
  };
  EXPECT_EQ(run(fb::BinaryKind::Mod), (std::vector<float>{0, -2, 5, 0, 2, 3}));
  EXPECT_EQ(run(fb::BinaryKind::Fmod), (std::vector<float>{0, 1, 5, 0, -1, 3}));
  EXPECT_EQ(run(fb::BinaryKind::TruncDiv), (std::vector<float>{-2, -2, 0, -2, -2, 1}));
}

// Fmod of floats (ONNX Mod with fmod=1): the remainder with the dividend's sign.
TEST(Binary, FloatFmod) {
  const Shape shape{2, 3, 4, 5};
  auto a = random_vector(count_of(shape), 480, -20.0f, 20.0f);
  auto b = random_vector(count_of(shape), 481, 0.5f, 4.0f);
  for (size_t k = 0; k < b.size(); k += 2) b[k] = -b[k];
  auto model = single_node_model(
      fb::OpParams::Binary, [](auto& fbb) { return fb::CreateBinary(fbb, fb::BinaryKind::Fmod).Union(); },
      {{shape, {}}, {shape, {}}}, shape);
  // a - b * trunc(a / b) is within a few ulps of a of the exact remainder.
  EXPECT_TRUE(all_close(run_single(model, {a, b}), ref::binary(fb::BinaryKind::Fmod, a, shape, b, shape), 0.0f, 1e-5f));
}

// Floor, Ceil, Round (halves to even) and Trunc (toward zero), at halves and integers of both
// signs and on random values: exact.
TEST(ActivationOp, Rounding) {
  const Shape shape{2, 3, 7, 5};
  for (auto kind : {fb::ActivationKind::Floor, fb::ActivationKind::Ceil, fb::ActivationKind::Round,
                    fb::ActivationKind::Trunc}) {
    const ref::Activation act{kind};
    SCOPED_TRACE(name_of(act));
    auto x = random_vector(count_of(shape), 490, -6.0f, 6.0f);
    const std::vector<float> placed{0.5f, -0.5f, 1.5f, -1.5f, 2.5f, -2.5f, 0.0f, -0.0f, 3.0f, -3.0f, 1e-3f, -1e-3f,
                                    8388607.5f, -8388607.5f, 16777216.0f};
    std::copy(placed.begin(), placed.end(), x.begin());
    auto model = single_node_model(
        fb::OpParams::ActivationOp,
        [&](auto& b) { return fb::CreateActivationOp(b, make_activation(b, act)).Union(); }, {{shape, {}}}, shape);
    EXPECT_TRUE(all_close(run_single(model, {x}), ref::activation(x, act), 0.0f, 0.0f));
  }
}

TEST(Binary, FusedActivations) {
  uint32_t seed = 500;
  const Shape shape{2, 3, 7, 13};
  for (const auto& act : kActivations) {
    SCOPED_TRACE(name_of(act));
    auto model = single_node_model(
        fb::OpParams::Binary,
        [&](auto& b) { return fb::CreateBinary(b, fb::BinaryKind::Add, make_activation(b, act)).Union(); },
        {{shape, {}}, {shape, {}}}, shape);
    auto a = random_vector(count_of(shape), ++seed, -3.0f, 3.0f);
    auto b = random_vector(count_of(shape), ++seed, -3.0f, 3.0f);
    EXPECT_TRUE(all_close(run_single(model, {a, b}), ref::binary(fb::BinaryKind::Add, a, shape, b, shape, act), kRtol,
                          kAtol));
  }
}

TEST(Binary, ConstantFirstOperandWithoutLeadingOnes) {
  const Shape shape{1, 3, 5, 5};
  auto a = random_vector(count_of(shape), 601);
  auto b = random_vector(count_of(shape), 602, 0.5f, 2.0f);
  auto model = single_node_model(
      fb::OpParams::Binary, [](auto& fbb) { return fb::CreateBinary(fbb, fb::BinaryKind::Div).Union(); },
      {{{3, 5, 5}, a}, {shape, {}}}, shape);
  EXPECT_TRUE(all_close(run_single(model, {b}), ref::binary(fb::BinaryKind::Div, a, shape, b, shape), kRtol, kAtol));
}

TEST(Binary, RejectsUnsupportedBroadcasts) {
  auto add = [](Shape a, Shape b, Shape out) {
    return single_node_model(
        fb::OpParams::Binary, [](auto& fbb) { return fb::CreateBinary(fbb, fb::BinaryKind::Add).Union(); },
        {{a, {}}, {b, {}}}, out);
  };
  EXPECT_TRUE(rejected(add({1, 3, 1, 1}, {1, 3, 4, 4}, {1, 3, 4, 4}), "only input 1 may be broadcast"));
  EXPECT_TRUE(rejected(add({2, 3, 4, 4}, {2, 1, 1, 4}, {2, 3, 4, 4}), "does not broadcast"));
  EXPECT_TRUE(rejected(add({2, 3, 4, 4}, {3, 4, 4, 4}, {2, 3, 4, 4}), "does not broadcast"));
  EXPECT_TRUE(rejected(add({3, 4}, {1, 3, 4}, {3, 4}), "does not broadcast"));
  EXPECT_TRUE(rejected(add({2, 3}, {2, 3}, {2, 4}), "differs from input 0"));
  EXPECT_TRUE(rejected(add({2, 3, 1}, {2, 3, 1}, {1, 2, 3}), "differs from input 0"));
  auto bad_kind = single_node_model(
      fb::OpParams::Binary,
      [](auto& fbb) { return fb::CreateBinary(fbb, static_cast<fb::BinaryKind>(42)).Union(); },
      {{{2, 3}, {}}, {{2, 3}, {}}}, {2, 3});
  EXPECT_TRUE(rejected(bad_kind, "unknown binary kind"));
}

TEST(PRelu, RejectsSlopeOfAnotherShape) {
  auto model = single_node_model(
      fb::OpParams::PRelu, [](auto& b) { return fb::CreatePRelu(b).Union(); },
      {{{1, 4, 3, 3}, {}}, {{5}, std::vector<float>(5, 0.1f)}}, {1, 4, 3, 3});
  EXPECT_TRUE(rejected(model, "slope of shape 5 does not broadcast"));
}

}  // namespace
}  // namespace vkbnn::test

namespace vkbnn::test {
namespace {

// Lowering alone: aligned shapes must take the vec4 paths (the tests above then cover them).
struct Lowered {
  std::vector<uint8_t> bytes;
  std::vector<detail::Dispatch> dispatches;
};

Lowered lower_binary_node(const Shape& a, const Shape& b, uint32_t out_offset) {
  Lowered result;
  result.bytes = single_node_model(
      fb::OpParams::Binary, [](auto& fbb) { return fb::CreateBinary(fbb, fb::BinaryKind::Add).Union(); },
      {{a, {}}, {b, {}}}, a);
  const fb::Node& node = *fb::GetModel(result.bytes.data())->nodes()->Get(0);
  detail::WeightPacker packer;
  DeviceInfo device;
  detail::NodeLowering lowering{node, {{0, a}, {4096, b}}, {std::nullopt, std::nullopt}, {{out_offset, a}}, packer,
                                device};
  result.dispatches = detail::op_kind(fb::OpParams::Binary).lower(lowering);
  return result;
}

TEST(BinaryLowering, TakesVec4PathsWhereAligned) {
  using detail::BroadcastFetch;
  auto spec = [](const Shape& a, const Shape& b, uint32_t out_offset) {
    return detail::spec_of<detail::shader::binary_elementwise>(lower_binary_node(a, b, out_offset).dispatches.at(0));
  };
  auto fetch = [](BroadcastFetch f) { return static_cast<uint32_t>(f); };
  const auto per_plane = lower_binary_node({2, 32, 8, 8}, {1, 32, 1, 1}, 8192).dispatches.at(0);
  EXPECT_EQ(detail::spec_of<detail::shader::binary_elementwise>(per_plane).VEC4, 1u);
  // A row of workgroups per plane.
  EXPECT_EQ(detail::spec_of<detail::shader::binary_elementwise>(per_plane).B_FETCH, fetch(BroadcastFetch::Plane));
  EXPECT_EQ(per_plane.groups, (std::array<uint32_t, 3>{1, 64, 1}));
  const auto per_channel = lower_binary_node({1, 32, 4, 4}, {1, 32, 1, 1}, 8192).dispatches.at(0);
  EXPECT_EQ(detail::spec_of<detail::shader::binary_elementwise>(per_channel).VEC4, 1u);
  // Planes too small for their own workgroups.
  EXPECT_EQ(detail::spec_of<detail::shader::binary_elementwise>(per_channel).B_FETCH, fetch(BroadcastFetch::Splat));
  EXPECT_EQ(spec({2, 3, 4, 4}, {2, 3, 4, 4}, 8192).VEC4, 1u);
  EXPECT_EQ(spec({2, 3, 4, 4}, {2, 3, 4, 4}, 8192).B_FETCH, fetch(BroadcastFetch::Vec4));  // B read as vec4 too
  EXPECT_EQ(spec({2, 5, 7, 13}, {5, 1, 1}, 8192).VEC4, 0u);
  EXPECT_EQ(spec({1, 32, 8, 8}, {1, 32, 1, 1}, 8194).VEC4, 0u);
  EXPECT_EQ(per_channel.groups[0], 32u * 16 / 4 / 64);
  // The offsets travel as push constants, so they do not split pipelines.
  const auto moved = lower_binary_node({2, 32, 8, 8}, {1, 32, 1, 1}, 8192 + 64).dispatches.at(0);
  EXPECT_EQ(moved.spec, per_plane.spec);
  EXPECT_NE(moved.push, per_plane.push);
}

}  // namespace
}  // namespace vkbnn::test
