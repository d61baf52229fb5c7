// torchvision networks (ResNet-18, MobileNetV2, SqueezeNet 1.1) with random weights, exported to
// ONNX at test time with their BatchNormalization nodes (the converter folds them), converted and
// run on the engine: outputs must match PyTorch's to 2e-6 relative L2 error. Observed on lavapipe:
// 5.8e-7 (ResNet-18), 6.3e-7 (MobileNetV2), 2.3e-7 (SqueezeNet 1.1, which has no BatchNorm); a
// BatchNorm fold that drops epsilon (1e-5) gives 5.6e-5 and 9.8e-6. Each runs on the device's fast
// kernels and on the portable ones.
#include <algorithm>
#include <filesystem>

#include "support/process.hpp"
#include "support/test_support.hpp"
#include "vkbnn/io/npy.hpp"

namespace vkbnn::test {
namespace {

struct Case {
  const char* name;
  int batchnorms;  // BatchNormalization nodes the converter must fold into convolutions
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class WholeNetwork : public ::testing::TestWithParam<Case> {};

TEST_P(WholeNetwork, MatchesPyTorch) {
  const std::string name = GetParam().name;
  const auto dir = std::filesystem::path(binary_dir()) / "whole_networks";
  std::filesystem::create_directories(dir);
  auto exported = run_process({python(), source_dir() + "/tests/python/export_torchvision.py", "--model", name,
                               "--out-dir", dir.string(), "--seed", "1", "--keep-batchnorm"});
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  const auto model_path = dir / (name + ".vkbnn");
  auto converted = run_process({tool_path("vkbnn-convert"), (dir / (name + ".onnx")).string(), "-o", model_path.string()});
  ASSERT_EQ(converted.exit_code, 0) << converted.output;
  const std::string folded =
      std::string("folded away, ").append(std::to_string(GetParam().batchnorms)).append(" BatchNormalization folded");
  EXPECT_NE(converted.output.find(folded), std::string::npos) << converted.output;

  auto input = io::read_npy(dir / (name + ".input.npy"));
  auto expected = io::read_npy(dir / (name + ".expected.npy"));
  auto model = Model::load(model_path);
  NetworkOptions options;
  options.poison_arena = true;
  // Once with the kernels the device's features select, once on the portable kernels (no
  // subgroups, no integer dot products).
  for (Context* on : {&context(), &portable_context()}) {
    const bool portable = on == &portable_context();
    SCOPED_TRACE(portable ? "portable kernels" : "fast kernels");
    Network network(*on, model, options);
    const auto shaders = shaders_of(network.layers());
    EXPECT_EQ(std::count(shaders.begin(), shaders.end(), "conv2d_subgroup") > 0, !portable);
    EXPECT_EQ(std::count(shaders.begin(), shaders.end(), "conv2d") > 0, portable);
    auto output = network.run(input.data);
    ASSERT_EQ(output.data.size(), expected.data.size());
    double error = relative_l2(output.data, expected.data);
    RecordProperty(portable ? "relative_l2_portable" : "relative_l2", std::to_string(error));
    std::cout << name << (portable ? " (portable kernels)" : "") << ": relative L2 error " << error << " over "
              << output.data.size() << " outputs\n";
    EXPECT_LT(error, 2e-6);
  }
}

// ShuffleNetV2: channel split (Split) and channel shuffle (Reshape, Transpose, Reshape) at run time.
INSTANTIATE_TEST_SUITE_P(Torchvision, WholeNetwork,
                         ::testing::Values(Case{"resnet18", 20}, Case{"mobilenet_v2", 52}, Case{"squeezenet1_1", 0},
                                           Case{"shufflenet_v2_x0_5", 56}),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

}  // namespace
}  // namespace vkbnn::test
