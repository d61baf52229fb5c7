// ONNX models quantized elsewhere (QuantizeLinear, DequantizeLinear, QLinearConv, QLinearMatMul)
// through the converter and the engine, against ONNX's integer semantics computed here; and the
// quantized graphs the converter rejects, whose messages must name the op and the node.
//
// The engine requantizes with a fixed-point multiplier and rounds half up, ONNX rounds the float
// product half to even: an int8 result may differ by one quantization step at a tie. The
// references mark which of their values lie at a tie; every other value must match exactly.

#include <algorithm>
#include <cmath>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "converter/converter.hpp"
#include "support/onnx_graph.hpp"
#include "support/test_support.hpp"

namespace vkbnn::test {
namespace {

constexpr auto kFloat = onnx::TensorProto_DataType_FLOAT;
constexpr auto kInt8 = onnx::TensorProto_DataType_INT8;
constexpr auto kUint8 = onnx::TensorProto_DataType_UINT8;

// An integer result as ONNX computes it, and whether the real value it rounds lies within `slack`
// steps of half a step (a tie, where the engine may round the other way).
struct Level {
  int32_t q;
  bool tie;
};

// saturate(round_half_even(value) + zero_point). The slack covers the fixed-point multiplier's
// rounding (its relative error is below 2^-30) unless a reference gives a larger one.
Level quantize_level(double value, int32_t zero_point, bool is_uint8, double slack = 1e-5) {
  const double level = std::nearbyint(value) + zero_point;
  const double lo = is_uint8 ? 0.0 : -128.0, hi = is_uint8 ? 255.0 : 127.0;
  const bool tie = std::abs(value - std::floor(value) - 0.5) <= slack;
  return {static_cast<int32_t>(std::clamp(level, lo, hi)), tie};
}

// ONNX's requantization of an accumulator: saturate(round_half_even(acc * real) + zero_point).
Level requantize(int64_t acc, double real, int32_t zero_point, bool is_uint8) {
  return quantize_level(static_cast<double>(acc) * real, zero_point, is_uint8);
}

std::vector<int32_t> levels_of(const std::vector<Level>& levels) {
  std::vector<int32_t> q;
  for (const Level& l : levels) q.push_back(l.q);
  return q;
}

std::vector<float> dequantized(const std::vector<int32_t>& q, float scale, int32_t zero_point) {
  std::vector<float> v;
  for (int32_t x : q) v.push_back(scale * static_cast<float>(x - zero_point));
  return v;
}

// The engine's dequantized outputs against ONNX's levels: each value is exactly a level, the
// reference's own everywhere but at its ties, where it may be one step away.
::testing::AssertionResult matches_levels(std::span<const float> actual, const std::vector<Level>& expected,
                                          float scale, int32_t zero_point) {
  if (actual.size() != expected.size())
    return ::testing::AssertionFailure() << actual.size() << " values, expected " << expected.size();
  size_t ties = 0, one_step = 0, wrong = 0;
  std::ostringstream report;
  for (size_t i = 0; i < actual.size(); ++i) {
    ties += expected[i].tie;
    const auto q = static_cast<int32_t>(std::lround(actual[i] / scale)) + zero_point;
    const bool is_level = std::isfinite(actual[i]) && actual[i] == scale * static_cast<float>(q - zero_point);
    if (is_level && q == expected[i].q) continue;
    if (is_level && expected[i].tie && std::abs(q - expected[i].q) == 1) {
      ++one_step;
      continue;
    }
    if (wrong++ < 8) report << "\n  [" << i << "] got " << actual[i] << ", expected level " << expected[i].q << " ("
                            << scale * static_cast<float>(expected[i].q - zero_point) << ")"
                            << (expected[i].tie ? ", a tie" : "");
  }
  if (wrong == 0) return ::testing::AssertionSuccess() << ties << " ties, " << one_step << " of them a step off";
  return ::testing::AssertionFailure() << wrong << " of " << actual.size() << " values differ (" << ties
                                       << " ties):" << report.str();
}

bool has_op(const convert::Summary& s, const std::string& op) {
  return std::any_of(s.nodes.begin(), s.nodes.end(), [&](const auto& n) { return n.op == op; });
}

// One QLinearConv between a QuantizeLinear of the float input and a DequantizeLinear of the result.
struct QConv {
  int64_t c, h, w, m, k, group, stride, pad;
  bool is_uint8;  // x, w and y (and their zero points) uint8 rather than int8
  float x_scale = 0.05f, y_scale = 0.08f;
  int32_t x_zero_point, w_zero_point, y_zero_point;
  std::vector<float> w_scale;  // one, or one per output channel
  std::vector<int32_t> x, weight, bias;  // bias empty for none

