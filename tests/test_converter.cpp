// The converter's passes on small ONNX graphs built here with the ONNX protobuf API: folding and
// fusion must keep the numbers while changing the graph, and what cannot be converted must say
// which op and node are at fault.

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numbers>

#include <gtest/gtest.h>

#include "converter/converter.hpp"
#include "support/onnx_graph.hpp"
#include "support/test_support.hpp"

namespace vkbnn::test {
namespace {

using convert::Options;
using convert::Result;
using Shape = std::vector<int64_t>;

// Reference 2-D convolution, NCHW, one image, stride 1, symmetric padding.
std::vector<float> conv_reference(const std::vector<float>& x, int c, int h, int w, const std::vector<float>& weight,
                                  const std::vector<float>& bias, int m, int k, int pad) {
  int oh = h + 2 * pad - k + 1, ow = w + 2 * pad - k + 1;
  std::vector<float> y(static_cast<size_t>(m * oh * ow));
  for (int o = 0; o < m; ++o)
    for (int i = 0; i < oh; ++i)
      for (int j = 0; j < ow; ++j) {
        double sum = bias[static_cast<size_t>(o)];
        for (int ci = 0; ci < c; ++ci)
          for (int ki = 0; ki < k; ++ki)
            for (int kj = 0; kj < k; ++kj) {
              int yi = i + ki - pad, xj = j + kj - pad;
              if (yi < 0 || yi >= h || xj < 0 || xj >= w) continue;
              sum += double(x[static_cast<size_t>((ci * h + yi) * w + xj)]) *
                     weight[static_cast<size_t>(((o * c + ci) * k + ki) * k + kj)];
            }
        y[static_cast<size_t>((o * oh + i) * ow + j)] = static_cast<float>(sum);
      }
  return y;
}

// Conv 3x3 (3 -> 4 channels) -> BatchNormalization -> Relu. With `tap_conv` the conv output is
// also a graph output, so BatchNormalization cannot be folded and stays a ChannelAffine.
struct ConvBn {
  std::vector<float> weight = random_vector(4 * 3 * 3 * 3, 1);
  std::vector<float> bias = random_vector(4, 2);
  std::vector<float> gamma = random_vector(4, 3, 0.5f, 2.0f);
  std::vector<float> beta = random_vector(4, 4);
  std::vector<float> mean = random_vector(4, 5);
  std::vector<float> var = random_vector(4, 6, 0.1f, 2.0f);
  float eps = 1e-3f;

  onnx::ModelProto model(bool tap_conv) const {
    OnnxGraph b;
    b.input("x", {1, 3, 6, 6});
    b.floats("w", {4, 3, 3, 3}, weight);
    b.floats("b", {4}, bias);
    b.floats("gamma", {4}, gamma);
    b.floats("beta", {4}, beta);
    b.floats("mean", {4}, mean);
    b.floats("var", {4}, var);
    auto& conv = b.node("Conv", {"x", "w", "b"}, {"c"}, "conv");
    ints_attribute(conv, "pads", {1, 1, 1, 1});
    auto& bn = b.node("BatchNormalization", {"c", "gamma", "beta", "mean", "var"}, {"n"}, "bn");
    float_attribute(bn, "epsilon", eps);
    b.node("Relu", {"n"}, {"y"}, "relu");
    b.output("y", {1, 4, 6, 6});
    if (tap_conv) b.output("c", {1, 4, 6, 6});
    return b.model();
  }

