// vkbnn-convert --quantize int8 on small networks built in PyTorch with random weights
// (tests/python/make_int8_onnx.py): the calibrated int8 model must consist of int8 layers (fp32
// only where an op has no int8 form) and stay close to PyTorch's fp32 outputs, with every
// calibration method; --keep-fp32 and bad calibration arguments behave.
#include <filesystem>
#include <sstream>

#include "npy.hpp"
#include "support/process.hpp"
#include "support/test_support.hpp"

namespace vkbnn::test {
namespace {

namespace fs = std::filesystem;

const fs::path& exported_dir() {
  static const fs::path dir = [] {
    const fs::path d = fs::path(binary_dir()) / "int8_networks";
    fs::create_directories(d);
    auto exported = run_process({python(), source_dir() + "/tests/python/make_int8_onnx.py", "--out-dir", d.string()});
    EXPECT_EQ(exported.exit_code, 0) << exported.output;
    return d;
  }();
  return dir;
}

ProcessResult quantize(const std::string& name, const fs::path& out, std::vector<std::string> extra = {},
                       const std::string& calib = (exported_dir() / "calib.idx").string()) {
  std::vector<std::string> args{tool_path("vkbnn-convert"), (exported_dir() / (name + ".onnx")).string(), "-o",
                                out.string(), "--quantize", "int8", "--calib", calib};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_process(args);
}

// Relative L2 error of the model's outputs on the held-out images against PyTorch's fp32 ones.
double error_against_pytorch(const std::string& name, const fs::path& model_path) {
  const auto input = tools::read_npy(exported_dir() / (name + ".input.npy"));
  const auto expected = tools::read_npy(exported_dir() / (name + ".expected.npy"));
  NetworkOptions options;
  options.poison_arena = true;
  Network network(context(), Model::load(model_path), options);
  const size_t images = static_cast<size_t>(input.shape.at(0));
  const size_t in_size = input.data.size() / images, out_size = expected.data.size() / images;
  std::vector<float> actual;
  for (size_t i = 0; i < images; ++i) {
    auto out = network.run(std::span<const float>(input.data).subspan(i * in_size, in_size));
    EXPECT_EQ(out.data.size(), out_size);
    actual.insert(actual.end(), out.data.begin(), out.data.end());
  }
  return relative_l2(actual, expected.data);
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// The node table's line for `node` (the first line that starts with it).
std::string line_of(const std::string& text, const std::string& node) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);)
    if (line.starts_with(node + " ")) return line;
  return "";
}

TEST(Int8Quantization, MobileNetV2StyleNetworkBecomesInt8AndStaysClose) {
  const fs::path model = exported_dir() / "mbv2-int8.vkbnn";
  const auto converted = quantize("mbv2", model);
  ASSERT_EQ(converted.exit_code, 0) << converted.output;
  // Every conv (stem, 5 blocks x 3, head), the adds of the three residual blocks, the pooling and
  // the classifier are int8; only the graph input is quantized and the logits dequantized.
  EXPECT_EQ(count(converted.output, "Int8Conv2D "), 2u * 17u) << converted.output;  // node table and SQNR table
  EXPECT_EQ(count(converted.output, "Int8Add "), 2u * 3u) << converted.output;
  EXPECT_EQ(count(converted.output, "Int8GlobalAveragePool "), 2u) << converted.output;
  EXPECT_EQ(count(converted.output, "Int8FullyConnected "), 2u) << converted.output;
  EXPECT_EQ(count(converted.output, " Quantize "), 1u) << converted.output;
  EXPECT_EQ(count(converted.output, " Dequantize "), 1u) << converted.output;
  EXPECT_EQ(count(converted.output, "  fp32  "), 0u) << converted.output;
  EXPECT_NE(converted.output.find("SQNR dB"), std::string::npos);
  EXPECT_LT(error_against_pytorch("mbv2", model), 0.05);
}

TEST(Int8Quantization, EveryCalibrationMethodWorks) {
  for (const char* method : {"minmax", "percentile", "entropy", "mse", "auto"}) {
    SCOPED_TRACE(method);
    const fs::path model = exported_dir() / (std::string("cnn-int8-") + method + ".vkbnn");
    const auto converted = quantize("cnn", model, {"--calib-method", method, "--calib-count", "20"});
    ASSERT_EQ(converted.exit_code, 0) << converted.output;
    // Max pooling stays int8 and the flatten disappears: the matmul reads the NCHW tensor.
    EXPECT_EQ(count(converted.output, "Int8FullyConnected "), 2u) << converted.output;
    EXPECT_EQ(count(converted.output, "Reshape"), 0u) << converted.output;
    EXPECT_EQ(count(converted.output, "  fp32  "), 0u) << converted.output;
    EXPECT_NE(converted.output.find("calibrated on 20 samples with method " + std::string(method)), std::string::npos);
    EXPECT_LT(error_against_pytorch("cnn", model), 0.05);
  }
}