  int64_t out_h() const { return (h + 2 * pad - k) / stride + 1; }
  int64_t out_w() const { return (w + 2 * pad - k) / stride + 1; }

  onnx::ModelProto model() const {
    const auto type = is_uint8 ? kUint8 : kInt8;
    OnnxGraph g;
    g.input("x", {1, c, h, w});
    g.floats("x_scale", {}, {x_scale});
    g.int32s("x_zero_point", {}, {x_zero_point}, type);
    g.int32s("w", {m, c / group, k, k}, weight, type);
    g.floats("w_scale", {static_cast<int64_t>(w_scale.size())}, w_scale);
    g.int32s("w_zero_point", {1}, {w_zero_point}, type);
    g.floats("y_scale", {}, {y_scale});
    g.int32s("y_zero_point", {}, {y_zero_point}, type);
    std::vector<std::string> inputs{"xq", "x_scale", "x_zero_point", "w", "w_scale", "w_zero_point", "y_scale",
                                    "y_zero_point"};
    if (!bias.empty()) {
      g.int32s("bias", {m}, bias);
      inputs.push_back("bias");
    }
    g.node("QuantizeLinear", {"x", "x_scale", "x_zero_point"}, {"xq"}, "quantize");
    auto& conv = g.node("QLinearConv", inputs, {"yq"}, "qconv");
    ints_attribute(conv, "kernel_shape", {k, k});
    ints_attribute(conv, "strides", {stride, stride});
    ints_attribute(conv, "pads", {pad, pad, pad, pad});
    int_attribute(conv, "group", group);
    g.node("DequantizeLinear", {"yq", "y_scale", "y_zero_point"}, {"y"}, "dequantize");
    g.output("y", {1, m, out_h(), out_w()});
    return g.model();
  }

  // ONNX's QLinearConv on the integers: padded taps add nothing.
  std::vector<Level> reference() const {
    const int64_t icg = c / group, ocg = m / group, oh = out_h(), ow = out_w();
    std::vector<Level> y;
    for (int64_t o = 0; o < m; ++o)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          int64_t acc = bias.empty() ? 0 : bias[static_cast<size_t>(o)];
          for (int64_t ci = 0; ci < icg; ++ci)
            for (int64_t ki = 0; ki < k; ++ki)
              for (int64_t kj = 0; kj < k; ++kj) {
                const int64_t yi = i * stride + ki - pad, xj = j * stride + kj - pad;
                if (yi < 0 || yi >= h || xj < 0 || xj >= w) continue;
                const int64_t channel = o / ocg * icg + ci;
                acc += int64_t{x[static_cast<size_t>((channel * h + yi) * w + xj)] - x_zero_point} *
                       (weight[static_cast<size_t>(((o * icg + ci) * k + ki) * k + kj)] - w_zero_point);
              }
          const double ws = w_scale[w_scale.size() == 1 ? 0 : static_cast<size_t>(o)];
          y.push_back(requantize(acc, double{x_scale} * ws / y_scale, y_zero_point, is_uint8));
        }
    return y;
  }