  std::vector<float> reference(const std::vector<float>& x) const {
    auto y = conv_reference(x, 3, 6, 6, weight, bias, 4, 3, 1);
    for (size_t i = 0; i < y.size(); ++i) {
      size_t c = i / 36;
      double v = (y[i] - mean[c]) / std::sqrt(double(var[c]) + eps) * gamma[c] + beta[c];
      y[i] = static_cast<float>(std::max(v, 0.0));
    }
    return y;
  }
};

TEST(Converter, BatchNormFoldingKeepsResults) {
  ConvBn net;
  auto x = random_vector(3 * 6 * 6, 7);
  auto expected = net.reference(x);

  Result folded = convert::convert_model(net.model(false));
  EXPECT_EQ(folded.summary.folded_batchnorms, 1u);
  EXPECT_EQ(folded.summary.fused_activations, 1u);
  ASSERT_EQ(folded.summary.nodes.size(), 1u);
  EXPECT_EQ(folded.summary.nodes[0].op, "Conv2D");
  EXPECT_EQ(folded.summary.nodes[0].activation, "Relu");
  auto folded_out = run_model(folded.bytes, {x});
  EXPECT_TRUE(all_close(folded_out.at(0).data, expected, 1e-4f, 1e-5f));

  Result unfolded = convert::convert_model(net.model(true));
  EXPECT_EQ(unfolded.summary.folded_batchnorms, 0u);
  ASSERT_EQ(unfolded.summary.nodes.size(), 2u);
  EXPECT_EQ(unfolded.summary.nodes[1].op, "ChannelAffine");
  EXPECT_EQ(unfolded.summary.nodes[1].activation, "Relu");
  auto unfolded_out = run_model(unfolded.bytes, {x});
  EXPECT_TRUE(all_close(unfolded_out.at(0).data, expected, 1e-4f, 1e-5f));
  EXPECT_TRUE(all_close(unfolded_out.at(0).data, folded_out.at(0).data, 1e-4f, 1e-5f));
}

TEST(Converter, FusesActivationsIntoProducers) {
  OnnxGraph b;
  b.input("a", {1, 2, 3, 4});
  b.input("b", {1, 2, 3, 4});
  b.floats("lo", {}, {0.0f});
  b.floats("hi", {}, {6.0f});
  b.node("Add", {"a", "b"}, {"sum"}, "add");
  auto& leaky = b.node("LeakyRelu", {"sum"}, {"l"}, "leaky");
  float_attribute(leaky, "alpha", 0.25f);
  // x * HardSigmoid(x) with alpha 1/6 is HardSwish.
  auto& hs = b.node("HardSigmoid", {"l"}, {"gate"}, "gate");
  float_attribute(hs, "alpha", 1.0f / 6.0f);
  b.node("Mul", {"l", "gate"}, {"swish"}, "swish");
  b.node("Clip", {"swish", "lo", "hi"}, {"y"}, "relu6");
  b.output("y", {1, 2, 3, 4});
  Result r = convert::convert_model(b.model());
  ASSERT_EQ(r.summary.nodes.size(), 3u) << convert::format_summary(r.summary);
  EXPECT_EQ(r.summary.nodes[0].op, "Binary");
  EXPECT_EQ(r.summary.nodes[0].activation, "LeakyRelu(0.25)");
  EXPECT_EQ(r.summary.nodes[1].op, "ActivationOp");
  EXPECT_EQ(r.summary.nodes[1].activation, "HardSwish");
  EXPECT_EQ(r.summary.nodes[2].activation, "Clip(0,6)");
  EXPECT_EQ(r.summary.fused_activations, 1u);

  auto a = random_vector(24, 11, -8.0f, 8.0f), bb = random_vector(24, 12, -8.0f, 8.0f);
  std::vector<float> expected(24);
  for (size_t i = 0; i < 24; ++i) {
    float s = a[i] + bb[i];
    float l = s > 0 ? s : 0.25f * s;
    float swish = l * std::clamp(l / 6.0f + 0.5f, 0.0f, 1.0f);
    expected[i] = std::clamp(swish, 0.0f, 6.0f);
  }
  auto out = run_model(r.bytes, {a, bb});
  EXPECT_TRUE(all_close(out.at(0).data, expected, 1e-5f, 1e-5f));
}

TEST(Converter, SpelledOutHardSwishBecomesOneOp) {
  OnnxGraph b;
  b.input("x", {1, 4, 2, 2});
  b.floats("three", {}, {3.0f});
  b.floats("six", {}, {6.0f});
  b.floats("zero", {}, {0.0f});
  b.node("Add", {"x", "three"}, {"t1"});
  b.node("Clip", {"t1", "zero", "six"}, {"t2"});
  b.node("Mul", {"x", "t2"}, {"t3"});
  b.node("Div", {"t3", "six"}, {"y"});
  b.output("y", {1, 4, 2, 2});
  Result r = convert::convert_model(b.model());
  ASSERT_EQ(r.summary.nodes.size(), 1u) << convert::format_summary(r.summary);
  EXPECT_EQ(r.summary.nodes[0].activation, "HardSwish");
  auto x = random_vector(16, 13, -5.0f, 5.0f);
  std::vector<float> expected;
  for (float v : x) expected.push_back(v * std::clamp(v + 3.0f, 0.0f, 6.0f) / 6.0f);
  EXPECT_TRUE(all_close(run_model(r.bytes, {x}).at(0).data, expected, 1e-5f, 1e-5f));
}

// The Flatten that PyTorch exports: Shape -> Gather -> Unsqueeze -> Concat -> Reshape.
TEST(Converter, FoldsShapeChainsOfFlatten) {
  OnnxGraph b;
  b.input("x", {1, 3, 4, 4});
  b.int64s("zero", {}, {0});
  b.int64s("minus_one", {1}, {-1});
  b.int64s("axes", {1}, {0});
  auto w = random_vector(5 * 3, 21), bias = random_vector(5, 22);
  b.floats("w", {5, 3}, w);
  b.floats("bias", {5}, bias);
  b.node("GlobalAveragePool", {"x"}, {"pooled"}, "gap");
  b.node("Shape", {"pooled"}, {"shape"});
  b.node("Gather", {"shape", "zero"}, {"batch"});
  b.node("Unsqueeze", {"batch", "axes"}, {"batch1"});
  auto& concat = b.node("Concat", {"batch1", "minus_one"}, {"target"});
  int_attribute(concat, "axis", 0);
  b.node("Reshape", {"pooled", "target"}, {"flat"}, "flatten");
  auto& gemm = b.node("Gemm", {"flat", "w", "bias"}, {"y"}, "fc");
  int_attribute(gemm, "transB", 1);
  b.output("y", {1, 5});
  Result r = convert::convert_model(b.model());
  ASSERT_EQ(r.summary.nodes.size(), 3u) << convert::format_summary(r.summary);
  EXPECT_EQ(r.summary.nodes[0].op, "GlobalPool");
  EXPECT_EQ(r.summary.nodes[1].op, "Reshape");
  EXPECT_EQ(r.summary.nodes[1].output_shape, (Shape{1, 3}));
  EXPECT_EQ(r.summary.nodes[2].op, "FullyConnected");
  EXPECT_EQ(r.summary.folded_constants, 4u);

  auto x = random_vector(48, 23);
  std::vector<float> expected(5);
  for (int o = 0; o < 5; ++o) {
    double sum = bias[static_cast<size_t>(o)];
    for (int c = 0; c < 3; ++c) {
      double mean = 0;
      for (int i = 0; i < 16; ++i) mean += x[static_cast<size_t>(c * 16 + i)] / 16.0;
      sum += mean * w[static_cast<size_t>(o * 3 + c)];
    }
    expected[static_cast<size_t>(o)] = static_cast<float>(sum);
  }
  EXPECT_TRUE(all_close(run_model(r.bytes, {x}).at(0).data, expected, 1e-4f, 1e-5f));
}

// Before opset 13, Softmax normalizes everything from the axis on as one row.
TEST(Converter, OldSoftmaxCoercesToRows) {
  OnnxGraph b(11);
  b.input("x", {2, 3, 4});
  auto& softmax = b.node("Softmax", {"x"}, {"y"}, "softmax");
  int_attribute(softmax, "axis", 1);
  b.output("y", {2, 3, 4});
  Result r = convert::convert_model(b.model());
  ASSERT_EQ(r.summary.nodes.size(), 3u) << convert::format_summary(r.summary);
  auto x = random_vector(24, 31, -3.0f, 3.0f);
  std::vector<float> expected(24);
  for (size_t row = 0; row < 2; ++row) {
    double total = 0;
    for (size_t i = 0; i < 12; ++i) total += std::exp(double(x[row * 12 + i]));
    for (size_t i = 0; i < 12; ++i) expected[row * 12 + i] = static_cast<float>(std::exp(double(x[row * 12 + i])) / total);
  }
  auto out = run_model(r.bytes, {x}).at(0);
  EXPECT_EQ(out.shape, (Shape{2, 3, 4}));
  EXPECT_TRUE(all_close(out.data, expected, 1e-5f, 1e-6f));
}

TEST(Converter, InputSizeFixesDynamicDimensions) {
  OnnxGraph b;
  b.input("image", {-1, 1, -1, -1});
  b.node("Relu", {"image"}, {"y"}, "relu");
  b.output("y", {1, 1, -1, -1});
  try {
    convert::convert(b.model());
    FAIL() << "a dynamic height and width converted without --input-size";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("--input-size"), std::string::npos) << e.what();
  }
  Options options;
  options.input_size = {{5, 7}};
  options.mean = {0.5f};
  auto model = Model::from_bytes(convert::convert(b.model(), options));
  EXPECT_EQ(model.inputs().at(0).shape, (Shape{1, 1, 5, 7}));
  EXPECT_EQ(model.metadata().input_height, 5);
  EXPECT_EQ(model.metadata().input_width, 7);
  EXPECT_EQ(model.metadata().channel_order, ChannelOrder::Gray);
  EXPECT_EQ(model.metadata().mean, std::vector<float>{0.5f});
  EXPECT_EQ(model.metadata().std, std::vector<float>{1.0f});
}

TEST(Converter, UnsupportedOpNamesOpAndNode) {
  OnnxGraph b;
  b.input("x", {1, 3});
  b.node("Relu", {"x"}, {"r"});
  b.node("LpNormalization", {"r"}, {"y"}, "my_unsupported_node");
  b.output("y", {1, 3});
  EXPECT_EQ(conversion_error(b.model()), "unsupported op 'LpNormalization' at node 'my_unsupported_node'");

  OnnxGraph unnamed;
  unnamed.input("x", {1, 3});
  unnamed.node("Relu", {"x"}, {"r"});
  unnamed.node("Hardmax", {"r"}, {"y"});
  unnamed.output("y", {1, 3});
  EXPECT_EQ(conversion_error(unnamed.model()), "unsupported op 'Hardmax' at node #1");
}

// Every op the model lacks, with counts and nodes, in one message: unknown ops, the rejected
// quantized ops with their reason, and folding-only ops whose inputs are computed at run time.
TEST(Converter, UnsupportedOpsAreListedTogether) {
  OnnxGraph b;
  b.input("x", {1, 3});
  b.node("Hardmax", {"x"}, {"e1"}, "hardmax_a");
  b.node("Hardmax", {"e1"}, {"e2"});
  b.node("LpNormalization", {"e2"}, {"m"}, "lp_norm");
  for (const std::string k : {"0", "1", "2", "3", "4", "5"}) b.node("Hardmax", {"m"}, {"out_" + k}, "hardmax_" + k);
  b.node("ConvInteger", {"m", "m"}, {"ci"}, "conv_int");
  b.node("Relu", {"out_5"}, {"y"});
  b.output("y", {1, 3});
  b.output("ci", {1, 3}, onnx::TensorProto_DataType_INT32);
  EXPECT_EQ(conversion_error(b.model()),
            "unsupported ops in 10 nodes: 'Hardmax' x8 at nodes 'hardmax_a', #1, 'hardmax_0', 'hardmax_1', "
            "'hardmax_2' and 3 more; "
            "'LpNormalization' x1 at node 'lp_norm'; 'ConvInteger' x1 at node 'conv_int': it produces int32 values, and vkbnn has no "
            "int32 activations (its int8 layers requantize their int32 accumulators to int8 inside the op); quantize "
            "with QLinearConv or QuantizeLinear/DequantizeLinear instead");

  // ScatterND is only folded; here it reads the input.
  OnnxGraph run_time;
  run_time.input("x", {2, 3});
  run_time.int64s("at", {1, 1}, {1});
  run_time.floats("row", {1, 3}, {1, 2, 3});
  run_time.node("ScatterND", {"x", "at", "row"}, {"g"}, "scatter");
  run_time.node("Relu", {"g"}, {"y"});
  run_time.output("y", {2, 3});
  EXPECT_EQ(conversion_error(run_time.model()),
            "unsupported op 'ScatterND' at node 'scatter' (evaluated only when all its inputs are constants)");
}

// What another exporter writes before its classifier (opset 9): the batch size from Shape, cast
// to INT32, sliced, concatenated with an INT32 -1 and cast back for Reshape, with a value_info
// that declares the Shape INT32. The folded chain keeps each value's type (an INT64 constant
// where INT32 is inferred fails ONNX's shape inference), and the wrong declaration is noted.
TEST(Converter, FoldsInt32ShapeArithmeticAndOverridesWrongValueInfo) {
  OnnxGraph b(9);
  b.input("x", {-1, 3, 4, 4});
  auto w = random_vector(5 * 3, 41), bias = random_vector(5, 42);
  b.floats("w", {5, 3}, w);
  b.floats("bias", {5}, bias);
  b.int32s("minus_one", {1}, {-1});
  b.node("GlobalAveragePool", {"x"}, {"pooled"}, "gap");
  b.node("Shape", {"pooled"}, {"shape"});
  auto& to_int32 = b.node("Cast", {"shape"}, {"shape32"});
  int_attribute(to_int32, "to", onnx::TensorProto_DataType_INT32);
  auto& slice = b.node("Slice", {"shape32"}, {"batch"});
  ints_attribute(slice, "starts", {0});
  ints_attribute(slice, "ends", {1});
  ints_attribute(slice, "axes", {0});
  auto& concat = b.node("Concat", {"batch", "minus_one"}, {"target32"});
  int_attribute(concat, "axis", 0);
  auto& to_int64 = b.node("Cast", {"target32"}, {"target"});
  int_attribute(to_int64, "to", onnx::TensorProto_DataType_INT64);
  b.node("Reshape", {"pooled", "target"}, {"flat"}, "flatten");
  auto& gemm = b.node("Gemm", {"flat", "w", "bias"}, {"y"}, "fc");
  int_attribute(gemm, "transB", 1);
  b.output("y", {-1, 5});
  onnx::ModelProto model = b.model();
  auto* declared = model.mutable_graph()->add_value_info();
  declared->set_name("shape");
  declared->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto_DataType_INT32);
  declared->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(4);

