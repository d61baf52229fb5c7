// vkbnn-convert --quantize int8 on small networks built in PyTorch with random weights
// (tests/python/make_int8_onnx.py): the calibrated int8 model must consist of int8 layers (fp32
// only where an op has no int8 form) and stay close to PyTorch's fp32 outputs, with every
// calibration method; --keep-fp32 and bad calibration arguments behave. The error bounds are
// about twice the relative L2 errors observed on lavapipe (given at each bound). On a tensor of
// known values the calibration methods must choose the ranges they promise.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <sstream>

#include "converter/converter.hpp"
#include "support/onnx_graph.hpp"
#include "support/process.hpp"
#include "support/test_support.hpp"
#include "vkbnn/io/npy.hpp"

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

// The model's outputs on the held-out images, run on `on`; with `shaders`, the shaders it ran.
std::vector<float> outputs_on_held_out(const std::string& name, const fs::path& model_path, Context& on,
                                       std::vector<std::string>* shaders = nullptr) {
  const auto input = io::read_npy(exported_dir() / (name + ".input.npy"));
  NetworkOptions options;
  options.poison_arena = true;
  Network network(on, Model::load(model_path), options);
  if (shaders) *shaders = shaders_of(network.layers());
  const size_t images = static_cast<size_t>(input.shape.at(0));
  const size_t in_size = input.data.size() / images;
  std::vector<float> actual;
  for (size_t i = 0; i < images; ++i) {
    auto out = network.run(std::span<const float>(input.data).subspan(i * in_size, in_size));
    actual.insert(actual.end(), out.data.begin(), out.data.end());
  }
  return actual;
}

// Relative L2 error of the model's outputs on the held-out images against PyTorch's fp32 ones.
double error_against_pytorch(const std::string& name, const fs::path& model_path) {
  const auto expected = io::read_npy(exported_dir() / (name + ".expected.npy"));
  const double error = relative_l2(outputs_on_held_out(name, model_path, context()), expected.data);
  std::cout << model_path.filename().string() << ": relative L2 error against PyTorch " << error << "\n";
  ::testing::Test::RecordProperty(model_path.stem().string() + "_relative_l2", std::to_string(error));
  return error;
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
  EXPECT_LT(error_against_pytorch("mbv2", model), 0.01);  // observed 0.0049

  // The whole network on the portable int8 kernels gives the dot-product kernels' results bit for bit.
  std::vector<std::string> fast_shaders, portable_shaders;
  const auto fast = outputs_on_held_out("mbv2", model, context(), &fast_shaders);
  const auto portable = outputs_on_held_out("mbv2", model, portable_context(), &portable_shaders);
  auto ran = [](const std::vector<std::string>& shaders, const char* shader) {
    return std::find(shaders.begin(), shaders.end(), shader) != shaders.end();
  };
  EXPECT_TRUE(ran(fast_shaders, "int8_conv2d_dot"));
  EXPECT_FALSE(ran(fast_shaders, "int8_conv2d"));
  EXPECT_TRUE(ran(portable_shaders, "int8_conv2d"));
  EXPECT_FALSE(ran(portable_shaders, "int8_conv2d_dot"));
  EXPECT_TRUE(all_close(portable, fast, 0.0f, 0.0f));
}