  void check() const {
    const convert::Result result = convert::convert_model(model());
    EXPECT_TRUE(has_op(result.summary, "Int8Conv2D")) << convert::format_summary(result.summary);
    auto outputs = run_model(result.bytes, {dequantized(x, x_scale, x_zero_point)});
    ASSERT_EQ(outputs.size(), 1u);
    EXPECT_TRUE(matches_levels(outputs[0].data, reference(), y_scale, y_zero_point));
  }
};

QConv random_conv(int64_t c, int64_t h, int64_t w, int64_t m, int64_t k, int64_t group, int64_t stride, int64_t pad,
                  bool is_uint8, uint32_t seed) {
  const int32_t offset = is_uint8 ? 128 : 0;
  QConv q{c, h, w, m, k, group, stride, pad, is_uint8};
  q.x_zero_point = offset - 3;
  q.w_zero_point = offset + 2;
  q.y_zero_point = offset + 5;
  for (int64_t o = 0; o < m; ++o) q.w_scale.push_back(0.01f * (1.0f + 0.1f * static_cast<float>(o)));
  q.x = random_ints(static_cast<size_t>(c * h * w), seed, offset - 128, offset + 127);
  q.weight = random_ints(static_cast<size_t>(m * (c / group) * k * k), seed + 1, offset - 100, offset + 100);
  q.bias = random_ints(static_cast<size_t>(m), seed + 2, -3000, 3000);
  // The accumulator's spread is about 74 * 58 * sqrt(taps) (uniform x and w - w_zero_point):
  // about 30 output steps per standard deviation keeps most results off the clamps.
  const float taps = static_cast<float>(c / group * k * k);
  q.y_scale = q.x_scale * 0.01f * 74.0f * 58.0f * std::sqrt(taps) / 30.0f;
  return q;
}

TEST(OnnxQuantized, QLinearConvDenseInt8) { random_conv(3, 7, 6, 5, 3, 1, 1, 1, false, 10).check(); }

TEST(OnnxQuantized, QLinearConvGroupedStridedUint8) { random_conv(4, 9, 9, 6, 3, 2, 2, 1, true, 20).check(); }

TEST(OnnxQuantized, QLinearConvDepthwisePerTensorScaleNoBias) {
  QConv q = random_conv(8, 6, 5, 8, 3, 8, 1, 1, false, 30);
  q.w_scale = {0.02f};
  q.bias.clear();
  q.check();
}

// w - w_zero_point reaches 200, beyond int8, but every value of each channel (and its bias) is a
// multiple of 50: the converter stores (w - w_zero_point) / 50 and scales the multiplier by 50.
TEST(OnnxQuantized, QLinearConvWeightsOutsideInt8WithACommonFactor) {
  QConv q{2, 5, 5, 2, 1, 1, 1, 0, false};
  q.x_zero_point = 4;
  q.w_zero_point = -100;
  q.y_zero_point = -7;
  q.y_scale = 0.5f;
  q.w_scale = {0.01f, 0.02f};
  q.x = random_ints(50, 40, -128, 127);
  q.weight = {0, 100, -50, 100};  // channel 0: 100, 200; channel 1: 50, 200
  q.bias = {150, -350};
  q.check();

  q.weight = {0, 101, -50, 100};  // channel 0: 100, 201 share no factor
  try {
    convert::convert(q.model());
    FAIL() << "converted weights outside int8";
  } catch (const convert::UnsupportedError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("[100, 201] in output channel 0"), std::string::npos) << what;
    EXPECT_NE(what.find("op 'QLinearConv' at node 'qconv'"), std::string::npos) << what;
  }
}

