// FullyConnected against the CPU reference.

#include "ops/single_node.hpp"
#include "reference/conv_reference.hpp"

namespace vkbnn::test {
namespace {

using Shape = std::vector<int64_t>;
constexpr float kRtol = 1e-4f, kAtol = 1e-5f;

std::vector<uint8_t> fc_model(const Shape& x_shape, const Shape& w_shape, const std::vector<float>& w,
                              std::optional<std::vector<float>> bias, const Shape& out,
                              const ref::Activation& act = {}) {
  std::vector<NodeInput> inputs{{x_shape, {}}, {w_shape, w}};
  if (bias) inputs.push_back({{static_cast<int64_t>(bias->size())}, *bias});
  return single_node_model(
      fb::OpParams::FullyConnected,
      [&](auto& b) {
        return fb::CreateFullyConnected(b, fb::CreateActivation(b, act.kind, static_cast<float>(act.alpha),
                                                                static_cast<float>(act.beta)))
            .Union();
      },
      inputs, out);
}

struct FcCase {
  Shape input;
  int64_t outputs;
  bool bias = true;
  ref::Activation activation;
};

TEST(FullyConnected, MatchesReference) {
  const std::vector<FcCase> cases = {
      {{1, 7}, 5, true, {}},
      {{2, 33}, 20, false, {}},
      {{3, 4, 2, 2}, 1, true, {}},  // trailing dims flatten into K = 16
      {{1, 512}, 1000, true, {}},
      {{70, 13}, 17, true, {}},  // more rows than one workgroup
      {{2, 3}, 6, true, {fb::ActivationKind::Relu, 0, 0}},
      {{2, 9}, 6, true, {fb::ActivationKind::Clip, -0.2, 0.3}},
      {{2, 9}, 6, false, {fb::ActivationKind::LeakyRelu, 0.2, 0}},
      {{2, 9}, 6, true, {fb::ActivationKind::Sigmoid, 0, 0}},
      {{2, 9}, 6, true, {fb::ActivationKind::HardSigmoid, 0.2, 0.5}},
      {{2, 9}, 6, true, {fb::ActivationKind::HardSwish, 0, 0}},
  };
  uint32_t seed = 400;
  for (const auto& c : cases) {
    const int64_t n = c.input[0], k = static_cast<int64_t>(count_of(c.input)) / n;
    SCOPED_TRACE(::testing::PrintToString(c.input) + " -> " + std::to_string(c.outputs) +
                 (c.bias ? " with bias, " : " without bias, ") + fb::EnumNameActivationKind(c.activation.kind));
    const auto x = random_vector(count_of(c.input), ++seed);
    const auto w = random_vector(static_cast<size_t>(c.outputs * k), seed + 1000);
    const auto b = c.bias ? random_vector(static_cast<size_t>(c.outputs), seed + 2000) : std::vector<float>{};
    auto model = fc_model(c.input, {c.outputs, k}, w, c.bias ? std::optional(b) : std::nullopt, {n, c.outputs},
                          c.activation);
    EXPECT_TRUE(all_close(run_single(model, {x}), ref::fully_connected(x, n, k, w, c.outputs, b, c.activation),
                          kRtol, kAtol));
  }
}

TEST(FullyConnected, RejectsBadShapes) {
  const auto w = random_vector(15, 1);
  EXPECT_TRUE(rejected(fc_model({2, 4}, {3, 5}, w, std::nullopt, {2, 3}), "has 4 features per row"));
  EXPECT_TRUE(rejected(fc_model({2, 5}, {3, 5}, w, std::nullopt, {2, 4}), "output shape 2x4 should be 2x3"));
  EXPECT_TRUE(rejected(fc_model({2, 5}, {3, 5}, w, std::vector<float>{1, 2}, {2, 3}), "bias 2 should be 3"));
  EXPECT_TRUE(rejected(fc_model({2, 5}, {15}, w, std::nullopt, {2, 3}), "weights must be [M, K]"));
  EXPECT_TRUE(rejected(fc_model({5}, {3, 5}, w, std::nullopt, {3}), "input must be [N, K]"));
  EXPECT_TRUE(rejected(fc_model({2, 5}, {3, 5}, w, std::nullopt, {2, 3}, {fb::ActivationKind::Clip, 1, -1}),
                       "min <= max"));
}

}  // namespace
}  // namespace vkbnn::test