  Options options;
  options.batch = 2;
  Result r = convert::convert_model(model, options);
  ASSERT_EQ(r.summary.nodes.size(), 3u) << convert::format_summary(r.summary);
  EXPECT_EQ(r.summary.nodes[1].output_shape, (Shape{2, 3}));
  ASSERT_EQ(r.summary.notes.size(), 1u) << convert::format_summary(r.summary);
  EXPECT_EQ(r.summary.notes[0], "'shape' is declared INT32 but the graph computes INT64; the computed type is used");

  auto x = random_vector(2 * 48, 43);
  std::vector<float> expected(2 * 5);
  for (int n = 0; n < 2; ++n)
    for (int o = 0; o < 5; ++o) {
      double sum = bias[static_cast<size_t>(o)];
      for (int c = 0; c < 3; ++c) {
        double mean = 0;
        for (int i = 0; i < 16; ++i) mean += x[static_cast<size_t>((n * 3 + c) * 16 + i)] / 16.0;
        sum += mean * w[static_cast<size_t>(o * 3 + c)];
      }
      expected[static_cast<size_t>(n * 5 + o)] = static_cast<float>(sum);
    }
  EXPECT_TRUE(all_close(run_model(r.bytes, {x}).at(0).data, expected, 1e-4f, 1e-5f));
}

