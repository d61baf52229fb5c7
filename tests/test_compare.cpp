// vkbnn-compare end to end: a torch-exported network converted by vkbnn-convert compares clean
// against its ONNX file; a model converted from a copy with one convolution weight changed departs
// exactly at that convolution; bad arguments and bad files exit with status 1.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "vkbnn_model_generated.h"
#include "support/process.hpp"
#include "support/test_support.hpp"
#include "vkbnn/io/npy.hpp"

namespace vkbnn::test {
namespace {

namespace fs = std::filesystem;

fs::path work_dir() { return fs::path(binary_dir()) / "compare"; }

class CompareTool : public ::testing::Test {
 protected:
  // The network is exported and converted once for the suite.
  static void SetUpTestSuite() {
    fs::create_directories(work_dir());
    exported_ = run_process({python(), source_dir() + "/tests/python/make_compare_onnx.py", "--out-dir",
                             work_dir().string(), "--seed", "3"});
    if (exported_.exit_code != 0) return;
    for (const char* name : {"compare", "perturbed", "qdq"}) {
      converted_ = run_process({tool_path("vkbnn-convert"), (work_dir() / (std::string(name) + ".onnx")).string(),
                                "-o", (work_dir() / (std::string(name) + ".vkbnn")).string()});
      if (converted_.exit_code != 0) return;
    }
  }

  void SetUp() override {
    ASSERT_EQ(exported_.exit_code, 0) << exported_.output;
    ASSERT_EQ(converted_.exit_code, 0) << converted_.output;
  }

  static std::string path(const std::string& name) { return (work_dir() / name).string(); }

  // Under the validation layer (a message lands in the output, which then fails to parse as JSON),
  // with the Python that has torch and onnx unless a test names its own.
  static ProcessResult compare(std::vector<std::string> extra) {
    std::vector<std::string> argv = {"env", "VKBNN_VALIDATION=sync", tool_path("vkbnn-compare")};
    if (std::find(extra.begin(), extra.end(), "--python") == extra.end()) argv.insert(argv.end(), {"--python", python()});
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run_process(argv);
  }

  // The JSON report; the process output also holds stderr, empty on success.
  static nlohmann::json report(const ProcessResult& r) {
    try {
      return nlohmann::json::parse(r.output);
    } catch (const nlohmann::json::exception& e) {
      ADD_FAILURE() << e.what() << "\n" << r.output;
      return {};
    }
  }