TEST(OnnxQuantized, QLinearMatMulPerColumnScales) {
  const int64_t n = 3, k = 20, m = 7;
  const float a_scale = 0.03f, y_scale = 0.3f;
  const int32_t a_zero_point = 6, b_zero_point = -4, y_zero_point = -10;
  std::vector<float> b_scale;
  for (int64_t c = 0; c < m; ++c) b_scale.push_back(0.005f + 0.001f * static_cast<float>(c));
  const auto a = random_ints(static_cast<size_t>(n * k), 50, -128, 127);
  const auto b = random_ints(static_cast<size_t>(k * m), 51, -120, 120);

  OnnxGraph g;
  g.input("a", {n, k});
  g.floats("a_scale", {}, {a_scale});
  g.int32s("a_zero_point", {}, {a_zero_point}, kInt8);
  g.int32s("b", {k, m}, b, kInt8);
  g.floats("b_scale", {m}, b_scale);
  g.int32s("b_zero_point", {}, {b_zero_point}, kInt8);
  g.floats("y_scale", {}, {y_scale});
  g.int32s("y_zero_point", {}, {y_zero_point}, kInt8);
  g.node("QuantizeLinear", {"a", "a_scale", "a_zero_point"}, {"aq"}, "quantize");
  g.node("QLinearMatMul", {"aq", "a_scale", "a_zero_point", "b", "b_scale", "b_zero_point", "y_scale", "y_zero_point"},
         {"yq"}, "qmatmul");
  g.node("DequantizeLinear", {"yq", "y_scale", "y_zero_point"}, {"y"}, "dequantize");
  g.output("y", {n, m});

  std::vector<Level> expected;
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < m; ++c) {
      int64_t acc = 0;
      for (int64_t i = 0; i < k; ++i)
        acc += int64_t{a[static_cast<size_t>(r * k + i)] - a_zero_point} *
               (b[static_cast<size_t>(i * m + c)] - b_zero_point);
      const double real = double{a_scale} * b_scale[static_cast<size_t>(c)] / y_scale;
      expected.push_back(requantize(acc, real, y_zero_point, false));
    }
  const convert::Result result = convert::convert_model(g.model());
  EXPECT_TRUE(has_op(result.summary, "Int8FullyConnected")) << convert::format_summary(result.summary);
  auto outputs = run_model(result.bytes, {dequantized(a, a_scale, a_zero_point)});
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_TRUE(matches_levels(outputs[0].data, expected, y_scale, y_zero_point));
}

// Two QLinearConv in a row: the int8 tensor between them never becomes float.
TEST(OnnxQuantized, QLinearConvChainStaysInt8) {
  QConv first = random_conv(3, 6, 6, 4, 3, 1, 1, 1, true, 60);
  QConv second = random_conv(4, 6, 6, 2, 3, 1, 1, 1, true, 70);
  second.x_scale = first.y_scale;
  second.x_zero_point = first.y_zero_point;
  const std::vector<Level> between = first.reference();
  // A tie between the layers could move the second layer's results by more than one step.
  ASSERT_TRUE(std::none_of(between.begin(), between.end(), [](const Level& l) { return l.tie; }));
  second.x = levels_of(between);

  OnnxGraph g;
  g.input("x", {1, 3, 6, 6});
  g.floats("s0", {}, {first.x_scale});
  g.int32s("z0", {}, {first.x_zero_point}, kUint8);
  g.node("QuantizeLinear", {"x", "s0", "z0"}, {"q0"}, "quantize");
  // Layer l reads q{l-1} (scale s{l-1}, zero point z{l-1}) and computes q{l}.
  auto add_layer = [&](const QConv& q, const std::string& l, const std::string& in) {
    g.int32s("w" + l, {q.m, q.c, 3, 3}, q.weight, kUint8);
    g.floats("w_scale" + l, {q.m}, q.w_scale);
    g.int32s("w_zero_point" + l, {}, {q.w_zero_point}, kUint8);
    g.int32s("bias" + l, {q.m}, q.bias);
    g.floats("s" + l, {}, {q.y_scale});
    g.int32s("z" + l, {}, {q.y_zero_point}, kUint8);
    auto& conv = g.node("QLinearConv", {"q" + in, "s" + in, "z" + in, "w" + l, "w_scale" + l, "w_zero_point" + l,
                                        "s" + l, "z" + l, "bias" + l},
                        {"q" + l}, "qconv" + l);
    ints_attribute(conv, "pads", {1, 1, 1, 1});
  };
  add_layer(first, "1", "0");
  add_layer(second, "2", "1");
  g.node("DequantizeLinear", {"q2", "s2", "z2"}, {"y"}, "dequantize");
  g.output("y", {1, 2, 6, 6});

  const convert::Result result = convert::convert_model(g.model());
  size_t quantizes = 0;
  for (const auto& node : result.summary.nodes) quantizes += node.op == "Quantize" || node.op == "Dequantize";
  EXPECT_EQ(quantizes, 2u) << convert::format_summary(result.summary);
  auto outputs = run_model(result.bytes, {dequantized(first.x, first.x_scale, first.x_zero_point)});
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_TRUE(matches_levels(outputs[0].data, second.reference(), second.y_scale, second.y_zero_point));
}

