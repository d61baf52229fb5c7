// A binary classifier input: the signs of a 4-D tensor flattened into a fully connected layer
// whose weights are +-alpha per output, as the last layer of an XNOR-Net style network reads them.
// The graphs are written here node by node, in spellings the project's training scripts do not
// use (a comparison and Where for the sign, Reshape or Flatten, MatMul + Add or Gemm with
// transB), and the converted model is checked against a CPU evaluation of the graph's definition.
#include <cmath>
#include <random>

#include "converter/converter.hpp"
#include "support/onnx_graph.hpp"
#include "support/test_support.hpp"

namespace vkbnn::test {
namespace {

constexpr int64_t kC = 40, kH = 3, kW = 3, kK = kC * kH * kW, kM = 10;

struct Classifier {
  onnx::ModelProto model;
  std::vector<float> threshold;  // per channel: the sign is +1 where x >= threshold_c
  std::vector<float> alpha;      // per output
  std::vector<float> signs;      // [M, K], +-1
  std::vector<float> bias;       // [M]
};

// y = W sign(x - t) + b, x [1, C, H, W] flattened in NCHW order; with gemm, Flatten + Gemm(transB)
// over W as [M, K], else Reshape to [1, -1] + MatMul over W as [K, M] + Add; with real_weights,
// one weight of each row gets another magnitude, so the layer cannot be binary.
Classifier classifier(bool gemm, bool real_weights) {
  Classifier c;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  for (int64_t ch = 0; ch < kC; ++ch) c.threshold.push_back(0.3f * uniform(rng));
  for (int64_t m = 0; m < kM; ++m) c.alpha.push_back(0.05f + 0.1f * std::abs(uniform(rng)));
  for (int64_t i = 0; i < kM * kK; ++i) c.signs.push_back(uniform(rng) < 0 ? -1.0f : 1.0f);
  for (int64_t m = 0; m < kM; ++m) c.bias.push_back(uniform(rng));

  OnnxGraph b;
  b.input("x", {1, kC, kH, kW});
  b.floats("t", {1, kC, 1, 1}, c.threshold);
  b.floats("zero", {}, {0.0f});
  b.floats("plus", {}, {1.0f});
  b.floats("minus", {}, {-1.0f});
  b.node("Sub", {"x", "t"}, {"shifted"}, "shift");
  b.node("GreaterOrEqual", {"shifted", "zero"}, {"positive"}, "compare");
  b.node("Where", {"positive", "plus", "minus"}, {"s"}, "sign");
  std::vector<float> w(static_cast<size_t>(kM * kK));
  for (int64_t m = 0; m < kM; ++m)
    for (int64_t k = 0; k < kK; ++k) {
      const float v = c.signs[static_cast<size_t>(m * kK + k)] * c.alpha[static_cast<size_t>(m)] *
                      (real_weights && k == m ? 1.5f : 1.0f);
      w[static_cast<size_t>(gemm ? m * kK + k : k * kM + m)] = v;
    }
  b.floats("b", {kM}, c.bias);
  if (gemm) {
    b.floats("w", {kM, kK}, w);
    b.node("Flatten", {"s"}, {"flat"}, "flatten");
    int_attribute(b.node("Gemm", {"flat", "w", "b"}, {"y"}, "classifier"), "transB", 1);
  } else {
    b.floats("w", {kK, kM}, w);
    b.int64s("rows", {2}, {1, -1});
    b.node("Reshape", {"s", "rows"}, {"flat"}, "flatten");
    b.node("MatMul", {"flat", "w"}, {"product"}, "classifier");
    b.node("Add", {"product", "b"}, {"y"}, "bias");
  }
  b.output("y", {1, kM});
  c.model = b.model();
  return c;
}

// The graph's function on x, in double: every tie at a threshold is avoided by the input.
std::vector<float> expected(const Classifier& c, const std::vector<float>& x) {
  std::vector<float> y;
  for (int64_t m = 0; m < kM; ++m) {
    double acc = 0;
    for (int64_t k = 0; k < kK; ++k) {
      const double s = x[static_cast<size_t>(k)] >= c.threshold[static_cast<size_t>(k / (kH * kW))] ? 1.0 : -1.0;
      acc += s * c.signs[static_cast<size_t>(m * kK + k)];
    }
    y.push_back(static_cast<float>(acc * c.alpha[static_cast<size_t>(m)] + c.bias[static_cast<size_t>(m)]));
  }
  return y;
}

// An input no closer than 1e-3 to its channel's threshold, so no rounding can flip a sign.
std::vector<float> input(const Classifier& c, uint32_t seed) {
  auto x = random_vector(static_cast<size_t>(kK), seed, -1.0f, 1.0f);
  for (int64_t k = 0; k < kK; ++k) {
    float& v = x[static_cast<size_t>(k)];
    const float t = c.threshold[static_cast<size_t>(k / (kH * kW))];
    if (std::abs(v - t) < 1e-3f) v = t + (v >= t ? 1e-3f : -1e-3f);
  }
  return x;
}

const convert::NodeSummary* node(const convert::Summary& s, const std::string& op) {
  for (const auto& n : s.nodes)
    if (n.op == op) return &n;
  return nullptr;
}

TEST(BinaryClassifier, SignsFlattenedIntoPlusMinusAlphaWeightsBecomeABinaryLayer) {
  for (const bool gemm : {false, true}) {
    SCOPED_TRACE(gemm ? "Flatten + Gemm(transB)" : "Reshape + MatMul + Add");
    const Classifier c = classifier(gemm, false);
    const convert::Result r = convert::convert_model(c.model);
    const std::string table = convert::format_summary(r.summary);
    const auto* fc = node(r.summary, "BinaryFullyConnected");
    ASSERT_NE(fc, nullptr) << table;
    EXPECT_EQ(fc->precision, "binary") << table;
    EXPECT_EQ(node(r.summary, "FullyConnected"), nullptr) << table;
    for (uint32_t seed : {1u, 2u, 3u}) {
      const auto x = input(c, seed);
      NetworkOptions options;
      options.poison_arena = true;
      const auto out = run_model(r.bytes, {x}, options);
      EXPECT_TRUE(all_close(out.at(0).data, expected(c, x), 1e-5f, 1e-5f));
    }
  }
}

// Weights of several magnitudes cannot be binary: the layer stays real, reads the signs, says why,
// and still computes the graph's function.
TEST(BinaryClassifier, RealWeightsStayRealAndSayWhy) {
  const Classifier c = classifier(false, true);
  const convert::Result r = convert::convert_model(c.model);
  const std::string table = convert::format_summary(r.summary);
  const auto* fc = node(r.summary, "FullyConnected");
  ASSERT_NE(fc, nullptr) << table;
  EXPECT_EQ(fc->precision, "fp32") << table;
  EXPECT_NE(fc->note.find("stays real"), std::string::npos) << fc->note;
  std::vector<float> x = input(c, 4);
  std::vector<float> want = expected(c, x);
  // The one weight of each row made 1.5 times larger.
  for (int64_t m = 0; m < kM; ++m) {
    const double s = x[static_cast<size_t>(m)] >= c.threshold[static_cast<size_t>(m / (kH * kW))] ? 1.0 : -1.0;
    want[static_cast<size_t>(m)] +=
        static_cast<float>(0.5 * s * c.signs[static_cast<size_t>(m * kK + m)] * c.alpha[static_cast<size_t>(m)]);
  }
  EXPECT_TRUE(all_close(run_model(r.bytes, {x}).at(0).data, want, 1e-5f, 1e-5f));
}

}  // namespace
}  // namespace vkbnn::test