  static inline ProcessResult exported_, converted_;
};

TEST_F(CompareTool, ConvertedModelComparesClean) {
  const ProcessResult r = compare({path("compare.onnx"), path("compare.vkbnn"), "--json", "--seed", "11"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json j = report(r);
  EXPECT_TRUE(j["first_departure"].is_null());
  const auto& tensors = j["tensors"];
  // Every engine layer's output: 14 layers (3 activations fused, the Constant folded).
  EXPECT_GE(tensors.size(), 12u) << r.output;
  std::set<std::string> ops;
  for (const auto& t : tensors) {
    EXPECT_TRUE(t["within_tolerance"].get<bool>()) << t.dump();
    // fp32 kernels against a float64 reference: observed below 3e-7.
    EXPECT_LT(t["relative_l2"].get<double>(), 1e-5) << t.dump();
    ops.insert(t["onnx_op"].get<std::string>());
  }
  for (const char* op : {"Relu", "MaxPool", "Add", "Conv", "Mul", "Sigmoid", "Concat", "AveragePool", "Gemm", "Softmax"})
    EXPECT_TRUE(ops.count(op)) << op << " not compared:\n" << r.output;
  EXPECT_EQ(tensors.back()["name"], "probs");
  // The ReLUs' inputs are fused into the convolutions: reference values without an engine tensor.
  EXPECT_FALSE(j["not_in_engine"].empty());
}

TEST_F(CompareTool, PerturbedWeightDepartsAtItsConvolution) {
  std::ifstream in(path("perturbed.json"));
  const nlohmann::json expected = nlohmann::json::parse(in);
  const std::set<std::string> departing = expected["departing"];
  const std::set<std::string> before = expected["before"];

  const ProcessResult r = compare({path("compare.onnx"), path("perturbed.vkbnn"), "--json"});
  ASSERT_EQ(r.exit_code, 2) << r.output;
  const nlohmann::json j = report(r);
  ASSERT_TRUE(j["first_departure"].is_string()) << r.output;
  EXPECT_TRUE(departing.count(j["first_departure"].get<std::string>())) << r.output;
  size_t clean = 0;
  for (const auto& t : j["tensors"]) {
    if (t["name"] == j["first_departure"]) {
      EXPECT_FALSE(t["within_tolerance"].get<bool>());
      EXPECT_GT(t["relative_l2"].get<double>(), 1e-2) << t.dump();
      break;
    }
    EXPECT_TRUE(before.count(t["name"].get<std::string>())) << t.dump();
    EXPECT_TRUE(t["within_tolerance"].get<bool>()) << t.dump();
    ++clean;
  }
  EXPECT_GE(clean, 2u) << r.output;

  // The text table marks the same row.
  const ProcessResult text = compare({path("compare.onnx"), path("perturbed.vkbnn")});
  ASSERT_EQ(text.exit_code, 2) << text.output;
  const std::string first = j["first_departure"];
  const size_t marker = text.output.find("<-- first departure");
  ASSERT_NE(marker, std::string::npos) << text.output;
  const size_t line = text.output.rfind('\n', marker);
  EXPECT_NE(text.output.substr(line, marker - line).find(first), std::string::npos) << text.output;
  EXPECT_NE(text.output.find("first departure: '" + first + "'"), std::string::npos) << text.output;

  // A tolerance above the perturbation's effect passes it.
  EXPECT_EQ(compare({path("compare.onnx"), path("perturbed.vkbnn"), "--tol", "10"}).exit_code, 0);
}

// One float of a convolution's weights changed in the .vkbnn file itself.
TEST_F(CompareTool, CorruptedWeightInModelFileDepartsAtItsLayer) {
  std::ifstream in(path("compare.vkbnn"), std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const fb::Model* model = flatbuffers::GetRoot<fb::Model>(bytes.data());
  const std::string layer = "/branch_b/Conv";
  const fb::Node* conv = nullptr;
  for (const fb::Node* node : *model->nodes())
    if (node->name()->str() == layer) conv = node;
  ASSERT_NE(conv, nullptr) << "no node " << layer;
  const fb::Tensor* weight = model->tensors()->Get(conv->inputs()->Get(1));
  ASSERT_EQ(weight->type(), fb::DataType::Float32);
  ASSERT_GE(weight->data()->size(), 16u * sizeof(float));
  float value;
  uint8_t* at = bytes.data() + (weight->data()->data() - bytes.data()) + 13 * sizeof(float);
  std::memcpy(&value, at, sizeof value);
  value += 1.0f;
  std::memcpy(at, &value, sizeof value);
  std::ofstream(path("corrupt.vkbnn"), std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));

  const ProcessResult r = compare({path("compare.onnx"), path("corrupt.vkbnn"), "--json"});
  ASSERT_EQ(r.exit_code, 2) << r.output;
  const nlohmann::json j = report(r);
  size_t clean = 0;
  for (const auto& t : j["tensors"]) {
    if (t["name"] == j["first_departure"]) {
      EXPECT_EQ(t["layer"], layer) << r.output;
      break;
    }
    EXPECT_TRUE(t["within_tolerance"].get<bool>()) << t.dump();
    ++clean;
  }
  // The other branch, computed before it in graph order, is untouched.
  EXPECT_GE(clean, 6u) << r.output;
}

// A model quantized by the converter: int8 layers compare at their int8 tensors, dequantized.
TEST_F(CompareTool, Int8ModelComparesAtItsInt8Tensors) {
  const fs::path dir = work_dir() / "int8";
  const ProcessResult exported =
      run_process({python(), source_dir() + "/tests/python/make_int8_onnx.py", "--out-dir", dir.string()});
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  const std::string onnx = (dir / "mbv2.onnx").string(), model = (dir / "mbv2.vkbnn").string();
  const ProcessResult converted = run_process({tool_path("vkbnn-convert"), onnx, "-o", model, "--quantize", "int8",
                                               "--calib", (dir / "calib.idx").string()});
  ASSERT_EQ(converted.exit_code, 0) << converted.output;
  // A held-out image: a random input outside the calibrated range would saturate.
  const io::NpyArray images = io::read_npy(dir / "mbv2.input.npy");
  const size_t per_image = images.data.size() / static_cast<size_t>(images.shape.at(0));
  std::vector<int64_t> shape = images.shape;
  shape[0] = 1;
  io::write_npy(dir / "one.npy", shape, std::span<const float>(images.data).first(per_image));

  const ProcessResult r = compare({onnx, model, "--input", (dir / "one.npy").string(), "--tol", "0.05", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json j = report(r);
  size_t int8 = 0;
  double worst = 0;
  for (const auto& t : j["tensors"]) {
    const std::string engine = t["engine_tensor"];
    int8 += engine.size() > 5 && engine.substr(engine.size() - 5) == "_int8";
    worst = std::max(worst, t["relative_l2"].get<double>());
  }
  EXPECT_GE(int8, 15u) << r.output;
  // Quantization error, observed 0.3% to 0.9% per tensor: int8 values are compared, not fp32 ones.
  EXPECT_GT(worst, 1e-3) << r.output;
  EXPECT_EQ(compare({onnx, model, "--input", (dir / "one.npy").string(), "--tol", "1e-4"}).exit_code, 2);
}

// A model quantized elsewhere: the reference's QuantizeLinear, QLinearConv and DequantizeLinear
// against the engine's integer kernels, which may differ by one output step (0.05) at a rounding
// tie (half up against half to even).
TEST_F(CompareTool, QdqModelMatchesWithinOneStep) {
  const ProcessResult r = compare({path("qdq.onnx"), path("qdq.vkbnn"), "--json", "--tol", "1e-2"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json j = report(r);
  std::set<std::string> names;
  for (const auto& t : j["tensors"]) {
    names.insert(t["name"].get<std::string>());
    EXPECT_LE(t["max_abs"].get<double>(), 0.05 + 1e-6) << t.dump();
  }
  EXPECT_TRUE(names.count("y") && names.count("out")) << r.output;
}

TEST_F(CompareTool, InputFromNpyFile) {
  const std::vector<float> values = random_vector(3 * 16 * 16, 21);
  const std::vector<int64_t> shape = {1, 3, 16, 16};
  io::write_npy(path("input.npy"), shape, values);
  const ProcessResult r = compare({path("compare.onnx"), path("compare.vkbnn"), "--input", path("input.npy")});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("all within tolerance"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("Vulkan validation:"), std::string::npos) << r.output;

  const std::vector<int64_t> wrong = {1, 3, 16, 15};
  io::write_npy(path("wrong.npy"), wrong, std::vector<float>(3 * 16 * 15, 0.5f));
  const ProcessResult bad = compare({path("compare.onnx"), path("compare.vkbnn"), "--input", path("wrong.npy")});
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_NE(bad.output.find("wrong.npy"), std::string::npos) << bad.output;
}

TEST_F(CompareTool, BadArgumentsAndFilesExitOne) {
  auto expect_error = [](const ProcessResult& r, const std::string& mention) {
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find(mention), std::string::npos) << r.output;
  };
  expect_error(compare({}), "onnx");
  expect_error(compare({path("compare.onnx")}), "model");
  expect_error(compare({path("compare.onnx"), path("compare.vkbnn"), "--tol", "-1"}), "tol");
  expect_error(compare({path("compare.onnx"), path("compare.vkbnn"), "--no-such-flag"}), "no-such-flag");
  expect_error(compare({"/nonexistent/model.onnx", path("compare.vkbnn")}), "/nonexistent/model.onnx");
  expect_error(compare({path("compare.onnx"), "/nonexistent/model.vkbnn"}), "/nonexistent/model.vkbnn");
  expect_error(compare({path("compare.onnx"), path("compare.vkbnn"), "--python", "/nonexistent/python"}),
               "/nonexistent/python");

  const fs::path garbage = work_dir() / "garbage.onnx";
  std::ofstream(garbage, std::ios::binary) << std::string(300, '\xab');
  expect_error(compare({garbage.string(), path("compare.vkbnn")}), "reference");
}

}  // namespace
}  // namespace vkbnn::test
