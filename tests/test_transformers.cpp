// What the vision transformers need beyond the CNNs: Mod and ScatterND on constants folded with
// ONNX's semantics (graphs and NumPy references from tests/python/make_fold_onnx.py); Swin's
// shifted windows (torch.roll, the region mask, relative position bias, patch merging) and
// MaxViT's einsum attention end to end against PyTorch (tests/python/make_transformer_onnx.py),
// all written at test time, converted with vkbnn-convert and run.
#include <filesystem>
#include <iostream>
#include <map>
#include <set>

#include "support/process.hpp"
#include "support/test_support.hpp"
#include "vkbnn/io/npy.hpp"

namespace vkbnn::test {
namespace {

void convert(const std::filesystem::path& dir, const std::string& name) {
  auto converted = convert_exported(dir, name);
  ASSERT_EQ(converted.exit_code, 0) << converted.output;
}

TEST(Transformers, ModAndScatterNDFoldLikeNumPy) {
  const auto dir = std::filesystem::path(binary_dir()) / "transformers_fold";
  std::filesystem::create_directories(dir);
  auto made = run_process({python(), source_dir() + "/tests/python/make_fold_onnx.py", "--out-dir", dir.string(),
                           "--seed", "5"});
  ASSERT_EQ(made.exit_code, 0) << made.output;
  std::set<std::string> checked;
  for (const auto& [name, words] : printed_models(made.output)) {
    SCOPED_TRACE(name);
    // ScatterND has no lowering, so its cases convert only when it folds; Mod's fold must agree
    // with NumPy as exactly as its run-time form does.
    ASSERT_NO_FATAL_FAILURE(convert(dir, name));
    const auto expected = io::read_npy(dir / (name + ".expected.npy"));
    const Tensor output = run_exported(dir, name).at(0);
    ASSERT_EQ(output.shape, expected.shape);
    // x + folded value: one float addition, as NumPy rounds it.
    EXPECT_TRUE(all_close(output.data, expected.data, 0.0f, 0.0f));
    checked.insert(name);
  }
  EXPECT_EQ(checked, (std::set<std::string>{"mod_int64", "mod_int64_fmod", "mod_int32", "mod_float",
                                            "scatter_nd_slabs", "scatter_nd_rows", "scatter_nd_elements",
                                            "scatter_nd_add", "scatter_nd_mul"}));
}

// The ONNX ops each export must hold.
const std::map<std::string, std::vector<std::string>> kTransformerOps = {
    {"shifted_windows", {"Mod", "ScatterND"}},
    {"swin_tiny", {"Mod", "ScatterND", "Dropout"}},
    {"einsum_attention", {"Einsum"}},
    {"maxvit_tiny", {"Einsum"}}};

TEST(Transformers, SwinAndMaxVitBlocksMatchPyTorch) {
  const auto dir = std::filesystem::path(binary_dir()) / "transformers";
  std::filesystem::create_directories(dir);
  auto made = run_process({python(), source_dir() + "/tests/python/make_transformer_onnx.py", "--out-dir",
                           dir.string(), "--seed", "2"});
  ASSERT_EQ(made.exit_code, 0) << made.output;
  std::set<std::string> checked;
  for (const auto& [name, words] : printed_models(made.output)) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(kTransformerOps.count(name)) << "an export the test does not know";
    const std::set<std::string> ops(words.begin(), words.end());
    for (const std::string& op : kTransformerOps.at(name)) EXPECT_TRUE(ops.count(op)) << op << " in " << made.output;
    ASSERT_NO_FATAL_FAILURE(convert(dir, name));
    const auto expected = io::read_npy(dir / (name + ".expected.npy"));
    const Tensor output = run_exported(dir, name).at(0);
    ASSERT_EQ(output.shape, expected.shape);
    const double error = relative_l2(output.data, expected.data);
    std::cout << name << ": relative L2 error " << error << "\n";
    // Observed on lavapipe: 2.8e-7 at most (shifted_windows; swin_tiny 3.9e-8, einsum_attention
    // 8.6e-8, maxvit_tiny 1.3e-7).
    EXPECT_LT(error, 2e-6);
    EXPECT_TRUE(all_close(output.data, expected.data, 1e-4f, 1e-5f));
    checked.insert(name);
  }
  std::set<std::string> all;
  for (const auto& entry : kTransformerOps) all.insert(entry.first);
  EXPECT_EQ(checked, all);
}

}  // namespace
}  // namespace vkbnn::test