// ONNX's QDQ semantics in float for a 3x3 convolution with padding 1 over [c, h, w]: x quantized
// to uint8 and dequantized, weights int8 times a per-output-channel scale, a float bias.
std::vector<double> qdq_conv3x3(const std::vector<float>& x, float x_scale, int32_t x_zero_point,
                                const std::vector<int32_t>& weight, const std::vector<float>& w_scale,
                                const std::vector<float>& bias, int64_t c, int64_t m, int64_t h, int64_t w) {
  std::vector<float> x_dq(x.size());
  for (size_t i = 0; i < x.size(); ++i)
    x_dq[i] = x_scale * (std::clamp(std::nearbyint(x[i] / x_scale) + static_cast<float>(x_zero_point), 0.0f, 255.0f) -
                         static_cast<float>(x_zero_point));
  std::vector<double> y;
  for (int64_t o = 0; o < m; ++o)
    for (int64_t i = 0; i < h; ++i)
      for (int64_t j = 0; j < w; ++j) {
        double sum = bias[static_cast<size_t>(o)];
        for (int64_t ci = 0; ci < c; ++ci)
          for (int64_t ki = 0; ki < 3; ++ki)
            for (int64_t kj = 0; kj < 3; ++kj) {
              const int64_t yi = i + ki - 1, xj = j + kj - 1;
              if (yi < 0 || yi >= h || xj < 0 || xj >= w) continue;
              sum += double{x_dq[static_cast<size_t>((ci * h + yi) * w + xj)]} * w_scale[static_cast<size_t>(o)] *
                     weight[static_cast<size_t>(((o * c + ci) * 3 + ki) * 3 + kj)];
            }
        y.push_back(sum);
      }
  return y;
}

// The QDQ format: int8 weights with per-channel scales behind DequantizeLinear fold into float
// weights; the activations' QuantizeLinear/DequantizeLinear pair runs as Quantize and Dequantize.
TEST(OnnxQuantized, QdqWeightsFoldAndActivationsRoundTrip) {
  const int64_t c = 2, m = 3, h = 5, w = 5;
  const float x_scale = 0.02f;
  const int32_t x_zero_point = 130;
  const std::vector<float> w_scale{0.01f, 0.02f, 0.03f};
  const auto weight = random_ints(static_cast<size_t>(m * c * 9), 80, -127, 127);
  const auto bias = random_vector(static_cast<size_t>(m), 81);
  const auto x = random_vector(static_cast<size_t>(c * h * w), 82);

  OnnxGraph g;
  g.input("x", {1, c, h, w});
  g.floats("x_scale", {}, {x_scale});
  g.int32s("x_zero_point", {}, {x_zero_point}, kUint8);
  g.int32s("w_int8", {m, c, 3, 3}, weight, kInt8);
  g.floats("w_scale", {m}, w_scale);
  g.int32s("w_zero_point", {m}, {0, 0, 0}, kInt8);
  g.floats("bias", {m}, bias);
  g.node("QuantizeLinear", {"x", "x_scale", "x_zero_point"}, {"xq"}, "quantize");
  g.node("DequantizeLinear", {"xq", "x_scale", "x_zero_point"}, {"xdq"}, "dequantize");
  int_attribute(g.node("DequantizeLinear", {"w_int8", "w_scale", "w_zero_point"}, {"w"}, "weights"), "axis", 0);
  ints_attribute(g.node("Conv", {"xdq", "w", "bias"}, {"y"}, "conv"), "pads", {1, 1, 1, 1});
  g.output("y", {1, m, h, w});

  std::vector<float> expected;
  for (double v : qdq_conv3x3(x, x_scale, x_zero_point, weight, w_scale, bias, c, m, h, w))
    expected.push_back(static_cast<float>(v));

  const convert::Result result = convert::convert_model(g.model());
  ASSERT_EQ(result.summary.nodes.size(), 3u) << convert::format_summary(result.summary);
  EXPECT_EQ(result.summary.nodes[0].op, "Quantize");
  EXPECT_EQ(result.summary.nodes[1].op, "Dequantize");
  EXPECT_EQ(result.summary.nodes[2].op, "Conv2D");
  auto outputs = run_model(result.bytes, {x});
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_TRUE(all_close(outputs[0].data, expected, 1e-5f, 1e-6f));  // observed: all within 1e-6
}

