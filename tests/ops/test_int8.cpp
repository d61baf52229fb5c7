// The int8 ops against the naive CPU reference, on both kernel paths (packed dot products and
// the portable one). Every model quantizes a random float input, runs the op and dequantizes,
// so the comparison of floats is a comparison of the integers: it must be exact.

#include <cmath>

#include "converter/quantize/fixed_point.hpp"
#include "ops/single_node.hpp"
#include "reference/int8_reference.hpp"

namespace vkbnn::test {
namespace {

using Shape = std::vector<int64_t>;

std::vector<int8_t> to_int8(const std::vector<int32_t>& v) { return {v.begin(), v.end()}; }

// Per-channel requantization that maps typical accumulators of `k` products onto int8.
ref::Requantization requantization(int64_t channels, int64_t k, uint32_t seed) {
  ref::Requantization r;
  r.bias = random_ints(static_cast<size_t>(channels), seed, -3000, 3000);
  const auto spread = random_vector(static_cast<size_t>(channels), seed + 1, 0.5f, 2.0f);
  for (int64_t c = 0; c < channels; ++c) {
    const auto fp = convert::fixed_point(spread[c] * 60.0 / (std::sqrt(static_cast<double>(k)) * 127.0 * 60.0));
    r.multiplier.push_back(fp.multiplier);
    r.shift.push_back(fp.shift);
  }
  return r;
}

struct Chain {
  convert::ModelWriter w;
  uint32_t input = 0, quantized = 0;
};

// input (Float32) -> Quantize -> q_in (Int8), returned for the op under test to read.
void begin_chain(Chain& c, const Shape& shape, ref::Quantization q) {
  c.input = c.w.add_tensor("input", shape);
  c.quantized = c.w.add_int8_tensor("q_in", shape, q.scale, q.zero_point);
  c.w.add_node("quantize", fb::OpParams::Quantize, fb::CreateQuantize(c.w.builder()).Union(), {c.input}, {c.quantized});
}

// q_out (Int8) -> Dequantize -> output (Float32), the graph output.
std::vector<uint8_t> end_chain(Chain& c, uint32_t q_out, const Shape& shape, std::vector<uint32_t> inputs = {}) {
  const uint32_t out = c.w.add_tensor("output", shape);
  c.w.add_node("dequantize", fb::OpParams::Dequantize, fb::CreateDequantize(c.w.builder()).Union(), {q_out}, {out});
  if (inputs.empty()) inputs = {c.input};
  c.w.set_inputs(inputs);
  c.w.set_outputs({out});
  return c.w.finish();
}

std::vector<uint32_t> requantization_inputs(convert::ModelWriter& w, const ref::Requantization& r) {
  const Shape m{static_cast<int64_t>(r.bias.size())};
  return {w.add_int32_constant("bias", m, r.bias), w.add_int32_constant("multiplier", m, r.multiplier),
          w.add_int32_constant("shift", m, r.shift)};
}

struct ConvCase {
  Shape x;
  int64_t m = 8;
  ref::Int8Conv2D p;
  ref::Quantization qx{0.01f, 3}, qy{0.05f, -7};
};

ref::Int8Conv2D conv(int64_t k, int64_t stride, int64_t pad, int64_t group = 1, int64_t dilation = 1) {
  ref::Int8Conv2D p;
  p.kernel_h = p.kernel_w = k, p.stride_h = p.stride_w = stride, p.dilation_h = p.dilation_w = dilation;
  p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = pad, p.group = group;
  return p;
}

using Shaders = std::vector<std::string>;

// The shaders the layer `name` ran.
Shaders shaders_of_layer(const std::vector<LayerInfo>& layers, const std::string& name) {
  for (const auto& layer : layers)
    if (layer.name == name) return layer.shaders;
  ADD_FAILURE() << "no layer '" << name << "'";
  return {};
}

bool is_depthwise(const ConvCase& c) { return c.p.group == c.x[1] && c.p.group == c.m; }

// Runs the case on `on`, compares with the reference and returns the shaders the convolution ran.
Shaders expect_conv_matches(const ConvCase& c, uint32_t seed, Context* on) {
  SCOPED_TRACE(::testing::PrintToString(c.x) + " -> " + std::to_string(c.m) + " k" + std::to_string(c.p.kernel_h) +
               " s" + std::to_string(c.p.stride_h) + " p" + std::to_string(c.p.pad_top) + " g" +
               std::to_string(c.p.group));
  const int64_t icg = c.x[1] / c.p.group;
  const Shape w_shape{c.m, icg, c.p.kernel_h, c.p.kernel_w};
  const auto x = random_vector(count_of(c.x), seed, -1.3f, 1.3f);
  const auto w = random_ints(count_of(w_shape), seed + 1, -127, 127);
  const auto r = requantization(c.m, icg * c.p.kernel_h * c.p.kernel_w, seed + 2);

  Shape y_shape;
  const auto qx = ref::quantize(x, c.qx);
  const auto expected = ref::dequantize(
      ref::int8_conv2d(qx, c.x, c.qx.zero_point, w, c.m, c.p, r, c.qy.zero_point, &y_shape), c.qy);

  Chain chain;
  begin_chain(chain, c.x, c.qx);
  auto& fbb = chain.w.builder();
  std::vector<uint32_t> inputs{chain.quantized, chain.w.add_int8_constant("w", w_shape, to_int8(w))};
  for (uint32_t t : requantization_inputs(chain.w, r)) inputs.push_back(t);
  const uint32_t q_out = chain.w.add_int8_tensor("q_out", y_shape, c.qy.scale, c.qy.zero_point);
  const std::vector<int32_t> kernel{static_cast<int32_t>(c.p.kernel_h), static_cast<int32_t>(c.p.kernel_w)};
  const std::vector<int32_t> strides{static_cast<int32_t>(c.p.stride_h), static_cast<int32_t>(c.p.stride_w)};
  const std::vector<int32_t> dilations{static_cast<int32_t>(c.p.dilation_h), static_cast<int32_t>(c.p.dilation_w)};
  const std::vector<int32_t> pads{static_cast<int32_t>(c.p.pad_top), static_cast<int32_t>(c.p.pad_left),
                                  static_cast<int32_t>(c.p.pad_bottom), static_cast<int32_t>(c.p.pad_right)};
  chain.w.add_node("conv", fb::OpParams::Int8Conv2D,
                   fb::CreateInt8Conv2DDirect(fbb, &kernel, &strides, &dilations, &pads, static_cast<int32_t>(c.p.group),
                                              c.p.clamp_min, c.p.clamp_max)
                       .Union(),
                   inputs, {q_out});
  std::vector<LayerInfo> layers;
  const auto actual = run_model(end_chain(chain, q_out, y_shape), {x}, {}, on, &layers).at(0).data;
  EXPECT_TRUE(all_close(actual, expected, 0.0f, 0.0f));
  return shaders_of_layer(layers, "conv");
}

std::vector<ConvCase> conv_cases() {
  std::vector<ConvCase> cases;
  cases.push_back({{1, 3, 9, 9}, 8, conv(3, 1, 1)});
  cases.push_back({{2, 5, 7, 6}, 13, conv(3, 2, 1)});
  cases.push_back({{1, 17, 8, 8}, 4, conv(1, 1, 0)});
  cases.push_back({{1, 32, 6, 6}, 32, conv(3, 1, 2, 1, 2)});
  cases.push_back({{1, 8, 10, 10}, 8, conv(3, 1, 1, 8)});
  cases.push_back({{1, 12, 9, 9}, 12, conv(3, 2, 1, 12)});
  cases.push_back({{2, 10, 6, 35}, 10, conv(3, 1, 2, 10, 2)});  // depthwise, channels not a multiple of 4
  cases.push_back({{1, 12, 7, 7}, 6, conv(3, 1, 1, 2)});
  cases.push_back({{1, 6, 5, 5}, 9, conv(3, 1, 0, 3)});
  cases.push_back({{1, 64, 5, 5}, 16, conv(5, 1, 2)});
  cases.push_back({{1, 1, 11, 13}, 3, conv(3, 2, 0)});
  // Rows longer than one run of outputs, and a last block of output channels only partly used.
  cases.push_back({{1, 8, 5, 37}, 40, conv(3, 1, 1)});
  cases.push_back({{1, 16, 4, 40}, 36, conv(1, 2, 0, 4)});
  // More than 256 input words per tap: the portable kernel's float accumulators must flush.
  cases.push_back({{1, 1040, 3, 3}, 8, conv(1, 1, 0)});
  ConvCase relu{{1, 16, 6, 6}, 24, conv(3, 1, 1)};
  relu.qy = {0.02f, -128};
  relu.p.clamp_min = -128;
  relu.p.clamp_max = -128 + 100;  // ReLU6-like: both ends clamp
  cases.push_back(relu);
  ConvCase unsigned_input{{1, 8, 7, 7}, 8, conv(3, 1, 1)};
  unsigned_input.qx = {0.006f, -128};  // padded taps must read -128, not 0
  cases.push_back(unsigned_input);
  ConvCase asym{{1, 4, 9, 7}, 4, conv(3, 1, 0)};
  asym.p.kernel_w = 1, asym.p.stride_w = 2, asym.p.pad_top = 2, asym.p.pad_right = 1;
  cases.push_back(asym);
  return cases;
}

// Depthwise convolutions have one kernel; the others multiply with packed dot products where the
// device has them.
TEST(Int8Conv2D, MatchesReferenceOnDotProducts) {
  ASSERT_TRUE(context().device().integer_dot_product) << context().device().name << " has no integer dot products";
  uint32_t seed = 100;
  for (const auto& c : conv_cases())
    EXPECT_EQ(expect_conv_matches(c, seed += 10, &context()),
              Shaders{is_depthwise(c) ? "int8_depthwise_conv2d" : "int8_conv2d_dot"});
}

TEST(Int8Conv2D, MatchesReferenceOnPortableKernel) {
  ASSERT_FALSE(portable_context().device().integer_dot_product);
  uint32_t seed = 500;
  for (const auto& c : conv_cases())
    EXPECT_EQ(expect_conv_matches(c, seed += 10, &portable_context()),
              Shaders{is_depthwise(c) ? "int8_depthwise_conv2d" : "int8_conv2d"});
}

// Runs the case on `on`, compares with the reference and returns the shaders the matmul ran.
Shaders expect_fc_matches(const Shape& x_shape, int64_t m, uint32_t seed, Context* on) {
  SCOPED_TRACE(::testing::PrintToString(x_shape) + " -> " + std::to_string(m));
  const int64_t k = static_cast<int64_t>(count_of(x_shape)) / x_shape[0];
  const ref::Quantization qx{0.02f, -5}, qy{0.1f, 11};
  const auto x = random_vector(count_of(x_shape), seed, -2.0f, 2.0f);
  const auto w = random_ints(static_cast<size_t>(m * k), seed + 1, -127, 127);
  const auto r = requantization(m, k, seed + 2);
  const auto qxv = ref::quantize(x, qx);
  const auto expected =
      ref::dequantize(ref::int8_fully_connected(qxv, x_shape[0], w, m, r, qy.zero_point, -100, 127), qy);

  Chain chain;
  begin_chain(chain, x_shape, qx);
  std::vector<uint32_t> inputs{chain.quantized, chain.w.add_int8_constant("w", {m, k}, to_int8(w))};
  for (uint32_t t : requantization_inputs(chain.w, r)) inputs.push_back(t);
  const Shape y_shape{x_shape[0], m};
  const uint32_t q_out = chain.w.add_int8_tensor("q_out", y_shape, qy.scale, qy.zero_point);
  chain.w.add_node("fc", fb::OpParams::Int8FullyConnected,
                   fb::CreateInt8FullyConnected(chain.w.builder(), -100, 127).Union(), inputs, {q_out});
  std::vector<LayerInfo> layers;
  const auto actual = run_model(end_chain(chain, q_out, y_shape), {x}, {}, on, &layers).at(0).data;
  EXPECT_TRUE(all_close(actual, expected, 0.0f, 0.0f));
  return shaders_of_layer(layers, "fc");
}

// A matmul is a convolution whose kernel covers the input, on either convolution kernel.
TEST(Int8FullyConnected, MatchesReferenceOnBothPaths) {
  ASSERT_TRUE(context().device().integer_dot_product) << context().device().name << " has no integer dot products";
  for (Context* on : {&context(), &portable_context()}) {
    const Shaders kernel{on == &context() ? "int8_conv2d_dot" : "int8_conv2d"};
    EXPECT_EQ(expect_fc_matches({3, 100}, 10, 1, on), kernel);
    EXPECT_EQ(expect_fc_matches({1, 7}, 3, 2, on), kernel);
    EXPECT_EQ(expect_fc_matches({2, 8, 3, 3}, 5, 3, on), kernel);  // flattened NCHW input
    EXPECT_EQ(expect_fc_matches({1, 1030}, 9, 4, on), kernel);
  }
}

TEST(Int8Add, MatchesReference) {
  for (const Shape& shape : {Shape{2, 5, 4, 3}, Shape{1, 9}, Shape{1, 32, 7, 7}}) {
    SCOPED_TRACE(::testing::PrintToString(shape));
    const ref::Quantization qa{0.01f, 7}, qb{0.03f, -20}, qy{0.025f, 4};
    const auto a = random_vector(count_of(shape), 11, -1.2f, 1.2f);
    const auto b = random_vector(count_of(shape), 12, -3.0f, 3.0f);
    // Multipliers for scale_a / scale_y and scale_b / scale_y with one shift, as the converter makes them.
    const int32_t shift = 20;
    const auto ma = static_cast<int32_t>(std::lround(qa.scale / qy.scale * (1 << shift)));
    const auto mb = static_cast<int32_t>(std::lround(qb.scale / qy.scale * (1 << shift)));
    const auto expected = ref::dequantize(ref::int8_add(ref::quantize(a, qa), ref::quantize(b, qb), qa.zero_point,
                                                        qb.zero_point, qy.zero_point, ma, mb, shift, qy.zero_point, 127),
                                          qy);
    Chain chain;
    begin_chain(chain, shape, qa);
    const uint32_t b_in = chain.w.add_tensor("b", shape);
    const uint32_t b_q = chain.w.add_int8_tensor("b_q", shape, qb.scale, qb.zero_point);
    chain.w.add_node("quantize_b", fb::OpParams::Quantize, fb::CreateQuantize(chain.w.builder()).Union(), {b_in}, {b_q});
    const uint32_t q_out = chain.w.add_int8_tensor("q_out", shape, qy.scale, qy.zero_point);
    chain.w.add_node("add", fb::OpParams::Int8Add,
                     fb::CreateInt8Add(chain.w.builder(), ma, mb, shift, qy.zero_point, 127).Union(),
                     {chain.quantized, b_q}, {q_out});
    const auto actual = run_model(end_chain(chain, q_out, shape, {chain.input, b_in}), {a, b}).at(0).data;
    EXPECT_TRUE(all_close(actual, expected, 0.0f, 0.0f));
  }
}

TEST(Int8GlobalAveragePool, MatchesReference) {
  const Shape shape{2, 10, 5, 5};
  const ref::Quantization qx{0.02f, -30}, qy{0.01f, 9};
  const auto x = random_vector(count_of(shape), 21, -1.0f, 2.0f);
  const auto fp = convert::fixed_point(qx.scale / (qy.scale * 25.0));
  const auto expected = ref::dequantize(
      ref::int8_global_average_pool(ref::quantize(x, qx), shape, qx.zero_point, qy.zero_point, fp.multiplier, fp.shift),
      qy);
  Chain chain;
  begin_chain(chain, shape, qx);
  const Shape y_shape{2, 10, 1, 1};
  const uint32_t q_out = chain.w.add_int8_tensor("q_out", y_shape, qy.scale, qy.zero_point);
  chain.w.add_node("gap", fb::OpParams::Int8GlobalAveragePool,
                   fb::CreateInt8GlobalAveragePool(chain.w.builder(), fp.multiplier, fp.shift).Union(), {chain.quantized},
                   {q_out});
  EXPECT_TRUE(all_close(run_model(end_chain(chain, q_out, y_shape), {x}).at(0).data, expected, 0.0f, 0.0f));
}

TEST(Int8MaxPool, MatchesReference) {
  struct Case {
    Shape x;
    int64_t kernel, stride, pad;
  };
  for (const Case& c : {Case{{1, 6, 7, 7}, 3, 2, 1}, Case{{2, 9, 8, 8}, 2, 2, 0}}) {
    const ref::Quantization q{0.01f, -2};
    const Shape y_shape{c.x[0], c.x[1], (c.x[2] + 2 * c.pad - c.kernel) / c.stride + 1,
                        (c.x[3] + 2 * c.pad - c.kernel) / c.stride + 1};
    const auto x = random_vector(count_of(c.x), 31, -1.5f, 1.5f);
    const auto expected =
        ref::dequantize(ref::int8_max_pool2d(ref::quantize(x, q), c.x, c.kernel, c.stride, c.pad, y_shape), q);
    Chain chain;
    begin_chain(chain, c.x, q);
    const uint32_t q_out = chain.w.add_int8_tensor("q_out", y_shape, q.scale, q.zero_point);
    const std::vector<int32_t> kernel(2, static_cast<int32_t>(c.kernel)), strides(2, static_cast<int32_t>(c.stride)),
        dilations(2, 1), pads(4, static_cast<int32_t>(c.pad));
    chain.w.add_node(
        "pool", fb::OpParams::Pool2D,
        fb::CreatePool2DDirect(chain.w.builder(), fb::PoolKind::Max, &kernel, &strides, &dilations, &pads).Union(),
        {chain.quantized}, {q_out});
    EXPECT_TRUE(all_close(run_model(end_chain(chain, q_out, y_shape), {x}).at(0).data, expected, 0.0f, 0.0f));
  }
}

TEST(Quantize, RoundsHalfToEvenAndSaturates) {
  const ref::Quantization q{0.5f, -3};
  // Half-way values (0.25 = 0.5 * 0.5, 0.75, -1.25), saturating ones and ordinary ones.
  std::vector<float> x{0.25f, 0.75f, -1.25f, 1000.0f, -1000.0f, 0.1f, 63.0f, -62.75f, 3.3f, -0.0f, 1e30f, -1e30f};
  x.resize(12 * 3);
  const auto extra = random_vector(24, 41, -70.0f, 70.0f);
  std::copy(extra.begin(), extra.end(), x.begin() + 12);
  for (const Shape& shape : {Shape{3, 12}, Shape{1, 9, 2, 2}}) {
    const auto expected = ref::dequantize(ref::quantize(x, q), q);
    Chain chain;
    begin_chain(chain, shape, q);
    EXPECT_TRUE(all_close(run_model(end_chain(chain, chain.quantized, shape), {x}).at(0).data, expected, 0.0f, 0.0f));
  }
}

TEST(Int8Tensors, TappedTensorsReadBackDequantized) {
  const Shape shape{1, 6, 3, 3};
  const ref::Quantization q{0.05f, 10};
  const auto x = random_vector(count_of(shape), 51, -2.0f, 2.0f);
  Chain chain;
  begin_chain(chain, shape, q);
  NetworkOptions options;
  options.taps = {"q_in"};
  Model model = Model::from_bytes(end_chain(chain, chain.quantized, shape));
  Network net(context(), model, options);
  net.run(x);
  EXPECT_TRUE(all_close(net.read_tensor("q_in").data, ref::dequantize(ref::quantize(x, q), q), 0.0f, 0.0f));
  const auto& layers = net.layers();
  ASSERT_EQ(layers.size(), 2u);
  EXPECT_EQ(layers[0].precision, Precision::Int8);
}

TEST(Int8Model, RejectsBadTypesAndParameters) {
  // Quantize -> a 1x1 Int8Conv2D whose pieces vary -> Dequantize.
  auto wrap = [](fb::DataType weight_type, int32_t shift, bool quantized_output = true) {
    convert::ModelWriter w;
    const uint32_t in = w.add_tensor("in", {1, 4, 3, 3});
    const uint32_t x = w.add_int8_tensor("x", {1, 4, 3, 3}, 0.1f, 0);
    w.add_node("q", fb::OpParams::Quantize, fb::CreateQuantize(w.builder()).Union(), {in}, {x});
    const std::vector<int8_t> weights(16, 1);
    const uint32_t wt = weight_type == fb::DataType::Int8
                            ? w.add_int8_constant("w", {4, 4, 1, 1}, weights)
                            : w.add_constant("w", {4, 4, 1, 1}, std::vector<float>(16, 1.0f));
    const std::vector<int32_t> zeros(4, 0), ones(4, 1 << 30), shifts(4, shift);
    const uint32_t y = quantized_output ? w.add_int8_tensor("y", {1, 4, 3, 3}, 0.1f, 0) : w.add_tensor("y", {1, 4, 3, 3});
    const std::vector<int32_t> k{1, 1}, s{1, 1}, d{1, 1}, p{0, 0, 0, 0};
    w.add_node("conv", fb::OpParams::Int8Conv2D, fb::CreateInt8Conv2DDirect(w.builder(), &k, &s, &d, &p).Union(),
               {x, wt, w.add_int32_constant("b", {4}, zeros), w.add_int32_constant("m", {4}, ones),
                w.add_int32_constant("s", {4}, shifts)},
               {y});
    uint32_t out = y;
    if (quantized_output) {
      out = w.add_tensor("out", {1, 4, 3, 3});
      w.add_node("dq", fb::OpParams::Dequantize, fb::CreateDequantize(w.builder()).Union(), {y}, {out});
    }
    w.set_inputs({in});
    w.set_outputs({out});
    return w.finish();
  };
  EXPECT_NO_THROW(Model::from_bytes(wrap(fb::DataType::Int8, 31)));
  EXPECT_TRUE(rejected(wrap(fb::DataType::Float32, 31), "weights W must be an Int8 constant"));
  EXPECT_TRUE(rejected(wrap(fb::DataType::Int8, 0), "shift 0 is outside [1, 62]"));
  EXPECT_TRUE(rejected(wrap(fb::DataType::Int8, 63), "shift 63 is outside [1, 62]"));
  EXPECT_TRUE(rejected(wrap(fb::DataType::Int8, 31, false), "output must be Int8"));
}

TEST(Int8Model, RejectsInt8TensorsWithoutQuantization) {
  convert::ModelWriter w;
  const uint32_t in = w.add_tensor("in", {1, 4});
  const uint32_t q = w.add_tensor("q", {1, 4}, fb::DataType::Int8);
  w.add_node("quantize", fb::OpParams::Quantize, fb::CreateQuantize(w.builder()).Union(), {in}, {q});
  const uint32_t out = w.add_tensor("out", {1, 4});
  w.add_node("dequantize", fb::OpParams::Dequantize, fb::CreateDequantize(w.builder()).Union(), {q}, {out});
  w.set_inputs({in});
  w.set_outputs({out});
  EXPECT_TRUE(rejected(w.finish(), "Int8 tensor 'q' has no quantization"));

  convert::ModelWriter bad_scale;
  const uint32_t in2 = bad_scale.add_tensor("in", {1, 4});
  const uint32_t q2 = bad_scale.add_int8_tensor("q", {1, 4}, -1.0f, 0);
  bad_scale.add_node("quantize", fb::OpParams::Quantize, fb::CreateQuantize(bad_scale.builder()).Union(), {in2}, {q2});
  const uint32_t out2 = bad_scale.add_tensor("out", {1, 4});
  bad_scale.add_node("dequantize", fb::OpParams::Dequantize, fb::CreateDequantize(bad_scale.builder()).Union(), {q2},
                     {out2});
  bad_scale.set_inputs({in2});
  bad_scale.set_outputs({out2});
  EXPECT_TRUE(rejected(bad_scale.finish(), "needs a finite scale > 0"));
}

}  // namespace
}  // namespace vkbnn::test
