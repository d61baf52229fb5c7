// ONNX files written to hurt the converter. Each graph here once crashed it (out-of-bounds reads,
// heap overflows, division by zero), made it allocate without bound, let a non-vkbnn exception
// escape, or made it write a file the engine then refused. Each must now be refused quickly with
// one vkbnn::Error line that says what is wrong and where.

#include <chrono>
#include <limits>

#include <gtest/gtest.h>

#include "converter/converter.hpp"
#include "support/onnx_graph.hpp"
#include "support/test_support.hpp"

namespace vkbnn::test {
namespace {

void expect_mentions(const std::string& error, const std::vector<std::string>& parts) {
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  for (const auto& part : parts) EXPECT_NE(error.find(part), std::string::npos) << "'" << part << "' in: " << error;
}

// x [1, n] + a folded constant of shape [n], so that the folding has to happen.
OnnxGraph add_to_input(int64_t n) {
  OnnxGraph g;
  g.input("x", {1, n});
  g.output("y", {1, n});
  return g;
}

TEST(HostileOnnx, GatherIndexOutOfRange) {
  for (int64_t index : {int64_t{3}, int64_t{-4}, std::numeric_limits<int64_t>::max()}) {
    OnnxGraph g = add_to_input(1);
    g.floats("data", {3}, {1, 2, 3});
    g.int64s("index", {1}, {index});
    g.node("Gather", {"data", "index"}, {"picked"}, "bad_gather");
    g.node("Add", {"x", "picked"}, {"y"}, "add");
    expect_mentions(conversion_refusal(g.model()), {"'bad_gather'", "Gather", "index " + std::to_string(index)});
  }
}

// A Reshape to more elements than it reads, then a Slice back to the shape of the binary layer's
// output: the Elastic-Link recognition evaluated it symbolically past its input's end.
TEST(HostileOnnx, ReshapeChangingTheElementCount) {
  OnnxGraph g;
  g.input("x", {1, 2, 4, 4});
  g.floats("w", {2, 2, 1, 1}, {0.5f, -0.5f, 0.25f, 0.25f});
  g.int64s("target", {4}, {1, 2, 8, 4});
  g.int64s("starts", {1}, {0});
  g.int64s("ends", {1}, {4});
  g.int64s("axes", {1}, {2});
  g.node("Sign", {"x"}, {"s"}, "sign");
  g.node("Conv", {"s", "w"}, {"c"}, "binary_conv");
  g.node("Reshape", {"x", "target"}, {"r"}, "growing_reshape");
  g.node("Slice", {"r", "starts", "ends", "axes"}, {"link"}, "slice");
  g.node("Add", {"c", "link"}, {"y"}, "add");
  g.output("y", {1, 2, 4, 4});
  expect_mentions(conversion_refusal(g.model()), {"'growing_reshape'", "32", "64"});
}

// Invalid Conv and pooling attributes are refused before ONNX's shape inference divides by them.
TEST(HostileOnnx, InvalidConvAndPoolAttributes) {
  struct Case {
    std::string op, attribute;
    std::vector<int64_t> value;
  };
  const std::vector<Case> cases{{"Conv", "strides", {0, 1}},       {"Conv", "dilations", {1, 0}},
                                {"Conv", "pads", {0, -1, 0, 0}},   {"Conv", "group", {0}},
                                {"Conv", "kernel_shape", {0, 1}},  {"MaxPool", "strides", {0, 0}},
                                {"AveragePool", "kernel_shape", {-1, 1}}, {"MaxPool", "dilations", {0, 1}}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.op + " " + c.attribute);
    OnnxGraph g;
    g.input("x", {1, 2, 4, 4});
    g.floats("w", {2, 2, 1, 1}, random_vector(4, 1));
    auto& node = c.op == "Conv" ? g.node("Conv", {"x", "w"}, {"y"}, "bad_node") : g.node(c.op, {"x"}, {"y"}, "bad_node");
    if (c.attribute != "kernel_shape") ints_attribute(node, "kernel_shape", {1, 1});
    if (c.attribute == "group") int_attribute(node, "group", c.value[0]);
    else ints_attribute(node, c.attribute, c.value);
    g.output("y", {1, 2, 4, 4});
    expect_mentions(conversion_refusal(g.model()), {"'bad_node'", c.attribute});
  }
}

// Found by fuzzing: without kernel_shape, ONNX's shape inference read as many spatial dimensions
// of the input as the weights have, past the end of a rank-2 input.
TEST(HostileOnnx, ConvOnAnInputOfTheWrongRank) {
  OnnxGraph g;
  g.input("x", {1, 8});
  g.floats("w", {2, 3, 1, 1}, random_vector(6, 3));
  g.node("Conv", {"x", "w"}, {"y"}, "flat_conv");
  g.output("y", {1, 2, 1, 1});
  expect_mentions(conversion_refusal(g.model()), {"flat_conv", "kernel_shape"});
}

TEST(HostileOnnx, RawDataThatIsNotAWholeNumberOfValues) {
  for (const std::string& raw : {std::string("ab"), std::string("abcdef")}) {
    OnnxGraph g = add_to_input(1);
    g.node("Add", {"x", "c"}, {"y"}, "add");
    onnx::ModelProto model = g.model();
    add_initializer(*model.mutable_graph(), "c", {1}, onnx::TensorProto_DataType_FLOAT).set_raw_data(raw);
    expect_mentions(conversion_refusal(model), {"'c'", "raw_data", std::to_string(raw.size()) + " bytes"});
  }
}

// ConstantOfShape, Expand, Range and Split asking for sizes far beyond what the file holds.
TEST(HostileOnnx, FoldedSizesAreCappedBeforeAllocating) {
  const auto started = std::chrono::steady_clock::now();
  for (int64_t n : {int64_t{1} << 28, int64_t{1} << 40, std::numeric_limits<int64_t>::max()}) {
    OnnxGraph g = add_to_input(1);
    g.int64s("shape", {2}, {n, 1});
    g.node("ConstantOfShape", {"shape"}, {"zeros"}, "huge_zeros");
    g.node("Add", {"x", "zeros"}, {"y"}, "add");
    expect_mentions(conversion_refusal(g.model()), {"'huge_zeros'", "ConstantOfShape"});

    OnnxGraph e = add_to_input(1);
    e.floats("one", {1}, {1});
    e.int64s("shape", {3}, {n, n, 1});
    e.node("Expand", {"one", "shape"}, {"wide"}, "huge_expand");
    e.node("Add", {"x", "wide"}, {"y"}, "add");
    expect_mentions(conversion_refusal(e.model()), {"'huge_expand'", "Expand"});
  }
  OnnxGraph r = add_to_input(1);
  r.floats("start", {}, {0});
  r.floats("limit", {}, {1e30f});
  r.floats("delta", {}, {1});
  r.node("Range", {"start", "limit", "delta"}, {"range"}, "huge_range");
  r.node("Add", {"x", "range"}, {"y"}, "add");
  expect_mentions(conversion_refusal(r.model()), {"'huge_range'", "Range"});
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(20));
}