// Ops without an int8 form (Concat, average pooling, HardSwish) stay fp32 between int8 layers:
// Dequantize before them, Quantize after, and the whole stays close to PyTorch.
TEST(Int8Quantization, Fp32IslandsBetweenInt8Layers) {
  const fs::path model = exported_dir() / "mixed-int8.vkbnn";
  const auto converted = quantize("mixed", model);
  ASSERT_EQ(converted.exit_code, 0) << converted.output;
  EXPECT_GE(count(converted.output, "Int8Conv2D "), 2u * 8u) << converted.output;
  EXPECT_NE(line_of(converted.output, "/2/Concat").find("  fp32  "), std::string::npos) << converted.output;
  EXPECT_NE(line_of(converted.output, "/3/AveragePool").find("  fp32  "), std::string::npos) << converted.output;
  EXPECT_GE(count(converted.output, " Dequantize "), 3u) << converted.output;
  EXPECT_GE(count(converted.output, " Quantize "), 3u) << converted.output;
  EXPECT_LT(error_against_pytorch("mixed", model), 0.05);
}

TEST(Int8Quantization, KeepFp32LeavesTheNamedLayer) {
  const fs::path model = exported_dir() / "mbv2-keep.vkbnn";
  const auto converted = quantize("mbv2", model, {"--keep-fp32", "/0/0.0/Conv,/9/Gemm"});
  ASSERT_EQ(converted.exit_code, 0) << converted.output;
  const std::string stem = line_of(converted.output, "/0/0.0/Conv"), classifier = line_of(converted.output, "/9/Gemm");
  EXPECT_NE(stem.find(" Conv2D "), std::string::npos) << converted.output;
  EXPECT_NE(stem.find("  fp32  "), std::string::npos) << converted.output;
  EXPECT_NE(classifier.find(" FullyConnected "), std::string::npos) << converted.output;
  EXPECT_NE(classifier.find("  fp32  "), std::string::npos) << converted.output;
  EXPECT_NE(line_of(converted.output, "/6/6.0/Conv").find(" Int8Conv2D "), std::string::npos) << converted.output;
  EXPECT_LT(error_against_pytorch("mbv2", model), 0.05);
}

TEST(Int8Quantization, BadCalibrationArgumentsFailClearly) {
  const fs::path out = exported_dir() / "bad.vkbnn";
  const std::string onnx = (exported_dir() / "cnn.onnx").string();
  auto no_calib = run_process({tool_path("vkbnn-convert"), onnx, "-o", out.string(), "--quantize", "int8"});
  EXPECT_EQ(no_calib.exit_code, 1);
  EXPECT_NE(no_calib.output.find("needs calibration data"), std::string::npos) << no_calib.output;

  auto missing = quantize("cnn", out, {}, "/nonexistent/images");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.output.find("no such file or folder"), std::string::npos) << missing.output;

  const fs::path empty = exported_dir() / "empty-folder";
  fs::create_directories(empty);
  auto no_images = quantize("cnn", out, {}, empty.string());
  EXPECT_EQ(no_images.exit_code, 1);
  EXPECT_NE(no_images.output.find("no images"), std::string::npos) << no_images.output;

  auto not_idx = quantize("cnn", out, {}, onnx);
  EXPECT_EQ(not_idx.exit_code, 1);
  EXPECT_NE(not_idx.output.find("vkbnn-convert: error: "), std::string::npos) << not_idx.output;

  auto unknown_node = quantize("cnn", out, {"--keep-fp32", "no_such_node"});
  EXPECT_EQ(unknown_node.exit_code, 1);
  EXPECT_NE(unknown_node.output.find("no node 'no_such_node'"), std::string::npos) << unknown_node.output;

  auto bad_method = quantize("cnn", out, {"--calib-method", "magic"});
  EXPECT_EQ(bad_method.exit_code, 1);

  auto calib_without_quantize = run_process(
      {tool_path("vkbnn-convert"), onnx, "-o", out.string(), "--calib", (exported_dir() / "calib.idx").string()});
  EXPECT_EQ(calib_without_quantize.exit_code, 1);
  EXPECT_NE(calib_without_quantize.output.find("only with --quantize"), std::string::npos);
}

}  // namespace
}  // namespace vkbnn::test
