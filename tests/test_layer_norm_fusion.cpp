// Normalization models (built by tests/python/make_layer_norm_onnx.py at test time): PyTorch's
// decomposed nn.LayerNorm (opset 13) and its LayerNormalization node (opset 17), an onnx.helper
// spelling of it, two near misses, and group and instance normalizations convert to the expected
// number of fused LayerNorm and GroupNorm ops, and all of them match their references.
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "support/process.hpp"
#include "support/test_support.hpp"
#include "vkbnn/io/npy.hpp"

namespace vkbnn::test {
namespace {

size_t count_of(const std::string& text, const std::string& word) {
  size_t n = 0;
  for (size_t at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) ++n;
  return n;
}

TEST(LayerNormFusion, NormalizationsConvertAndMatch) {
  const auto dir = std::filesystem::path(binary_dir()) / "layer_norm_fusion";
  std::filesystem::create_directories(dir);
  auto made = run_process({python(), source_dir() + "/tests/python/make_layer_norm_onnx.py", "--out-dir", dir.string()});
  ASSERT_EQ(made.exit_code, 0) << made.output;
  struct Expected {
    size_t layer_norms, group_norms;
  };
  // The near misses stay as their ops: no LayerNorm, yet the same outputs.
  const std::map<std::string, Expected> expected_ops = {
      {"torch_layer_norm", {2, 0}},      {"torch_layer_norm_17", {2, 0}},        {"helper_layer_norm", {1, 0}},
      {"helper_not_layer_norm", {0, 0}}, {"helper_not_layer_norm_axis", {0, 0}}, {"torch_group_norm", {0, 3}}};
  std::set<std::string> checked;
  std::istringstream lines(made.output);
  for (std::string name; std::getline(lines, name);) {
    if (name.empty()) continue;
    SCOPED_TRACE(name);
    ASSERT_TRUE(expected_ops.count(name)) << "no expectation for " << name;
    const auto model_path = dir / (name + ".vkbnn");
    auto converted =
        run_process({tool_path("vkbnn-convert"), (dir / (name + ".onnx")).string(), "-o", model_path.string()});
    checked.insert(name);
    ASSERT_EQ(converted.exit_code, 0) << converted.output;
    EXPECT_EQ(count_of(converted.output, " LayerNorm "), expected_ops.at(name).layer_norms) << converted.output;
    EXPECT_EQ(count_of(converted.output, " GroupNorm "), expected_ops.at(name).group_norms) << converted.output;
    auto expected = io::read_npy(dir / (name + ".expected.npy"));
    const Tensor output = run_exported(dir, name).at(0);
    ASSERT_EQ(output.shape, expected.shape);
    EXPECT_LT(relative_l2(output.data, expected.data), 1e-5) << name;
    EXPECT_TRUE(all_close(output.data, expected.data, 1e-4f, 1e-4f));
  }
  std::set<std::string> all;
  for (const auto& [name, ops] : expected_ops) all.insert(name);
  EXPECT_EQ(checked, all);
}

}  // namespace
}  // namespace vkbnn::test
