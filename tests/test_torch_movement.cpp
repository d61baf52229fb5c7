// PyTorch modules around ConvTranspose2d (every attribute, output_size, fused activations),
// Gather (x[:, 0], index_select, negative indices), pixel_shuffle/pixel_unshuffle, expand,
// repeat, MatMul of computed operands (multi-head attention) and a small torchvision
// VisionTransformer end to end, exported with
// torch.onnx.export by tests/python/make_torch_movement_onnx.py at test time, converted with
// vkbnn-convert and run: each must match PyTorch's output.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>

#include "support/process.hpp"
#include "support/test_support.hpp"
#include "vkbnn/io/npy.hpp"

namespace vkbnn::test {
namespace {

// The op each export must exercise, by the ONNX op it holds (the script prints them).
const std::map<std::string, std::string> kExpectedOps = {
    {"deconv_k4s2p1", "ConvTranspose"},        {"deconv_output_padding", "ConvTranspose"},
    {"deconv_all_attributes", "ConvTranspose"}, {"deconv_depthwise_no_bias", "ConvTranspose"},
    {"deconv_output_size", "ConvTranspose"},   {"class_token", "Gather"},
    {"token_columns", "Gather"},               {"index_select", "Gather"},
    {"last_token", "Gather"},                  {"pixel_shuffle", "DepthToSpace"},
    {"pixel_unshuffle", "Transpose"},          {"expand", "Expand"},
    {"expand_rank", "Expand"},                 {"repeat", "Tile"},
    {"attention", "MatMul"},                   {"batched_matmul", "MatMul"},
    {"vit_tiny", "MatMul"}};

TEST(TorchMovement, ConvertAndMatchPyTorch) {
  const auto dir = std::filesystem::path(binary_dir()) / "torch_movement";
  std::filesystem::create_directories(dir);
  auto made = run_process({python(), source_dir() + "/tests/python/make_torch_movement_onnx.py", "--out-dir",
                           dir.string(), "--seed", "3"});
  ASSERT_EQ(made.exit_code, 0) << made.output;
  std::set<std::string> checked;
  for (const auto& [name, words] : printed_models(made.output)) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(kExpectedOps.count(name)) << "an export the test does not know";
    EXPECT_NE(std::find(words.begin(), words.end(), kExpectedOps.at(name)), words.end()) << made.output;
    auto converted = convert_exported(dir, name);
    ASSERT_EQ(converted.exit_code, 0) << converted.output;
    // A ReLU, LeakyReLU or Sigmoid after a ConvTranspose runs inside it.
    if (name == "deconv_k4s2p1" || name == "deconv_all_attributes" || name == "deconv_depthwise_no_bias") {
      EXPECT_NE(converted.output.find("1 activations fused"), std::string::npos) << converted.output;
    }

    auto expected = io::read_npy(dir / (name + ".expected.npy"));
    const Tensor output = run_exported(dir, name).at(0);
    ASSERT_EQ(output.shape, expected.shape);
    // Copies are exact; the products are within float rounding of PyTorch's (observed on lavapipe:
    // 2.1e-7 relative L2 at most, the small ViT 1.6e-7).
    const double error = relative_l2(output.data, expected.data);
    std::cout << name << ": relative L2 error " << error << "\n";
    EXPECT_LT(error, 2e-6);
    EXPECT_TRUE(all_close(output.data, expected.data, 1e-4f, 1e-5f));
    checked.insert(name);
  }
  std::set<std::string> all;
  for (const auto& [name, op] : kExpectedOps) all.insert(name);
  EXPECT_EQ(checked, all);
}

}  // namespace
}  // namespace vkbnn::test
