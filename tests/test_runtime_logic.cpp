// Comparisons, And/Or/Xor, Not, Where, Sign and Cast to bool that spell no binarization: the
// converter makes them the engine's run-time ops (a comparison with its constant first is
// mirrored, a float cast to bool is x != 0, Where broadcasts all three operands), and the model
// computes what ONNX defines, checked against values computed here element by element.

#include <algorithm>
#include <cmath>

#include "converter/converter.hpp"
#include "support/onnx_graph.hpp"
#include "support/test_support.hpp"

namespace vkbnn::test {
namespace {

using convert::Result;

bool has_op(const Result& r, const std::string& op) {
  return std::any_of(r.summary.nodes.begin(), r.summary.nodes.end(), [&](const auto& n) { return n.op == op; });
}

TEST(RuntimeLogic, SpelledOpsRunAsOnnxDefinesThem) {
  const int64_t c = 3, h = 4, w = 5;
  const std::vector<float> t{-0.5f, 0.0f, 0.5f};
  const std::vector<int32_t> column_mask{1, 0, 1, 1, 0};
  OnnxGraph g;
  g.input("x", {1, c, h, w});
  g.floats("half", {}, {0.5f});
  g.floats("t", {1, c, 1, 1}, t);
  g.floats("zero", {}, {0.0f});
  g.floats("tenth", {}, {0.1f});
  g.floats("minus_one", {}, {-1.0f});
  g.int32s("column_mask", {w}, column_mask, onnx::TensorProto_DataType_BOOL);
  g.node("Less", {"half", "x"}, {"above_half"}, "constant_first");
  g.node("GreaterOrEqual", {"x", "t"}, {"at_least_t"}, "per_channel");
  g.node("Round", {"x"}, {"r"}, "round");
  g.node("Equal", {"r", "zero"}, {"rounds_to_zero"}, "equal");
  auto& to_bool = g.node("Cast", {"r"}, {"nonzero"}, "to_bool");
  int_attribute(to_bool, "to", onnx::TensorProto_DataType_BOOL);
  g.node("Not", {"rounds_to_zero"}, {"not_zero"}, "not");
  g.node("And", {"above_half", "not_zero"}, {"a"}, "and");
  g.node("Or", {"at_least_t", "nonzero"}, {"o"}, "or");
  g.node("Xor", {"a", "o"}, {"xo"}, "xor");
  g.node("And", {"o", "column_mask"}, {"masked"}, "and_constant");
  g.node("Mul", {"x", "tenth"}, {"x_tenth"}, "scale");
  g.node("Where", {"xo", "x", "x_tenth"}, {"selected"}, "where");
  g.node("Where", {"masked", "x", "minus_one"}, {"filled"}, "where_scalar");
  g.node("Sign", {"r"}, {"sign"}, "sign");
  auto& to_float = g.node("Cast", {"xo"}, {"xo_float"}, "to_float");
  int_attribute(to_float, "to", onnx::TensorProto_DataType_FLOAT);
  for (const char* out : {"selected", "filled", "sign", "xo_float"}) g.output(out, {1, c, h, w});
  const Result r = convert::convert_model(g.model());
  EXPECT_TRUE(has_op(r, "Where"));
  EXPECT_FALSE(has_op(r, "BinaryConv2D"));

  auto x = random_vector(static_cast<size_t>(c * h * w), 31, -2.0f, 2.0f);
  // Ties with the thresholds and values that round to zero.
  x[0] = 0.5f, x[1] = -0.5f, x[2] = 0.0f, x[21] = 0.0f, x[22] = 0.25f, x[45] = 0.5f, x[50] = -0.4f;
  const auto out = run_model(r.bytes, {x});
  ASSERT_EQ(out.size(), 4u);
  std::vector<float> selected, filled, sign, xo_float;
  for (size_t i = 0; i < x.size(); ++i) {
    const size_t channel = i / static_cast<size_t>(h * w), column = i % static_cast<size_t>(w);
    const float v = x[i], rounded = std::nearbyint(v);
    const bool a = 0.5f < v && !(rounded == 0.0f);
    const bool o = v >= t[channel] || rounded != 0.0f;
    const bool xo = a != o;
    selected.push_back(xo ? v : v * 0.1f);
    filled.push_back(o && column_mask[column] ? v : -1.0f);
    sign.push_back(rounded > 0 ? 1.0f : rounded < 0 ? -1.0f : 0.0f);
    xo_float.push_back(xo ? 1.0f : 0.0f);
  }
  EXPECT_EQ(out[0].data, selected);
  EXPECT_EQ(out[1].data, filled);
  EXPECT_EQ(out[2].data, sign);
  EXPECT_EQ(out[3].data, xo_float);
  // Both branches are taken.
  EXPECT_NE(std::count(xo_float.begin(), xo_float.end(), 1.0f), 0);
  EXPECT_NE(std::count(xo_float.begin(), xo_float.end(), 0.0f), 0);
}

// A mask that broadcasts along other axes than the scores it fills (an attention mask [N, 1, L]
// over [N, L, L]), as a graph input of type bool.
TEST(RuntimeLogic, WhereBroadcastsAComputedMask) {
  const int64_t n = 2, l = 6;
  OnnxGraph g;
  g.input("scores", {n, l, l});
  g.input("keep", {n, 1, l}, onnx::TensorProto_DataType_BOOL);
  g.floats("fill", {}, {-1e9f});
  g.node("Not", {"keep"}, {"padding"}, "not");
  g.node("Where", {"padding", "fill", "scores"}, {"masked"}, "masked_fill");
  g.output("masked", {n, l, l});
  const Result r = convert::convert_model(g.model());
  const auto scores = random_vector(static_cast<size_t>(n * l * l), 32);
  std::vector<float> keep(static_cast<size_t>(n * l));
  for (size_t k = 0; k < keep.size(); ++k) keep[k] = k % 3 == 1 ? 0.0f : 1.0f;
  std::vector<float> expected(scores.size());
  for (size_t i = 0; i < scores.size(); ++i) {
    const size_t batch = i / static_cast<size_t>(l * l), key = i % static_cast<size_t>(l);
    expected[i] = keep[batch * static_cast<size_t>(l) + key] != 0.0f ? scores[i] : -1e9f;
  }
  EXPECT_EQ(run_model(r.bytes, {scores, keep}).at(0).data, expected);
}

// And, Or, Xor and Not of constants fold at conversion: what is left is one Where.
TEST(RuntimeLogic, LogicOfConstantsFolds) {
  OnnxGraph g;
  g.input("x", {2, 4});
  g.int32s("p", {4}, {1, 1, 0, 0}, onnx::TensorProto_DataType_BOOL);
  g.int32s("q", {4}, {1, 0, 1, 0}, onnx::TensorProto_DataType_BOOL);
  g.floats("zero", {}, {0.0f});
  g.node("And", {"p", "q"}, {"pq"});
  g.node("Xor", {"p", "q"}, {"p_xor_q"});
  g.node("Not", {"pq"}, {"not_pq"});
  g.node("Or", {"not_pq", "p_xor_q"}, {"mask"});  // Or of Not(p and q) and p xor q: all but the first
  g.node("Where", {"mask", "x", "zero"}, {"y"}, "where");
  g.output("y", {2, 4});
  const Result r = convert::convert_model(g.model());
  ASSERT_EQ(r.summary.nodes.size(), 1u);
  EXPECT_EQ(r.summary.nodes[0].op, "Where");
  const std::vector<float> x{1, 2, 3, 4, 5, 6, 7, 8};
  EXPECT_EQ(run_model(r.bytes, {x}).at(0).data, (std::vector<float>{0, 2, 3, 4, 0, 6, 7, 8}));
}

// Two computed operands that broadcast against each other ([1, 3, 1, 5] and [1, 1, 4, 1]) and a
// per-channel constant divided by a computed value are more than Binary broadcasts: the converter
// expands the computed operands and repeats the constant, and the model computes ONNX's values,
// checked here element by element.
TEST(RuntimeLogic, OperandsThatBroadcastBothWaysAreExpanded) {
  const int64_t c = 3, h = 4, w = 5;
  const std::vector<float> scale{2.0f, -3.0f, 0.5f};
  OnnxGraph g;
  g.input("a", {1, c, 1, w});
  g.input("b", {1, 1, h, 1});
  g.floats("scale", {1, c, 1, 1}, scale);
  g.floats("one", {}, {1.0f});
  g.node("Less", {"a", "b"}, {"less"}, "both_ways");
  g.node("Sub", {"b", "a"}, {"diff"}, "sub");
  g.node("Abs", {"diff"}, {"distance"}, "abs");
  g.node("Add", {"distance", "one"}, {"denominator"}, "add");
  g.node("Div", {"scale", "denominator"}, {"quotient"}, "constant_over_computed");
  g.output("less", {1, c, h, w}, onnx::TensorProto_DataType_BOOL);
  g.output("quotient", {1, c, h, w});
  const Result r = convert::convert_model(g.model());
  EXPECT_TRUE(has_op(r, "Tile"));

  auto a = random_vector(static_cast<size_t>(c * w), 33, -1.0f, 1.0f);
  auto b = random_vector(static_cast<size_t>(h), 34, -1.0f, 1.0f);
  a[2] = b[1];  // a tie: not less
  const auto out = run_model(r.bytes, {a, b});
  ASSERT_EQ(out.size(), 2u);
  std::vector<float> less, quotient;
  for (int64_t ch = 0; ch < c; ++ch)
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x) {
        const float av = a[static_cast<size_t>(ch * w + x)], bv = b[static_cast<size_t>(y)];
        less.push_back(av < bv ? 1.0f : 0.0f);
        quotient.push_back(scale[static_cast<size_t>(ch)] / (std::abs(bv - av) + 1.0f));
      }
  EXPECT_EQ(out[0].data, less);
  EXPECT_NE(std::count(less.begin(), less.end(), 1.0f), 0);
  EXPECT_NE(std::count(less.begin(), less.end(), 0.0f), 0);
  EXPECT_TRUE(all_close(out[1].data, quotient, 1e-6f, 0.0f));
}

}  // namespace
}  // namespace vkbnn::test
