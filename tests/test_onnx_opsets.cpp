// The ops whose signatures differ between ONNX opsets, in each spelling from opset 7 to 18 (18's
// rewritten into 17 by vkbnn-convert), built with onnx.helper by tests/python/make_opset_onnx.py
// at test time, converted with vkbnn-convert and run: each must match its NumPy reference.
#include <filesystem>
#include <map>
#include <set>

#include "support/process.hpp"
#include "support/test_support.hpp"
#include "vkbnn/io/npy.hpp"

namespace vkbnn::test {
namespace {

class OnnxOpsets : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::filesystem::create_directories(dir());
    auto made = run_process({python(), source_dir() + "/tests/python/make_opset_onnx.py", "--out-dir", dir().string()});
    ASSERT_EQ(made.exit_code, 0) << made.output;
    models_ = printed_models(made.output);
  }
  static std::filesystem::path dir() { return std::filesystem::path(binary_dir()) / "onnx_opsets"; }
  static std::vector<PrintedModel> models_;
};
std::vector<PrintedModel> OnnxOpsets::models_;

TEST_F(OnnxOpsets, EverySpellingMatchesNumPy) {
  std::set<std::string> checked;
  for (const auto& model : models_) {
    if (!model.words.empty() && model.words[0] == "refused") continue;
    SCOPED_TRACE(model.name);
    auto converted = convert_exported(dir(), model.name);
    ASSERT_EQ(converted.exit_code, 0) << converted.output;
    const std::string note = "note: the model was read as ONNX opset 17 after rewriting ";
    if (model.name.ends_with("opset18")) {
      ASSERT_EQ(model.words.size(), 1u);
      const std::string count = model.words[0].substr(std::string("rewrites=").size());
      EXPECT_NE(converted.output.find(note + count + " opset-18 node"), std::string::npos) << converted.output;
    } else {
      EXPECT_EQ(converted.output.find(note), std::string::npos) << converted.output;
    }
    auto expected = io::read_npy(dir() / (model.name + ".expected.npy"));
    auto output = run_exported(dir(), model.name).at(0);
    ASSERT_EQ(output.shape, expected.shape);
    EXPECT_TRUE(all_close(output.data, expected.data, 1e-5f, 1e-5f));
    checked.insert(model.name);
  }
  EXPECT_EQ(checked, (std::set<std::string>{"reduce_opset18", "split_opset18", "resize_opset18", "pad_opset18",
                                            "mish_opset18", "scatter_opset18", "clip_opset7", "clip_opset11", "clip_opset13",
                                            "pad_opset7", "pad_opset11", "split_opset7", "split_opset11",
                                            "split_opset13", "squeeze_opset11", "squeeze_opset13", "resize_opset10",
                                            "resize_opset11", "resize_opset13", "reducesum_opset11",
                                            "reducesum_opset13"}));
}

TEST_F(OnnxOpsets, WhatOpset17CannotSayIsRefusedByName) {
  const std::map<std::string, std::vector<std::string>> fragments = {
      {"resize_antialias_opset18", {"antialias=1 with mode=linear", "op 'Resize' at node 'shrink'", "antialias=0"}},
      {"reduce_computed_axes_opset18", {"axes computed in the graph", "op 'ReduceMean' at node 'mean'"}},
      {"groupnorm_opset18", {"GroupNormalization"}},
      {"relu_opset19", {"the model uses ONNX opset 19", "reads opsets up to 18", "export the model with opset 18"}}};
  std::set<std::string> checked;
  for (const auto& model : models_) {
    if (model.words.empty() || model.words[0] != "refused") continue;
    SCOPED_TRACE(model.name);
    auto converted = convert_exported(dir(), model.name);
    // 1 is vkbnn-convert's refusal; a crash or an abort exits otherwise.
    EXPECT_EQ(converted.exit_code, 1) << converted.output;
    for (const auto& fragment : fragments.at(model.name))
      EXPECT_NE(converted.output.find(fragment), std::string::npos) << converted.output;
    EXPECT_FALSE(std::filesystem::exists(dir() / (model.name + ".vkbnn")));
    checked.insert(model.name);
  }
  EXPECT_EQ(checked.size(), fragments.size());
}

}  // namespace
}  // namespace vkbnn::test
