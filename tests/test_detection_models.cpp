// Dense-prediction networks exported from PyTorch at test time, converted and run on the engine:
// a YOLO-style detector (tests/python/make_detector_onnx.py: CSP blocks, SiLU, SPPF, nearest
// Upsample, Concat, a Reshape/Transpose/Sigmoid head that decodes boxes against a grid and
// anchors) and torchvision's DeepLabV3 (dilated MobileNetV3 backbone, ASPP with a global-pool
// branch, bilinear upsampling). Observed on lavapipe: 7.6e-8 and 1.6e-7 relative L2 (the
// detector's two outputs), 3.0e-7 (DeepLabV3 at 64x64). vkbnn-run's raw mode must write the
// outputs a Network returns, bit for bit.
#include <filesystem>

#include "support/process.hpp"
#include "support/test_support.hpp"
#include "vkbnn/io/npy.hpp"

namespace vkbnn::test {
namespace {

namespace fs = std::filesystem;

// Runs the converted model on the exported input, compares each output with PyTorch's, and
// checks that vkbnn-run --input/--output writes the same tensors.
// `summary` is a part of the converter's report the conversion must print.
void expect_matches_pytorch(const fs::path& dir, const std::string& name, const std::vector<std::string>& expected,
                            double tolerance, const std::string& summary = "") {
  const auto model_path = dir / (name + ".vkbnn");
  auto converted = run_process({tool_path("vkbnn-convert"), (dir / (name + ".onnx")).string(), "-o", model_path.string()});
  ASSERT_EQ(converted.exit_code, 0) << converted.output;
  EXPECT_NE(converted.output.find(summary), std::string::npos) << converted.output;

  const std::vector<Tensor> outputs = run_exported(dir, name);
  ASSERT_EQ(outputs.size(), expected.size());

  std::vector<std::string> argv{tool_path("vkbnn-run"), model_path.string(), "--input",
                                (dir / (name + ".input.npy")).string()};
  for (size_t k = 0; k < expected.size(); ++k) {
    fs::remove(dir / (name + ".out" + std::to_string(k) + ".npy"));
    argv.insert(argv.end(), {"--output", (dir / (name + ".out" + std::to_string(k) + ".npy")).string()});
  }
  auto ran = run_process(argv);
  ASSERT_EQ(ran.exit_code, 0) << ran.output;

  for (size_t k = 0; k < expected.size(); ++k) {
    SCOPED_TRACE(expected[k]);
    const auto reference = io::read_npy(dir / expected[k]);
    ASSERT_EQ(outputs[k].shape, reference.shape);
    const double error = relative_l2(outputs[k].data, reference.data);
    std::cout << name << " output " << k << ": relative L2 error " << error << '\n';
    EXPECT_LT(error, tolerance);
    const auto written = io::read_npy(dir / (name + ".out" + std::to_string(k) + ".npy"));
    EXPECT_EQ(written.shape, outputs[k].shape);
    EXPECT_EQ(written.data, outputs[k].data);
  }
}

TEST(DenseNetworks, YoloStyleDetectorMatchesPyTorch) {
  const auto dir = fs::path(binary_dir()) / "detector";
  fs::create_directories(dir);
  auto made = run_process({python(), source_dir() + "/tests/python/make_detector_onnx.py", "--out-dir", dir.string(),
                           "--seed", "2"});
  ASSERT_EQ(made.exit_code, 0) << made.output;
  // Each of the 35 Conv-BatchNorm-SiLU units is one convolution with SiLU (x * Sigmoid(x)) fused.
  expect_matches_pytorch(dir, "detector", {"detector.expected0.npy", "detector.expected1.npy"}, 1e-6,
                         "35 activations fused");
}

TEST(DenseNetworks, DeepLabV3SegmentationMatchesPyTorch) {
  const auto dir = fs::path(binary_dir()) / "segmentation";
  fs::create_directories(dir);
  const std::string name = "deeplabv3_mobilenet_v3_large";
  auto made = run_process({python(), source_dir() + "/tests/python/export_torchvision.py", "--model", name,
                           "--out-dir", dir.string(), "--seed", "1", "--size", "64", "--keep-batchnorm"});
  ASSERT_EQ(made.exit_code, 0) << made.output;
  expect_matches_pytorch(dir, name, {name + ".expected.npy"}, 2e-6);
}

}  // namespace
}  // namespace vkbnn::test
