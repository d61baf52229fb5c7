// torchvision networks (ResNet-18, MobileNetV2, SqueezeNet 1.1) with random weights, exported to
// ONNX at test time, converted and run on the engine: outputs must match PyTorch's to 1e-4
// relative L2 error.
#include <filesystem>

#include "npy.hpp"
#include "support/process.hpp"
#include "support/test_support.hpp"

namespace vkbnn::test {
namespace {

class WholeNetwork : public ::testing::TestWithParam<const char*> {};

TEST_P(WholeNetwork, MatchesPyTorch) {
  const std::string name = GetParam();
  const auto dir = std::filesystem::path(binary_dir()) / "whole_networks";
  std::filesystem::create_directories(dir);
  auto exported = run_process({python(), source_dir() + "/tests/python/export_torchvision.py", "--model", name,
                               "--out-dir", dir.string(), "--seed", "1"});
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  const auto model_path = dir / (name + ".vkbnn");
  auto converted = run_process({tool_path("vkbnn-convert"), (dir / (name + ".onnx")).string(), "-o", model_path.string()});
  ASSERT_EQ(converted.exit_code, 0) << converted.output;

  auto input = tools::read_npy(dir / (name + ".input.npy"));
  auto expected = tools::read_npy(dir / (name + ".expected.npy"));
  auto model = Model::load(model_path);
  NetworkOptions options;
  options.poison_arena = true;
  Network network(context(), model, options);
  auto output = network.run(input.data);
  ASSERT_EQ(output.data.size(), expected.data.size());
  double error = relative_l2(output.data, expected.data);
  RecordProperty("relative_l2", std::to_string(error));
  std::cout << name << ": relative L2 error " << error << " over " << output.data.size() << " outputs\n";
  EXPECT_LT(error, 1e-4);
}

// ShuffleNetV2: channel split (Split) and channel shuffle (Reshape, Transpose, Reshape) at run time.
INSTANTIATE_TEST_SUITE_P(Torchvision, WholeNetwork,
                         ::testing::Values("resnet18", "mobilenet_v2", "squeezenet1_1", "shufflenet_v2_x0_5"),
                         [](const auto& param_info) { return std::string(param_info.param); });

}  // namespace
}  // namespace vkbnn::test