// A QDQ model as ONNX Runtime's quantizer writes it: each float op between DequantizeLinear and
// QuantizeLinear runs as the int8 op (here Conv + Relu, then MaxPool), so the model runs in int8.
TEST(OnnxQuantized, QdqConvAndPoolBecomeInt8Ops) {
  const int64_t c = 3, m = 5, h = 6, w = 6;
  const float x_scale = 0.02f, y_scale = 0.03f;
  const int32_t x_zero_point = 120;
  std::vector<float> w_scale;
  for (int64_t o = 0; o < m; ++o) w_scale.push_back(0.004f + 0.001f * static_cast<float>(o));
  auto weight = random_ints(static_cast<size_t>(m * c * 9), 90, -127, 127);
  // Symmetric quantizers map each channel's largest weight to +-127.
  for (int64_t o = 0; o < m; ++o) weight[static_cast<size_t>(o * c * 9)] = o % 2 ? 127 : -127;
  const auto bias = random_vector(static_cast<size_t>(m), 91);
  const auto x = random_vector(static_cast<size_t>(c * h * w), 92);

  OnnxGraph g;
  g.input("x", {1, c, h, w});
  g.floats("x_scale", {}, {x_scale});
  g.int32s("x_zero_point", {}, {x_zero_point}, kUint8);
  g.floats("y_scale", {}, {y_scale});
  g.int32s("y_zero_point", {}, {0}, kUint8);
  g.int32s("w_int8", {m, c, 3, 3}, weight, kInt8);
  g.floats("w_scale", {m}, w_scale);
  g.int32s("w_zero_point", {m}, std::vector<int32_t>(static_cast<size_t>(m), 0), kInt8);
  g.floats("bias", {m}, bias);
  g.node("QuantizeLinear", {"x", "x_scale", "x_zero_point"}, {"xq"}, "quantize_x");
  g.node("DequantizeLinear", {"xq", "x_scale", "x_zero_point"}, {"xdq"}, "dequantize_x");
  int_attribute(g.node("DequantizeLinear", {"w_int8", "w_scale", "w_zero_point"}, {"w"}, "weights"), "axis", 0);
  ints_attribute(g.node("Conv", {"xdq", "w", "bias"}, {"conv"}, "conv"), "pads", {1, 1, 1, 1});
  g.node("Relu", {"conv"}, {"relu"}, "relu");
  g.node("QuantizeLinear", {"relu", "y_scale", "y_zero_point"}, {"yq"}, "quantize_y");
  g.node("DequantizeLinear", {"yq", "y_scale", "y_zero_point"}, {"ydq"}, "dequantize_y");
  auto& pool = g.node("MaxPool", {"ydq"}, {"pooled"}, "pool");
  ints_attribute(pool, "kernel_shape", {2, 2});
  ints_attribute(pool, "strides", {2, 2});
  g.node("QuantizeLinear", {"pooled", "y_scale", "y_zero_point"}, {"pq"}, "quantize_pool");
  g.node("DequantizeLinear", {"pq", "y_scale", "y_zero_point"}, {"out"}, "dequantize_out");
  g.output("out", {1, m, h / 2, w / 2});

  // ONNX's semantics in float: quantize x, convolve the dequantized values, ReLU, quantize (round
  // half to even), pool the integers. The engine adds the bias as an int32 in steps of x_scale *
  // w_scale, which moves a result by up to half of that: within it of a tie, either level is right.
  const double slack = 0.5 * x_scale * *std::max_element(w_scale.begin(), w_scale.end()) / y_scale + 1e-5;
  std::vector<Level> y_q;
  for (double v : qdq_conv3x3(x, x_scale, x_zero_point, weight, w_scale, bias, c, m, h, w))
    y_q.push_back(quantize_level(std::max(v, 0.0) / y_scale, 0, true, slack));
  std::vector<Level> expected;
  for (int64_t o = 0; o < m; ++o)
    for (int64_t i = 0; i < h / 2; ++i)
      for (int64_t j = 0; j < w / 2; ++j) {
        Level best{0, false};
        for (int64_t di = 0; di < 2; ++di)
          for (int64_t dj = 0; dj < 2; ++dj) {
            const Level& l = y_q[static_cast<size_t>((o * h + 2 * i + di) * w + 2 * j + dj)];
            best = {std::max(best.q, l.q), best.tie || l.tie};
          }
        expected.push_back(best);
      }

  const convert::Result result = convert::convert_model(g.model());
  const std::string summary = convert::format_summary(result.summary);
  ASSERT_EQ(result.summary.nodes.size(), 4u) << summary;
  EXPECT_EQ(result.summary.nodes[0].op, "Quantize") << summary;
  EXPECT_EQ(result.summary.nodes[1].op, "Int8Conv2D") << summary;
  EXPECT_EQ(result.summary.nodes[1].activation, "") << summary;
  EXPECT_EQ(result.summary.nodes[2].op, "Pool2D") << summary;
  EXPECT_EQ(result.summary.nodes[2].precision, "int8") << summary;
  EXPECT_EQ(result.summary.nodes[3].op, "Dequantize") << summary;
  EXPECT_TRUE(matches_levels(run_model(result.bytes, {x}).at(0).data, expected, y_scale, 0));
}