TEST(HostileOnnx, SplitSizesThatOverflow) {
  OnnxGraph g = add_to_input(2);
  g.floats("data", {4}, {1, 2, 3, 4});
  g.int64s("sizes", {2}, {std::numeric_limits<int64_t>::max(), 2});
  g.node("Split", {"data", "sizes"}, {"a", "b"}, "bad_split");
  g.node("Add", {"x", "b"}, {"y"}, "add");
  expect_mentions(conversion_refusal(g.model()), {"'bad_split'", "Split"});
}

// Models the converter used to write with success and the engine's loader then refused: the
// converter now checks its output with that loader.
TEST(HostileOnnx, OutputTheEngineWouldRefuseIsNotWritten) {
  OnnxGraph huge;
  huge.input("x", {1, int64_t{1} << 40});
  huge.node("Relu", {"x"}, {"y"}, "relu");
  huge.output("y", {1, int64_t{1} << 40});
  expect_mentions(conversion_refusal(huge.model()), {"'x'", "1099511627776"});

  OnnxGraph channels;
  channels.input("x", {1, 3, 4, 4});
  channels.floats("w", {2, 5, 1, 1}, random_vector(10, 2));
  channels.node("Conv", {"x", "w"}, {"y"}, "mismatched_conv");
  channels.output("y", {1, 2, 4, 4});
  expect_mentions(conversion_refusal(channels.model()), {"mismatched_conv"});

  OnnxGraph no_outputs;
  no_outputs.input("x", {1, 4});
  no_outputs.node("Relu", {"x"}, {"y"}, "relu");
  expect_mentions(conversion_refusal(no_outputs.model()), {"no outputs"});
}

TEST(HostileOnnx, OnlyVkbnnErrorsLeaveTheLibrary) {
  OnnxGraph no_inputs;
  no_inputs.floats("c", {1}, {1});
  no_inputs.node("Relu", {"c"}, {"y"}, "relu");
  no_inputs.output("y", {1});
  expect_mentions(conversion_refusal(no_inputs.model()), {"input"});

  // A QDQ global average pool whose requantization multiplier x_scale / (y_scale * H * W) is
  // far beyond what the fixed-point form holds.
  OnnxGraph qdq;
  qdq.input("x", {1, 2, 2, 2});
  qdq.floats("x_scale", {}, {1e6f});
  qdq.floats("y_scale", {}, {1e-6f});
  qdq.int32s("zero", {}, {0}, onnx::TensorProto_DataType_INT8);
  qdq.node("QuantizeLinear", {"x", "x_scale", "zero"}, {"xq"}, "quantize_x");
  qdq.node("DequantizeLinear", {"xq", "x_scale", "zero"}, {"xd"}, "dequantize_x");
  qdq.node("GlobalAveragePool", {"xd"}, {"p"}, "pool");
  qdq.node("QuantizeLinear", {"p", "y_scale", "zero"}, {"pq"}, "quantize_p");
  qdq.node("DequantizeLinear", {"pq", "y_scale", "zero"}, {"y"}, "dequantize_p");
  qdq.output("y", {1, 2, 1, 1});
  expect_mentions(conversion_refusal(qdq.model()), {"'pool'", "multiplier"});
}

}  // namespace
}  // namespace vkbnn::test
