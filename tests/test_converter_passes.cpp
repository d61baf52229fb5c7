// IR-in/IR-out tests of the converter's passes: a Program built by hand goes through optimize
// (fusion, binarization) or fuse_qdq, and the test checks the ops that come out against values
// computed here from the definitions (BatchNorm algebra, sign packing, fixed-point scales).

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "ir.hpp"

namespace vkbnn::convert::detail {
namespace {

class ProgramBuilder {
 public:
  ProgramBuilder& input(const std::string& name, Shape shape) {
    p.inputs.push_back(name);
    p.shapes[name] = std::move(shape);
    return *this;
  }
  ProgramBuilder& weight(const std::string& name, Shape shape, std::vector<float> data) {
    p.weights[name] = {std::move(shape), std::move(data)};
    return *this;
  }
  template <class T>
  T& op(const std::string& name, std::vector<std::string> inputs, const std::string& output, Shape shape,
        T params = {}) {
    Op o;
    o.name = name;
    o.inputs = std::move(inputs);
    o.output = output;
    o.set(std::move(params));
    p.shapes[output] = std::move(shape);
    p.ops.push_back(std::move(o));
    return *p.ops.back().get<T>();
  }
  fb::Conv2DT& conv(const std::string& name, const std::string& x, const std::string& w, const std::string& output,
                    Shape shape) {
    fb::Conv2DT& c = op<fb::Conv2DT>(name, {x, w}, output, std::move(shape));
    c.kernel = {1, 1};
    c.strides = {1, 1};
    c.dilations = {1, 1};
    c.pads = {0, 0, 0, 0};
    return c;
  }
  ProgramBuilder& output(const std::string& name) {
    p.outputs.push_back(name);
    return *this;
  }
  Program p;
};

std::vector<float> random_values(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

std::vector<std::string> op_types(const Program& p) {
  std::vector<std::string> types;
  for (const auto& op : p.ops) types.push_back(op.type_name());
  return types;
}

const Op& producer_of(const Program& p, const std::string& value) {
  for (const auto& op : p.ops)
    if (op.output == value) return op;
  throw std::runtime_error("nothing produces " + value);
}

TEST(ConverterPasses, ConvAddRelu_FuseIntoOneConvWithBiasAndRelu) {
  ProgramBuilder b;
  const auto w = random_values(4 * 3, 1), bias = random_values(4, 2);
  b.input("x", {1, 3, 5, 5}).weight("w", {4, 3, 1, 1}, w).weight("b", {1, 4, 1, 1}, bias);
  b.conv("conv", "x", "w", "c", {1, 4, 5, 5});
  b.op<fb::BinaryT>("add", {"c", "b"}, "s", {1, 4, 5, 5}).kind = fb::BinaryKind::Add;
  b.op<fb::ActivationOpT>("relu", {"s"}, "y", {1, 4, 5, 5}).activation->kind = fb::ActivationKind::Relu;
  b.output("y");
  optimize(b.p);

  ASSERT_EQ(op_types(b.p), std::vector<std::string>{"Conv2D"});
  const Op& conv = b.p.ops[0];
  EXPECT_EQ(conv.output, "y");
  EXPECT_EQ(conv.act().kind, fb::ActivationKind::Relu);
  ASSERT_EQ(conv.inputs.size(), 3u);
  EXPECT_EQ(b.p.weights.at(conv.inputs[1]).data, w);
  EXPECT_EQ(b.p.weights.at(conv.inputs[2]).data, bias);
  EXPECT_EQ(b.p.fused_activations, 1u);
}

TEST(ConverterPasses, BatchNormAfterConv_FoldsIntoWeightsAndBias) {
  ProgramBuilder b;
  const auto w = random_values(2 * 3, 3), scale = random_values(2, 4, 0.5f, 2.0f), shift = random_values(2, 5);
  b.input("x", {1, 3, 4, 4}).weight("w", {2, 3, 1, 1}, w).weight("scale", {2}, scale).weight("shift", {2}, shift);
  b.conv("conv", "x", "w", "c", {1, 2, 4, 4});
  b.op<fb::ChannelAffineT>("bn", {"c", "scale", "shift"}, "y", {1, 2, 4, 4});
  b.output("y");
  optimize(b.p);

  ASSERT_EQ(op_types(b.p), std::vector<std::string>{"Conv2D"});
  const Op& conv = b.p.ops[0];
  ASSERT_EQ(conv.inputs.size(), 3u);
  const auto& folded = b.p.weights.at(conv.inputs[1]).data;
  const auto& bias = b.p.weights.at(conv.inputs[2]).data;
  for (size_t m = 0; m < 2; ++m) {
    for (size_t k = 0; k < 3; ++k) EXPECT_FLOAT_EQ(folded[m * 3 + k], w[m * 3 + k] * scale[m]);
    EXPECT_FLOAT_EQ(bias[m], shift[m]);
  }
  EXPECT_EQ(b.p.folded_batchnorms, 1u);
}

TEST(ConverterPasses, XTimesRelu6XPlus3Over6_BecomesHardSwish) {
  ProgramBuilder b;
  b.input("x", {1, 2, 3, 3}).weight("three", {1}, {3.0f}).weight("six", {1}, {6.0f});
  const Shape s{1, 2, 3, 3};
  b.op<fb::BinaryT>("add", {"x", "three"}, "a", s).kind = fb::BinaryKind::Add;
  auto& clip = *b.op<fb::ActivationOpT>("clip", {"a"}, "r", s).activation;
  clip.kind = fb::ActivationKind::Clip;
  clip.beta = 6.0f;
  b.op<fb::BinaryT>("mul", {"x", "r"}, "m", s).kind = fb::BinaryKind::Mul;
  b.op<fb::BinaryT>("div", {"m", "six"}, "y", s).kind = fb::BinaryKind::Div;
  b.output("y");
  optimize(b.p);

  ASSERT_EQ(op_types(b.p), std::vector<std::string>{"ActivationOp"});
  EXPECT_EQ(b.p.ops[0].inputs, std::vector<std::string>{"x"});
  EXPECT_EQ(b.p.ops[0].output, "y");
  EXPECT_EQ(b.p.ops[0].act().kind, fb::ActivationKind::HardSwish);
}

// Activations spelled with several ops are recognised by their values, whatever the order and
// grouping: x * Sigmoid(x) after a convolution becomes SiLU fused into it; GELU's erf form
// grouped two ways becomes Gelu; Mish written as x * tanh(Softplus(x)) becomes Mish. GELU's
// tanh approximation (within 5e-4 of GELU, not equal to it) and a sigmoid gate of another tensor
// stay as they are.
TEST(ConverterPasses, SpelledActivationsBecomeOneActivation) {
  auto unary = [](ProgramBuilder& b, const std::string& name, fb::ActivationKind kind, const std::string& x,
                  const std::string& y, const Shape& s) {
    b.op<fb::ActivationOpT>(name, {x}, y, s).activation->kind = kind;
  };
  auto binary = [](ProgramBuilder& b, const std::string& name, fb::BinaryKind kind, std::vector<std::string> in,
                   const std::string& y, const Shape& s) { b.op<fb::BinaryT>(name, std::move(in), y, s).kind = kind; };
  const Shape s{1, 2, 3, 3};
  {
    SCOPED_TRACE("SiLU after a convolution, the gate first");
    ProgramBuilder b;
    b.input("x", s).weight("w", {2, 2, 1, 1}, random_values(4, 5));
    b.conv("conv", "x", "w", "c", s);
    unary(b, "sig", fb::ActivationKind::Sigmoid, "c", "g", s);
    binary(b, "mul", fb::BinaryKind::Mul, {"g", "c"}, "y", s);
    b.output("y");
    optimize(b.p);
    ASSERT_EQ(op_types(b.p), std::vector<std::string>{"Conv2D"});
    EXPECT_EQ(b.p.ops[0].act().kind, fb::ActivationKind::Silu);
    EXPECT_EQ(b.p.ops[0].output, "y");
  }
  for (bool grouped_left : {true, false}) {
    SCOPED_TRACE(grouped_left ? "GELU as (x * (erf(x / sqrt2) + 1)) * 0.5" : "GELU as 0.5 * x * (1 + erf(x * 1/sqrt2))");
    ProgramBuilder b;
    b.input("x", s).weight("sqrt2", {1}, {std::sqrt(2.0f)}).weight("inv_sqrt2", {1}, {1 / std::sqrt(2.0f)});
    b.weight("one", {1}, {1.0f}).weight("half", {1}, {0.5f});
    if (grouped_left) {
      binary(b, "div", fb::BinaryKind::Div, {"x", "sqrt2"}, "d", s);
      unary(b, "erf", fb::ActivationKind::Erf, "d", "e", s);
      binary(b, "add", fb::BinaryKind::Add, {"e", "one"}, "a", s);
      binary(b, "mul", fb::BinaryKind::Mul, {"x", "a"}, "m", s);
      binary(b, "half", fb::BinaryKind::Mul, {"m", "half"}, "y", s);
    } else {
      binary(b, "scale", fb::BinaryKind::Mul, {"x", "inv_sqrt2"}, "d", s);
      unary(b, "erf", fb::ActivationKind::Erf, "d", "e", s);
      binary(b, "add", fb::BinaryKind::Add, {"one", "e"}, "a", s);
      binary(b, "half", fb::BinaryKind::Mul, {"half", "x"}, "h", s);
      binary(b, "mul", fb::BinaryKind::Mul, {"h", "a"}, "y", s);
    }
    b.output("y");
    optimize(b.p);
    ASSERT_EQ(op_types(b.p), std::vector<std::string>{"ActivationOp"});
    EXPECT_EQ(b.p.ops[0].inputs, std::vector<std::string>{"x"});
    EXPECT_EQ(b.p.ops[0].act().kind, fb::ActivationKind::Gelu);
  }
  {
    SCOPED_TRACE("Mish spelled out");
    ProgramBuilder b;
    b.input("x", s);
    unary(b, "softplus", fb::ActivationKind::Softplus, "x", "sp", s);
    unary(b, "tanh", fb::ActivationKind::Tanh, "sp", "t", s);
    binary(b, "mul", fb::BinaryKind::Mul, {"x", "t"}, "y", s);
    b.output("y");
    optimize(b.p);
    ASSERT_EQ(op_types(b.p), std::vector<std::string>{"ActivationOp"});
    EXPECT_EQ(b.p.ops[0].act().kind, fb::ActivationKind::Mish);
  }
  {
    SCOPED_TRACE("GELU's tanh approximation");
    ProgramBuilder b;
    b.input("x", s).weight("three", {1}, {3.0f}).weight("k", {1}, {0.044715f});
    b.weight("c", {1}, {std::sqrt(2.0f / 3.14159265f)}).weight("one", {1}, {1.0f}).weight("half", {1}, {0.5f});
    binary(b, "cube", fb::BinaryKind::Pow, {"x", "three"}, "t1", s);
    binary(b, "k", fb::BinaryKind::Mul, {"t1", "k"}, "t2", s);
    binary(b, "inner", fb::BinaryKind::Add, {"x", "t2"}, "t3", s);
    binary(b, "c", fb::BinaryKind::Mul, {"t3", "c"}, "t4", s);
    unary(b, "tanh", fb::ActivationKind::Tanh, "t4", "t5", s);
    binary(b, "plus1", fb::BinaryKind::Add, {"t5", "one"}, "t6", s);
    binary(b, "mul", fb::BinaryKind::Mul, {"x", "t6"}, "t7", s);
    binary(b, "half", fb::BinaryKind::Mul, {"t7", "half"}, "y", s);
    b.output("y");
    optimize(b.p);
    // Only the Tanh moves, into the Mul before it.
    EXPECT_EQ(op_types(b.p), std::vector<std::string>(7, "Binary"));
  }
  {
    SCOPED_TRACE("a sigmoid gate of another tensor");
    ProgramBuilder b;
    b.input("x", s).input("z", s);
    unary(b, "sig", fb::ActivationKind::Sigmoid, "z", "g", s);
    binary(b, "mul", fb::BinaryKind::Mul, {"x", "g"}, "y", s);
    b.output("y");
    optimize(b.p);
    EXPECT_EQ(op_types(b.p), (std::vector<std::string>{"ActivationOp", "Binary"}));
  }
}

// Sign(x) into a conv whose weights are +-alpha_m per output channel: a Binarize of x and a
// BinaryConv2D with the signs packed (bit set where the weight is negative) and scale alpha_m.
TEST(ConverterPasses, SignIntoPlusMinusAlphaConv_BecomesBinaryConv) {
  ProgramBuilder b;
  const int64_t m = 3, c = 5;
  const std::vector<float> alpha{0.25f, 1.5f, 0.75f};
  std::mt19937 rng(7);
  std::vector<float> w(static_cast<size_t>(m * c));
  for (int64_t o = 0; o < m; ++o)
    for (int64_t k = 0; k < c; ++k) w[size_t(o * c + k)] = (rng() & 1 ? -1.0f : 1.0f) * alpha[size_t(o)];
  b.input("x", {1, c, 4, 4}).weight("w", {m, c, 1, 1}, w);
  b.op<pattern::Sign>("sign", {"x"}, "s", {1, c, 4, 4});
  b.conv("conv", "s", "w", "y", {1, m, 4, 4});
  b.output("y");
  optimize(b.p);

  ASSERT_EQ(op_types(b.p), (std::vector<std::string>{"Binarize", "BinaryConv2D"}));
  const Op& conv = producer_of(b.p, "y");
  const auto* params = conv.get<fb::BinaryConv2DT>();
  ASSERT_NE(params, nullptr);
  EXPECT_EQ(params->kernel, (std::vector<int32_t>{1, 1}));
  EXPECT_EQ(params->epilogue->activation, fb::BinaryActivationKind::None);
  EXPECT_EQ(params->epilogue->link, nullptr);
  const Op& binarize = producer_of(b.p, conv.inputs[0]);
  EXPECT_TRUE(binarize.is<fb::BinarizeT>());
  EXPECT_EQ(binarize.inputs[0], "x");
  EXPECT_TRUE(b.p.bit_values.count(binarize.output));
  const Weight& bits = b.p.weights.at(conv.inputs[1]);
  ASSERT_EQ(bits.bits.size(), static_cast<size_t>(m));  // one word of 5 channels per output channel
  for (int64_t o = 0; o < m; ++o)
    for (int64_t k = 0; k < c; ++k)
      EXPECT_EQ((bits.bits[size_t(o)] >> k) & 1u, w[size_t(o * c + k)] < 0 ? 1u : 0u) << o << "," << k;
  const auto& scale = b.p.weights.at(conv.inputs[2]).data;
  for (int64_t o = 0; o < m; ++o) EXPECT_FLOAT_EQ(scale[size_t(o)], alpha[size_t(o)]);
}

TEST(ConverterPasses, SignIntoRealWeights_StaysRealWithANote) {
  ProgramBuilder b;
  b.input("x", {1, 4, 2, 2}).weight("w", {2, 4, 1, 1}, random_values(8, 9));
  b.op<pattern::Sign>("sign", {"x"}, "s", {1, 4, 2, 2});
  b.conv("conv", "s", "w", "y", {1, 2, 2, 2});
  b.output("y");
  optimize(b.p);

  EXPECT_TRUE(producer_of(b.p, "y").is<fb::Conv2DT>());
  ASSERT_TRUE(b.p.layer_notes.count("conv"));
  EXPECT_NE(b.p.layer_notes.at("conv").find("stays real"), std::string::npos);
  for (const auto& op : b.p.ops) EXPECT_FALSE(op.is_pattern()) << op.type_name();
}

// Dequantize -> Add -> Quantize becomes one Int8Add whose multipliers and shift give each
// input's scale ratio to the output's within one unit in the last place.
TEST(ConverterPasses, DequantizeAddQuantize_BecomesInt8Add) {
  ProgramBuilder b;
  const Shape s{1, 2, 3, 3};
  b.p.shapes["a8"] = s;
  b.p.shapes["b8"] = s;
  b.p.inputs = {"a8", "b8"};
  b.p.int8_values["a8"] = {0.05f, 3};
  b.p.int8_values["b8"] = {0.02f, -7};
  b.p.int8_values["y8"] = {0.09f, 1};
  b.op<fb::DequantizeT>("dqa", {"a8"}, "a", s);
  b.op<fb::DequantizeT>("dqb", {"b8"}, "b", s);
  b.op<fb::BinaryT>("add", {"a", "b"}, "sum", s).kind = fb::BinaryKind::Add;
  b.op<fb::QuantizeT>("q", {"sum"}, "y8", s);
  b.op<fb::DequantizeT>("dqy", {"y8"}, "y", s);
  b.output("y");
  fuse_qdq(b.p);

  ASSERT_EQ(op_types(b.p), (std::vector<std::string>{"Int8Add", "Dequantize"}));
  const Op& add = b.p.ops[0];
  EXPECT_EQ(add.inputs, (std::vector<std::string>{"a8", "b8"}));
  EXPECT_EQ(add.output, "y8");
  const auto* params = add.get<fb::Int8AddT>();
  ASSERT_NE(params, nullptr);
  ASSERT_GE(params->shift, 1);
  ASSERT_LE(params->shift, 30);
  const double unit = std::ldexp(1.0, -params->shift);
  EXPECT_NEAR(params->multiplier_a * unit, 0.05 / 0.09, unit);
  EXPECT_NEAR(params->multiplier_b * unit, 0.02 / 0.09, unit);
  EXPECT_LT(std::abs(params->multiplier_a), 1 << 21);
  EXPECT_LT(std::abs(params->multiplier_b), 1 << 21);
  EXPECT_EQ(params->clamp_min, -128);
  EXPECT_EQ(params->clamp_max, 127);
}

TEST(ConverterPasses, OpNamesComeFromTheSchema) {
  Op op;
  op.set(fb::Int8GlobalAveragePoolT{});
  EXPECT_EQ(op.type_name(), "Int8GlobalAveragePool");
  EXPECT_FALSE(op.is_pattern());
  op.set(pattern::Tile{});
  EXPECT_EQ(op.type_name(), "Tile");
  EXPECT_TRUE(op.is_pattern());
  EXPECT_EQ(op.params.type, fb::OpParams::NONE);
  op.set(fb::BinaryT{});
  ASSERT_NE(op.get<fb::BinaryT>()->activation, nullptr);  // written as the file always had it
  EXPECT_FALSE(op.is_pattern());
}

}  // namespace
}  // namespace vkbnn::convert::detail