// A two-input model with dynamic dimensions named as paddle2onnx names them: --batch fixes the
// batch of both, --input-shape fixes each input whole.
TEST(Converter, BatchAndInputShapesFixEveryInput) {
  auto model = [] {
    OnnxGraph b;
    b.input("image", {-1, 2, -1, -1});
    b.input("scale", {-1, 2, 1, 1});
    b.node("Mul", {"image", "scale"}, {"y"}, "mul");
    b.output("y", {-1, 2, -1, -1});
    onnx::ModelProto m = b.model();
    int named = 0;
    for (auto& v : *m.mutable_graph()->mutable_input())
      for (auto& d : *v.mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim())
        if (d.has_dim_param()) d.set_dim_param("p2o.DynamicDimension." + std::to_string(named++));
    return m;
  }();
  try {
    convert::convert(model);
    FAIL() << "dynamic spatial dimensions converted without a size";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("'p2o.DynamicDimension.1'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("--input-shape image:1x2x224x224"), std::string::npos) << e.what();
  }
  Options options;
  options.batch = 3;
  options.input_size = {{4, 5}};
  auto converted = Model::from_bytes(convert::convert(model, options));
  EXPECT_EQ(converted.inputs().at(0).shape, (Shape{3, 2, 4, 5}));
  EXPECT_EQ(converted.inputs().at(1).shape, (Shape{3, 2, 1, 1}));

  options = {};
  options.input_shapes = {{"image", {2, 2, 3, 4}}, {"scale", {2, 2, 1, 1}}};
  auto bytes = convert::convert(model, options);
  converted = Model::from_bytes(bytes);
  EXPECT_EQ(converted.inputs().at(0).shape, (Shape{2, 2, 3, 4}));
  EXPECT_EQ(converted.inputs().at(1).shape, (Shape{2, 2, 1, 1}));
  auto image = random_vector(48, 51), scale = random_vector(4, 52);
  std::vector<float> expected(48);
  for (size_t k = 0; k < 48; ++k) expected[k] = image[k] * scale[k / 12];
  EXPECT_TRUE(all_close(run_model(bytes, {image, scale}).at(0).data, expected, 1e-6f, 1e-7f));

  for (const auto& [shapes, message] : std::vector<std::pair<std::map<std::string, Shape>, std::string>>{
           {{{"nope", {1}}}, "'nope', which is not an input"},
           {{{"image", {1, 2, 3}}}, "rank 4, the shape given has rank 3"},
           {{{"image", {1, 2, 0, 4}}}, "at least 1"}}) {
    options = {};
    options.input_shapes = shapes;
    try {
      convert::convert(model, options);
      ADD_FAILURE() << "converted with " << message;
    } catch (const ModelError& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
    }
  }
}

// Element-wise ops move above a Transpose, which stays where no inverse meets it: here at the
// output, as a run-time Transpose of the NCHW result.
TEST(Converter, TransposesMovePastElementwiseOps) {
  OnnxGraph b;
  b.input("x", {1, 2, 3, 4});
  auto scale = random_vector(2, 61);
  b.floats("scale", {2}, scale);
  auto& to_nhwc = b.node("Transpose", {"x"}, {"t"}, "to_nhwc");
  ints_attribute(to_nhwc, "perm", {0, 2, 3, 1});
  b.node("Relu", {"t"}, {"r"}, "relu");
  b.node("Mul", {"r", "scale"}, {"y"}, "scale");
  b.output("y", {1, 3, 4, 2});
  Result r = convert::convert_model(b.model());
  ASSERT_EQ(r.summary.nodes.size(), 3u) << convert::format_summary(r.summary);
  EXPECT_EQ(r.summary.nodes[0].op, "ActivationOp");
  EXPECT_EQ(r.summary.nodes[1].op, "Binary");
  EXPECT_EQ(r.summary.nodes[1].output_shape, (Shape{1, 2, 3, 4}));
  EXPECT_EQ(r.summary.nodes[2].op, "Transpose");
  auto x = random_vector(24, 62);
  std::vector<float> expected(24);
  for (size_t c = 0; c < 2; ++c)
    for (size_t i = 0; i < 12; ++i) expected[i * 2 + c] = std::max(x[c * 12 + i], 0.0f) * scale[c];
  auto out = run_model(r.bytes, {x}).at(0);
  EXPECT_EQ(out.shape, (Shape{1, 3, 4, 2}));
  EXPECT_TRUE(all_close(out.data, expected, 1e-6f, 1e-7f));
}

TEST(Converter, OpsetsPastTheOnnxLibraryAreNamed) {
  OnnxGraph b(99);
  b.input("x", {1, 3});
  b.node("Relu", {"x"}, {"y"});
  b.output("y", {1, 3});
  const std::string error = conversion_error(b.model());
  EXPECT_NE(error.find("the model uses ONNX opset 99"), std::string::npos) << error;
  EXPECT_NE(error.find("export the model with opset"), std::string::npos) << error;
}

TEST(Converter, UnsupportedAttributesNameOpAndNode) {
  OnnxGraph pool;
  pool.input("x", {1, 1, 4, 4});
  auto& max = pool.node("MaxPool", {"x"}, {"y", "indices"}, "pool_with_indices");
  ints_attribute(max, "kernel_shape", {2, 2});
  pool.output("y", {1, 1, 3, 3});
  pool.output("indices", {1, 1, 3, 3}, onnx::TensorProto_DataType_INT64);
  std::string error = conversion_error(pool.model());
  EXPECT_NE(error.find("Indices"), std::string::npos) << error;
  EXPECT_NE(error.find("'pool_with_indices'"), std::string::npos) << error;

  OnnxGraph gemm;
  gemm.input("a", {3, 2});
  gemm.floats("w", {3, 4}, random_vector(12, 1));
  auto& node = gemm.node("Gemm", {"a", "w"}, {"y"}, "transposed_gemm");
  int_attribute(node, "transA", 1);
  gemm.output("y", {2, 4});
  error = conversion_error(gemm.model());
  EXPECT_NE(error.find("transA"), std::string::npos) << error;
  EXPECT_NE(error.find("'Gemm' at node 'transposed_gemm'"), std::string::npos) << error;
}

// A Sign whose product with its input is no binarization of the convolution's input: the layer
// stays real and says why, and the Sign runs at run time (sign(0) = 0), so the convolution reads
// sign(x) * x = |x|.
TEST(Converter, UnfusableBinaryPatternsRunAtRunTime) {
  const std::vector<float> w{0.5f, -0.5f, 0.25f, 0.25f, -2.0f, -2.0f};
  OnnxGraph odd;
  odd.input("x", {1, 2, 4, 4});
  odd.floats("w", {3, 2, 1, 1}, w);
  odd.node("Sign", {"x"}, {"s"}, "the_sign");
  odd.node("Mul", {"s", "x"}, {"m"}, "times_x");
  odd.node("Conv", {"m", "w"}, {"y"}, "conv");
  odd.output("y", {1, 3, 4, 4});
  const Result r = convert::convert_model(odd.model());
  const auto node = [&](const std::string& name) {
    const auto it = std::find_if(r.summary.nodes.begin(), r.summary.nodes.end(),
                                 [&](const auto& n) { return n.name == name; });
    EXPECT_NE(it, r.summary.nodes.end()) << name;
    return it == r.summary.nodes.end() ? convert::NodeSummary{} : *it;
  };
  EXPECT_EQ(node("conv").precision, "fp32");
  EXPECT_NE(node("conv").note.find("stays real: its input is not a binarization"), std::string::npos)
      << node("conv").note;
  EXPECT_EQ(node("the_sign").activation, "Sign");
  auto x = random_vector(32, 22);
  x[3] = x[17] = 0.0f;
  std::vector<float> magnitude(x.size());
  for (size_t i = 0; i < x.size(); ++i) magnitude[i] = std::abs(x[i]);
  const auto expected = conv_reference(magnitude, 2, 4, 4, w, std::vector<float>(3, 0.0f), 3, 1, 0);
  EXPECT_TRUE(all_close(run_model(r.bytes, {x}).at(0).data, expected, 1e-5f, 1e-6f));
}

// A channel sum beside a binary layer that no Elastic-Link adds back is no pattern to refuse: it
// runs as a Reduce, and the binary layer stays binary.
TEST(Converter, ChannelSumBesideABinaryLayerRunsAsReduce) {
  OnnxGraph reduce;
  reduce.input("x", {1, 2, 4, 4});
  reduce.floats("w", {3, 2, 1, 1}, {0.5f, -0.5f, 0.25f, 0.25f, -2.0f, -2.0f});
  reduce.int64s("axes", {1}, {1});
  reduce.node("Sign", {"x"}, {"s"}, "sign");
  reduce.node("Conv", {"s", "w"}, {"y"}, "binary_conv");
  reduce.node("ReduceSum", {"x", "axes"}, {"t"}, "lonely_reduce");
  reduce.output("y", {1, 3, 4, 4});
  reduce.output("t", {1, 1, 4, 4});
  Result r = convert::convert_model(reduce.model());
  const std::string summary = convert::format_summary(r.summary);
  EXPECT_NE(summary.find("BinaryConv2D"), std::string::npos) << summary;
  EXPECT_NE(summary.find("Reduce"), std::string::npos) << summary;
  const auto x = random_vector(32, 21);
  auto out = run_model(r.bytes, {x});
  ASSERT_EQ(out.size(), 2u);
  std::vector<float> sum(16);
  for (size_t i = 0; i < 16; ++i) sum[i] = x[i] + x[16 + i];
  EXPECT_TRUE(all_close(out[1].data, sum, 1e-6f, 1e-6f));
}

// Where(x > t, 1, -1) into a convolution with real weights: the layer stays real, reads the
// binarization computed in fp32 (x exactly at t is -1, as the strict comparison says), and the
// summary says why it is not binary.
TEST(Converter, BinarizedInputOfRealWeightsStaysRealWithNote) {
  const std::vector<float> t{0.25f, -0.5f};
  const auto w = random_vector(6, 3);
  auto x = random_vector(32, 4);
  for (size_t i = 0; i < x.size(); i += 2) x[i] = t[i / 16];
  OnnxGraph b;
  b.input("x", {1, 2, 4, 4});
  b.floats("t", {1, 2, 1, 1}, t);
  b.floats("one", {1}, {1.0f});
  b.floats("minus_one", {1}, {-1.0f});
  b.floats("w", {3, 2, 1, 1}, w);
  b.node("Greater", {"x", "t"}, {"above"}, "above");
  b.node("Where", {"above", "one", "minus_one"}, {"s"}, "select");
  b.node("Conv", {"s", "w"}, {"y"}, "real_conv");
  b.output("y", {1, 3, 4, 4});
  const Result r = convert::convert_model(b.model());
  const auto conv = std::find_if(r.summary.nodes.begin(), r.summary.nodes.end(),
                                 [](const auto& n) { return n.name == "real_conv"; });
  ASSERT_NE(conv, r.summary.nodes.end());
  EXPECT_EQ(conv->precision, "fp32");
  EXPECT_NE(conv->note.find("+-alpha"), std::string::npos) << conv->note;
  std::vector<float> signs(x.size());
  for (size_t i = 0; i < x.size(); ++i) signs[i] = x[i] > t[i / 16] ? 1.0f : -1.0f;
  const auto expected = conv_reference(signs, 2, 4, 4, w, std::vector<float>(3, 0.0f), 3, 1, 0);
  EXPECT_TRUE(all_close(run_model(r.bytes, {x}).at(0).data, expected, 1e-5f, 1e-6f));
}

// x > 0 and x >= 0 differ only at 0 (and -0, which compares equal): the binary layer must
// decide those as the comparison does, and tiny values of either sign as their sign says.
TEST(Converter, StrictAndNonStrictSignsAtZero) {
  const std::vector<float> x{0.0f, -0.0f, 1e-30f, -1e-30f, 1e-38f, -1e-38f, 1.5f, -2.0f};
  for (const char* op : {"Greater", "GreaterOrEqual"}) {
    SCOPED_TRACE(op);
    const bool strict = std::string(op) == "Greater";
    OnnxGraph b;
    b.input("x", {1, 1, 2, 4});
    b.floats("zero", {1}, {0.0f});
    b.floats("one", {1}, {1.0f});
    b.floats("minus_one", {1}, {-1.0f});
    b.floats("w", {1, 1, 1, 1}, {0.75f});
    b.node(op, {"x", "zero"}, {"c"}, "compare");
    b.node("Where", {"c", "one", "minus_one"}, {"s"}, "select");
    b.node("Conv", {"s", "w"}, {"y"}, "conv");
    b.output("y", {1, 1, 2, 4});
    const Result r = convert::convert_model(b.model());
    ASSERT_EQ(r.summary.nodes.size(), 2u);
    EXPECT_EQ(r.summary.nodes[1].precision, "binary");
    std::vector<float> expected;
    for (float v : x) expected.push_back((strict ? v > 0 : v >= 0) ? 0.75f : -0.75f);
    // Denormal inputs (1e-38) may be flushed to zero by the device: only normal ones are exact.
    const auto y = run_model(r.bytes, {x}).at(0).data;
    for (size_t i = 0; i < x.size(); ++i)
      if (i != 4 && i != 5) {
        EXPECT_EQ(y[i], expected[i]) << "x = " << x[i];
      }
  }
}

TEST(Converter, BadFilesGiveOneLineErrors) {
  auto dir = std::filesystem::temp_directory_path() / "vkbnn_test_converter";
  std::filesystem::create_directories(dir);
  try {
    convert::load_onnx(dir / "missing.onnx");
    FAIL() << "a missing file loaded";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("missing.onnx"), std::string::npos) << e.what();
  }
  auto junk = dir / "junk.onnx";
  std::ofstream(junk, std::ios::binary) << std::string(64, '\xff');
  try {
    convert::load_onnx(junk);
    FAIL() << "junk parsed as ONNX";
  } catch (const ModelError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("junk.onnx"), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
  std::filesystem::remove_all(dir);
}

TEST(Converter, BindInputsTurnsInputsIntoConstants) {
  OnnxGraph b;
  b.input("x", {1, 4});
  b.input("slope", {4});
  b.node("PRelu", {"x", "slope"}, {"y"}, "prelu");
  b.output("y", {1, 4});
  onnx::ModelProto model = b.model();
  onnx::TensorProto slope;
  slope.set_data_type(onnx::TensorProto_DataType_FLOAT);
  slope.add_dims(4);
  for (float v : {0.1f, 0.2f, 0.3f, 0.4f}) slope.add_float_data(v);
  EXPECT_THROW(convert::bind_inputs(model, {{"nope", slope}}), ModelError);
  convert::bind_inputs(model, {{"slope", slope}});
  auto converted = Model::from_bytes(convert::convert(model));
  ASSERT_EQ(converted.inputs().size(), 1u);
  auto out = run_model(convert::convert(model), {{-1.0f, -1.0f, 2.0f, -10.0f}});
  EXPECT_TRUE(all_close(out.at(0).data, std::vector<float>{-0.1f, -0.2f, 2.0f, -4.0f}, 1e-6f, 1e-6f));
}

// GELU as PyTorch exports it in both forms (erf, and tanh with a cube), Mish spelled out, and a
// three-input Min against a constant: each runs and matches the formulas evaluated in double.
TEST(Converter, GeluFormsMishAndVariadicMinRun) {
  const std::vector<int64_t> dims{1, 8, 4, 4};
  OnnxGraph b;
  b.input("x", dims);
  b.floats("sqrt2", {}, {std::sqrt(2.0f)});
  b.floats("one", {}, {1.0f});
  b.floats("half", {}, {0.5f});
  b.floats("three", {}, {3.0f});
  b.floats("k", {}, {0.044715f});
  b.floats("c", {}, {std::sqrt(2.0f / std::numbers::pi_v<float>)});
  b.floats("cap", {1, 8, 1, 1}, {0.5f, 1.0f, 1.5f, 2.0f, -0.5f, -1.0f, 0.0f, 3.0f});
  b.node("Div", {"x", "sqrt2"}, {"e1"});
  b.node("Erf", {"e1"}, {"e2"});
  b.node("Add", {"e2", "one"}, {"e3"});
  b.node("Mul", {"x", "e3"}, {"e4"});
  b.node("Mul", {"e4", "half"}, {"gelu"});
  b.node("Pow", {"x", "three"}, {"t1"});
  b.node("Mul", {"t1", "k"}, {"t2"});
  b.node("Add", {"x", "t2"}, {"t3"});
  b.node("Mul", {"t3", "c"}, {"t4"});
  b.node("Tanh", {"t4"}, {"t5"});
  b.node("Add", {"t5", "one"}, {"t6"});
  b.node("Mul", {"x", "t6"}, {"t7"});
  b.node("Mul", {"t7", "half"}, {"gelu_tanh"});
  b.node("Softplus", {"x"}, {"m1"});
  b.node("Tanh", {"m1"}, {"m2"});
  b.node("Mul", {"x", "m2"}, {"mish"});
  b.node("Min", {"gelu", "cap", "mish"}, {"low"});
  for (const char* name : {"gelu", "gelu_tanh", "mish", "low"}) b.output(name, dims);
  auto x = random_vector(128, 77, -6.0f, 6.0f);
  auto out = run_model(convert::convert(b.model()), {x});
  ASSERT_EQ(out.size(), 4u);
  std::vector<float> gelu, gelu_tanh, mish, low;
  for (size_t i = 0; i < x.size(); ++i) {
    const double v = x[i];
    gelu.push_back(static_cast<float>(0.5 * v * (1 + std::erf(v / std::sqrt(2.0)))));
    gelu_tanh.push_back(static_cast<float>(0.5 * v * (1 + std::tanh(std::sqrt(2 / std::numbers::pi) * (v + 0.044715 * v * v * v)))));
    mish.push_back(static_cast<float>(v * std::tanh(std::log1p(std::exp(v)))));
    const double cap = std::vector<double>{0.5, 1.0, 1.5, 2.0, -0.5, -1.0, 0.0, 3.0}[i / 16];
    low.push_back(static_cast<float>(std::min({double(gelu.back()), cap, double(mish.back())})));
  }
  EXPECT_TRUE(all_close(out[0].data, gelu, 1e-5f, 1e-6f));
  EXPECT_TRUE(all_close(out[1].data, gelu_tanh, 1e-5f, 1e-6f));
  EXPECT_TRUE(all_close(out[2].data, mish, 1e-5f, 1e-6f));
  EXPECT_TRUE(all_close(out[3].data, low, 1e-5f, 1e-6f));
}

}  // namespace
}  // namespace vkbnn::test
