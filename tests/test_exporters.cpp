// Graphs in the styles of other exporters (tf2onnx, paddle2onnx) and of ONNX's oldest and newest
// opsets, built with onnx.helper by tests/python/make_exporter_onnx.py at test time, converted
// with vkbnn-convert and run: each must match its NumPy reference.
#include <filesystem>
#include <set>

#include "support/process.hpp"
#include "support/test_support.hpp"
#include "vkbnn/io/npy.hpp"

namespace vkbnn::test {
namespace {

TEST(ExporterStyles, ConvertAndMatchNumPy) {
  const auto dir = std::filesystem::path(binary_dir()) / "exporter_styles";
  std::filesystem::create_directories(dir);
  auto made = run_process({python(), source_dir() + "/tests/python/make_exporter_onnx.py", "--out-dir", dir.string()});
  ASSERT_EQ(made.exit_code, 0) << made.output;
  std::set<std::string> checked;
  for (const auto& [name, arguments] : printed_models(made.output)) {
    SCOPED_TRACE(name);
    const auto model_path = dir / (name + ".vkbnn");
    auto converted = convert_exported(dir, name, arguments);
    ASSERT_EQ(converted.exit_code, 0) << converted.output;
    if (name.starts_with("tf2onnx")) {
      // The Transposes around the convolutions cancel; the NHWC input is taken as NCHW.
      EXPECT_EQ(converted.output.find(" Transpose    "), std::string::npos) << converted.output;
      EXPECT_NE(converted.output.find("note: input 'input_1:0' is NHWC 1x12x12x3"), std::string::npos)
          << converted.output;
    }
    if (name.starts_with("paddle2onnx")) {
      EXPECT_NE(converted.output.find("note: 'shape64' is declared INT32 but the graph computes INT64"),
                std::string::npos)
          << converted.output;
    }

    auto input = io::read_npy(dir / (name + ".input.npy"));
    auto expected = io::read_npy(dir / (name + ".expected.npy"));
    NetworkOptions options;
    options.poison_arena = true;
    Network network(context(), Model::load(model_path), options);
    ASSERT_EQ(network.model().inputs().at(0).shape, input.shape);
    auto output = network.run(input.data);
    ASSERT_EQ(output.shape, expected.shape);
    EXPECT_TRUE(all_close(output.data, expected.data, 1e-4f, 1e-5f));
    checked.insert(name);
  }
  EXPECT_EQ(checked, (std::set<std::string>{"tf2onnx_opset11", "tf2onnx_opset13", "paddle2onnx_opset9",
                                            "paddle2onnx_opset11", "onnx_opset7", "onnx_opset17"}));
}

}  // namespace
}  // namespace vkbnn::test
