// 1-D ConvTranspose, Conv, MaxPool and AveragePool, which the converter runs as their 2-D forms
// over a unit height: single-node graphs with every attribute (tests/python/make_1d_onnx.py,
// onnx.helper) against a naive NumPy reference of ONNX's definitions; the attributes of such a
// node that do not fit a 1-D input are refused naming the node. Computed ArgMax/Gather models
// whose attributes are out of range are refused the same way.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>

#include "converter/converter.hpp"
#include "support/onnx_graph.hpp"
#include "support/process.hpp"
#include "support/test_support.hpp"
#include "vkbnn/io/npy.hpp"

namespace vkbnn::test {
namespace {

// Runs the converted `bytes` on the export's input and compares with its expected output: float
// rounding of the sums only (observed on lavapipe: 2.4e-7 relative L2 at most).
void expect_matches_export(const std::filesystem::path& dir, const std::string& name,
                           const std::vector<uint8_t>& bytes) {
  const auto input = io::read_npy(dir / (name + ".input.npy"));
  const auto expected = io::read_npy(dir / (name + ".expected.npy"));
  const auto outputs = run_model(bytes, {input.data});
  ASSERT_EQ(outputs.at(0).shape, expected.shape);
  const double error = relative_l2(outputs[0].data, expected.data);
  std::cout << name << ": relative L2 error " << error << "\n";
  EXPECT_LT(error, 2e-6);
  EXPECT_TRUE(all_close(outputs[0].data, expected.data, 1e-5f, 1e-5f));
}

TEST(Onnx1d, MatchesNumpyReference) {
  const auto dir = std::filesystem::path(binary_dir()) / "onnx_1d";
  auto made = run_process({python(), source_dir() + "/tests/python/make_1d_onnx.py", "--out-dir", dir.string()});
  ASSERT_EQ(made.exit_code, 0) << made.output;
  std::istringstream names(made.output);
  size_t checked = 0;
  for (std::string name; std::getline(names, name);) {
    if (name.empty()) continue;
    SCOPED_TRACE(name);
    expect_matches_export(dir, name, convert::convert(convert::load_onnx(dir / (name + ".onnx"))));
    ++checked;
  }
  EXPECT_EQ(checked, 12u);
}

// PyTorch's Conv1d with BatchNorm1d and activations after it (tests/python/make_conv1d_fusion_onnx.py):
// the BatchNorm and the activation fuse into the lifted convolution through the Reshapes around
// it, as they do into a 2-D one, and the Reshapes between two lifted ops cancel; the model
// matches PyTorch.
TEST(Onnx1d, BatchNormAndActivationsFuseIntoLiftedConvolutions) {
  const auto dir = std::filesystem::path(binary_dir()) / "onnx_1d_fusion";
  auto made = run_process({python(), source_dir() + "/tests/python/make_conv1d_fusion_onnx.py", "--out-dir",
                           dir.string(), "--seed", "3"});
  ASSERT_EQ(made.exit_code, 0) << made.output;
  // The layers each model must become: a Reshape to 2-D, the convolutions (with what is fused
  // into each) and pools, a Reshape back.
  const std::map<std::string, std::vector<std::string>> expected_layers = {
      {"conv1d_bn_relu", {"Reshape", "Conv2D Relu", "Conv2D Clip(0,6)", "Pool2D", "Conv2D Sigmoid", "Reshape"}},
      {"conv1d_bn_silu", {"Reshape", "Conv2D Silu", "Reshape"}}};
  size_t checked = 0;
  for (const auto& [name, ops] : printed_models(made.output)) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(expected_layers.count(name)) << made.output;
    EXPECT_NE(std::find(ops.begin(), ops.end(), "BatchNormalization"), ops.end());
    const auto result = convert::convert_model(convert::load_onnx(dir / (name + ".onnx")));
    std::vector<std::string> layers;
    for (const auto& node : result.summary.nodes)
      layers.push_back(node.activation.empty() ? node.op : node.op + " " + node.activation);
    EXPECT_EQ(layers, expected_layers.at(name));
    expect_matches_export(dir, name, result.bytes);
    ++checked;
  }
  EXPECT_EQ(checked, expected_layers.size());
}

// A 1-D node of `op` with the given attributes on X [1, 2, 8] (weights [2, 2, 3] for the
// convolutions).
onnx::ModelProto one_d(const std::string& op, const std::string& attribute, const std::vector<int64_t>& values,
                       const std::vector<int64_t>& out) {
  OnnxGraph g;
  g.input("x", {1, 2, 8});
  std::vector<std::string> inputs{"x"};
  if (op == "Conv" || op == "ConvTranspose") {
    g.floats("w", {2, 2, 3}, random_vector(12, 3));
    inputs.push_back("w");
  }
  auto& node = g.node(op, inputs, {"y"}, "the_node");
  if (op != "Conv" && op != "ConvTranspose") ints_attribute(node, "kernel_shape", {3});
  ints_attribute(node, attribute, values);
  g.output("y", out);
  return g.model();
}

TEST(Onnx1d, RefusesAttributesOfAnotherRank) {
  // Each refusal names the node and the attribute (ONNX's shape inference finds most of these).
  const std::vector<std::pair<onnx::ModelProto, std::string>> cases = {
      {one_d("Conv", "pads", {1, 1, 1, 1}, {1, 2, 8}), "pads"},
      {one_d("Conv", "strides", {1, 2}, {1, 2, 6}), "strides"},
      {one_d("ConvTranspose", "output_shape", {1, 2, 10}, {1, 2, 10}), "the_node"},
      {one_d("MaxPool", "dilations", {1, 1}, {1, 2, 6}), "dilations"}};
  for (const auto& [model, attribute] : cases) {
    const std::string error = conversion_refusal(model);
    EXPECT_NE(error.find("the_node"), std::string::npos) << error;
    EXPECT_NE(error.find(attribute), std::string::npos) << error;
  }
}

TEST(OnnxArgMax, RefusesBadAttributesNamingTheNode) {
  auto model = [](const std::string& op, int64_t axis, int64_t keepdims, int64_t last) {
    OnnxGraph g;
    g.input("x", {2, 5});
    auto& node = g.node(op, {"x"}, {"y"}, "the_arg");
    int_attribute(node, "axis", axis);
    int_attribute(node, "keepdims", keepdims);
    int_attribute(node, "select_last_index", last);
    g.output("y", {2, 1}, onnx::TensorProto_DataType_INT64);
    return g.model();
  };
  EXPECT_EQ(conversion_refusal(model("ArgMax", 1, 1, 0)), "(converted)");
  EXPECT_EQ(conversion_refusal(model("ArgMin", -1, 1, 1)), "(converted)");
  for (const auto& bad : {model("ArgMax", 1, 2, 0), model("ArgMax", 1, 1, 5), model("ArgMin", 2, 1, 0)}) {
    const std::string error = conversion_refusal(bad);
    EXPECT_NE(error.find("the_arg"), std::string::npos) << error;
  }
}

TEST(OnnxGather, ComputedIndicesOfAnyShape) {
  // Gather of a [4, 3] activation at ArgMax's [2, 1] indices (keepdims) along axis 0: [2, 1, 3].
  OnnxGraph g;
  g.input("x", {4, 3});
  g.input("s", {2, 6});
  int_attribute(g.node("ArgMax", {"s"}, {"i"}, "arg"), "axis", 1);
  g.node("Gather", {"x", "i"}, {"y"}, "pick");
  g.output("y", {2, 1, 3});
  const auto bytes = convert::convert(g.model());
  const auto x = random_vector(12, 41), s = random_vector(12, 42);
  const auto out = run_model(bytes, {x, s}).at(0);
  ASSERT_EQ(out.shape, (std::vector<int64_t>{2, 1, 3}));
  for (int64_t r = 0; r < 2; ++r) {
    // The row of s's largest element; the arg max uses indices up to 5, so 4 and 5 are clamped to 3.
    int64_t best = 0;
    for (int64_t k = 1; k < 6; ++k)
      if (s[static_cast<size_t>(r * 6 + k)] > s[static_cast<size_t>(r * 6 + best)]) best = k;
    const int64_t row = std::min<int64_t>(best, 3);
    for (int64_t c = 0; c < 3; ++c)
      EXPECT_EQ(out.data[static_cast<size_t>(r * 3 + c)], x[static_cast<size_t>(row * 3 + c)]);
  }
}

}  // namespace
}  // namespace vkbnn::test
