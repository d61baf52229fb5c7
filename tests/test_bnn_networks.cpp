// Small binarized networks with Elastic-Link, built in PyTorch with random weights
// (tests/python/make_bnn_onnx.py) in every spelling the converter must recognise, exported to ONNX
// at test time, converted and run: the converter must turn them into binary layers (EL fused
// where the block has one) and the engine must match PyTorch up to fp32 rounding: 2e-6 relative L2
// error and 3e-6 per value (observed on lavapipe: 4.6e-8 to 4.4e-7 relative L2, every value within
// 1e-6).
#include <filesystem>
#include <sstream>

#include "support/process.hpp"
#include "support/test_support.hpp"
#include "vkbnn/io/npy.hpp"

namespace vkbnn::test {
namespace {

TEST(BinarizedNetworks, ConvertToBinaryLayersAndMatchPyTorch) {
  const auto dir = std::filesystem::path(binary_dir()) / "bnn_networks";
  std::filesystem::create_directories(dir);
  auto exported = run_process({python(), source_dir() + "/tests/python/make_bnn_onnx.py", "--variant", "all",
                               "--out-dir", dir.string(), "--seed", "3"});
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  std::istringstream names(exported.output);
  std::string name;
  int checked = 0;
  while (std::getline(names, name)) {
    if (name.empty()) continue;
    SCOPED_TRACE(name);
    ++checked;
    const auto model_path = dir / (name + ".vkbnn");
    auto converted =
        run_process({tool_path("vkbnn-convert"), (dir / (name + ".onnx")).string(), "-o", model_path.string()});
    ASSERT_EQ(converted.exit_code, 0) << converted.output;
    EXPECT_NE(converted.output.find("binary layers: "), std::string::npos) << converted.output;
    if (name.starts_with("el_") || name == "prelu") {
      EXPECT_EQ(converted.output.find("(0 with Elastic-Link fused)"), std::string::npos) << converted.output;
    }
    EXPECT_EQ(converted.output.find(" fp32 "), std::string::npos) << "a layer stayed real:\n" << converted.output;

    auto expected = io::read_npy(dir / (name + ".expected.npy"));
    const Tensor output = run_exported(dir, name).at(0);
    ASSERT_EQ(output.data.size(), expected.data.size());
    const double error = relative_l2(output.data, expected.data);
    std::cout << name << ": relative L2 error " << error << "\n";
    EXPECT_LT(error, 2e-6);
    EXPECT_TRUE(all_close(output.data, expected.data, 3e-6f, 3e-6f));
  }
  EXPECT_GE(checked, 15);
}

// training/vkbnn_weights.py reads a converted model back into PyTorch (to continue training the
// bundled BNN and to distil from the bundled fp32 CNN): the networks read back from vkbnn-convert's
// output of randomized originals must compute what those do.
TEST(BinarizedNetworks, TrainingReadsConvertedModelsBack) {
  const auto dir = std::filesystem::path(binary_dir()) / "vkbnn_weights";
  const auto checked = run_process({python(), source_dir() + "/tests/python/check_vkbnn_weights.py", "--converter",
                                    tool_path("vkbnn-convert"), "--out-dir", dir.string()});
  ASSERT_EQ(checked.exit_code, 0) << checked.output;
  EXPECT_NE(checked.output.find("cnn: "), std::string::npos) << checked.output;
  EXPECT_NE(checked.output.find("BatchNorm frozen in training"), std::string::npos) << checked.output;
}

}  // namespace
}  // namespace vkbnn::test