void expect_contains(const std::string& what, const std::vector<std::string>& parts) {
  for (const auto& part : parts) EXPECT_NE(what.find(part), std::string::npos) << "'" << part << "' not in: " << what;
}

TEST(OnnxQuantized, RejectionsNameOpNodeAndReason) {
  // A reader whose x_scale differs from the quantization its producer gave the tensor.
  onnx::ModelProto mismatch = random_conv(2, 4, 4, 2, 1, 1, 1, 0, false, 90).model();
  add_initializer(*mismatch.mutable_graph(), "other_scale", {}, kFloat).add_float_data(0.04f);
  mismatch.mutable_graph()->mutable_node(1)->set_input(1, "other_scale");
  expect_contains(conversion_error(mismatch),
                  {"x_scale 0.0399999991", "input 'xq'", "op 'QuantizeLinear' at node 'quantize'", "scale 0.0500000007",
                   "in op 'QLinearConv' at node 'qconv'"});

  // A scale computed at run time.
  OnnxGraph computed_scale;
  computed_scale.input("x", {1, 4});
  computed_scale.input("s", {1});
  computed_scale.node("QuantizeLinear", {"x", "s"}, {"q"}, "quantize");
  computed_scale.node("DequantizeLinear", {"q", "s"}, {"y"}, "dequantize");
  computed_scale.output("y", {1, 4});
  expect_contains(conversion_error(computed_scale.model()),
                  {"non-constant y_scale", "op 'QuantizeLinear' at node 'quantize'"});

  // Integer graph input and output.
  OnnxGraph int8_output;
  int8_output.input("x", {1, 4});
  int8_output.floats("s", {}, {0.1f});
  int8_output.node("QuantizeLinear", {"x", "s"}, {"q"}, "quantize");
  int8_output.output("q", {1, 4}, kUint8);
  expect_contains(conversion_error(int8_output.model()),
                  {"graph output 'q' is an int8 tensor", "op 'QuantizeLinear' at node 'quantize'", "DequantizeLinear"});
  OnnxGraph int8_input;
  int8_input.input("q", {1, 4}, kUint8);
  int8_input.floats("s", {}, {0.1f});
  int8_input.node("DequantizeLinear", {"q", "s"}, {"y"}, "dequantize");
  int8_input.output("y", {1, 4});
  expect_contains(conversion_error(int8_input.model()), {"graph input 'q' has type UINT8", "QuantizeLinear"});

  // An op other than the quantized ones reading an int8 tensor.
  OnnxGraph pool;
  pool.input("x", {1, 1, 4, 4});
  pool.floats("s", {}, {0.1f});
  pool.node("QuantizeLinear", {"x", "s"}, {"q"}, "quantize");
  ints_attribute(pool.node("MaxPool", {"q"}, {"p"}, "int8_pool"), "kernel_shape", {2, 2});
  pool.node("DequantizeLinear", {"p", "s"}, {"y"}, "dequantize");
  pool.output("y", {1, 1, 3, 3});
  expect_contains(conversion_error(pool.model()), {"the int8 tensor 'q'", "op 'MaxPool' at node 'int8_pool'"});
}

}  // namespace
}  // namespace vkbnn::test