TEST(Int8Quantization, EveryCalibrationMethodWorks) {
  const std::map<std::string, double> bounds = {
      {"minmax", 0.024}, {"percentile", 0.023}, {"entropy", 0.022}, {"mse", 0.02}, {"auto", 0.02}};
  // observed 0.0120,      0.0113,               0.0108,             0.0099,        0.0099
  for (const auto& [method, bound] : bounds) {
    SCOPED_TRACE(method);
    const fs::path model = exported_dir() / ("cnn-int8-" + method + ".vkbnn");
    const auto converted = quantize("cnn", model, {"--calib-method", method, "--calib-count", "20"});
    ASSERT_EQ(converted.exit_code, 0) << converted.output;
    // Max pooling stays int8 and the flatten disappears: the matmul reads the NCHW tensor.
    EXPECT_EQ(count(converted.output, "Int8FullyConnected "), 2u) << converted.output;
    EXPECT_EQ(count(converted.output, "Reshape"), 0u) << converted.output;
    EXPECT_EQ(count(converted.output, "  fp32  "), 0u) << converted.output;
    EXPECT_NE(converted.output.find("calibrated on 20 samples with method " + method), std::string::npos);
    EXPECT_LT(error_against_pytorch("cnn", model), bound);
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
  EXPECT_LT(error_against_pytorch("mixed", model), 0.006);  // observed 0.0028
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
  EXPECT_LT(error_against_pytorch("mbv2", model), 0.009);  // observed 0.0042
}

// Calibration of a tensor whose values the test knows: x -> Conv 1x1 with identity weights
// ("mid", whose output is x) -> Conv 1x1 -> graph output. Returns the table row of "mid".
convert::LayerQuantization calibrated(const std::vector<std::vector<float>>& samples,
                                      convert::CalibrationMethod method) {
  OnnxGraph g;
  g.input("x", {1, 4, 16, 16});
  std::vector<float> identity(16, 0.0f);
  for (size_t c = 0; c < 4; ++c) identity[c * 5] = 1.0f;
  g.floats("identity", {4, 4, 1, 1}, identity);
  g.floats("w", {2, 4, 1, 1}, random_vector(8, 7));
  g.node("Conv", {"x", "identity"}, {"mid"}, "mid");
  g.node("Conv", {"mid", "w"}, {"y"}, "out");
  g.output("y", {1, 2, 16, 16});
  convert::Options options;
  options.quantize.emplace();
  options.quantize->calibration = [&](const Model&) { return samples; };
  options.quantize->method = method;
  const convert::Result result = convert::convert_model(g.model(), options);
  for (const auto& row : result.summary.quantization)
    if (row.node == "mid") return row;
  ADD_FAILURE() << "no int8 layer 'mid' in\n" << convert::format_summary(result.summary);
  return {};
}

// Squared error of quantizing the values with the row's scale and zero point.
double squared_error(const std::vector<float>& values, const convert::LayerQuantization& q) {
  double error = 0;
  for (float v : values) {
    const double level = std::clamp(std::nearbyint(double{v} / q.scale) + q.zero_point, -128.0, 127.0);
    const double d = v - (level - q.zero_point) * static_cast<double>(q.scale);
    error += d * d;
  }
  return error;
}

// 50 samples of N(0, 1) with three outliers of magnitude 35 to 45 on each side: fewer than the
// 0.01% the percentile method clips at each end.
std::vector<std::vector<float>> normal_with_outliers() {
  std::mt19937 rng(11);
  std::normal_distribution<float> normal;
  std::vector<std::vector<float>> samples(50, std::vector<float>(4 * 16 * 16));
  for (auto& s : samples)
    for (auto& v : s) v = normal(rng);
  std::uniform_int_distribution<size_t> sample(0, 49), element(0, 4 * 16 * 16 - 1);
  std::uniform_real_distribution<float> magnitude(35.0f, 45.0f);
  for (int k = 0; k < 6; ++k) samples[sample(rng)][element(rng)] = (k % 2 ? -1.0f : 1.0f) * magnitude(rng);
  return samples;
}

TEST(Int8Quantization, CalibrationMethodsChooseTheirRanges) {
  using Method = convert::CalibrationMethod;
  const auto samples = normal_with_outliers();
  std::vector<float> values;
  for (const auto& s : samples) values.insert(values.end(), s.begin(), s.end());
  std::vector<float> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  const float lo = sorted.front(), hi = sorted.back();

  const std::map<std::string, Method> methods = {{"minmax", Method::MinMax},
                                                 {"percentile", Method::Percentile},
                                                 {"entropy", Method::Entropy},
                                                 {"mse", Method::Mse}};
  std::map<std::string, convert::LayerQuantization> rows;
  std::map<std::string, double> errors;
  for (const auto& [name, method] : methods) {
    rows[name] = calibrated(samples, method);
    errors[name] = squared_error(values, rows[name]);
    EXPECT_EQ(rows[name].method, name);
    std::cout << name << ": [" << rows[name].lo << ", " << rows[name].hi << "], squared error " << errors[name] << "\n";
  }
  // minmax covers every value (to half a step: the zero point is an integer).
  const auto& minmax = rows["minmax"];
  EXPECT_LE(minmax.lo, lo + minmax.scale / 2);
  EXPECT_GE(minmax.hi, hi - minmax.scale / 2);
  EXPECT_NEAR(minmax.scale, (hi - lo) / 255.0f, 1e-5f * minmax.scale);
  // percentile ends at the 0.01% and 99.99% quantiles (to a histogram bin and a step), far inside
  // the outliers.
  const double bin = (hi - lo) / 2048.0;
  const auto quantile = [&](double q) { return sorted[static_cast<size_t>(q * static_cast<double>(sorted.size()))]; };
  const auto& percentile = rows["percentile"];
  EXPECT_NEAR(percentile.hi, quantile(1 - 1e-4), bin + percentile.scale);
  EXPECT_NEAR(percentile.lo, quantile(1e-4), bin + percentile.scale);
  EXPECT_LT(percentile.scale, minmax.scale / 5);
  // entropy and mse clip the outliers too; mse minimises the squared error, so it beats minmax.
  EXPECT_LT(rows["entropy"].scale, minmax.scale / 2);
  EXPECT_LT(rows["mse"].scale, minmax.scale);
  EXPECT_LT(errors["mse"], errors["minmax"]);
  EXPECT_LT(errors["mse"], errors["percentile"]);

  // auto takes one of the four ranges, one whose error is the least (the quantizer measures it on
  // a 2048-bin histogram, hence the 1%).
  const auto automatic = calibrated(samples, Method::Auto);
  ASSERT_TRUE(automatic.method.starts_with("auto:")) << automatic.method;
  const std::string chosen = automatic.method.substr(5);
  std::cout << "auto chose " << chosen << "\n";
  ASSERT_TRUE(rows.count(chosen)) << automatic.method;
  EXPECT_EQ(automatic.scale, rows[chosen].scale);
  EXPECT_EQ(automatic.zero_point, rows[chosen].zero_point);
  for (const auto& [name, error] : errors) EXPECT_LE(squared_error(values, automatic), error * 1.01) << name;

  // Without outliers (uniform values) nothing is worth clipping: percentile keeps the range.
  std::vector<std::vector<float>> uniform;
  for (uint32_t i = 0; i < 50; ++i) uniform.push_back(random_vector(4 * 16 * 16, 100 + i, -2.0f, 3.0f));
  const auto whole = calibrated(uniform, Method::MinMax), kept = calibrated(uniform, Method::Percentile);
  EXPECT_NEAR(kept.scale, whole.scale, 0.002f * whole.scale);
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
