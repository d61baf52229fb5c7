// PyTorch modules with ArgMax/ArgMin (a segmentation head's per-pixel class, argmin with
// keepdim), Gather at computed indices (ArgMax feeding Gather: the best box of a TopK-free
// detector head, index_select of the best column, a constant per-class table looked up at the
// predicted class, the class index cast to float beside the box), 1-D convolutions, transposed
// convolutions and pooling (a keyword-spotting CNN) and element-wise ops whose computed operands
// broadcast against each other, exported by tests/python/make_runtime_ops_onnx.py at test time,
// converted with vkbnn-convert and run: each must match PyTorch's outputs, with the int64 ones
// marked integer in the model and the bool ones boolean (vkbnn-run writes them as int64 and bool
// .npy).
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>

#include "support/process.hpp"
#include "support/test_support.hpp"
#include "vkbnn/io/npy.hpp"

namespace vkbnn::test {
namespace {

// The op each export must exercise, by the ONNX op it holds (the script prints them).
const std::map<std::string, std::set<std::string>> kExpectedOps = {
    {"segment_argmax", {"ArgMax"}},
    {"argmin_keepdim", {"ArgMin"}},
    {"best_box", {"ArgMax", "Gather"}},
    {"best_per_row", {"ArgMax", "Gather"}},
    {"class_scale", {"ArgMax", "Gather"}},
    {"detections", {"ArgMax", "Cast", "Concat"}},
    {"keyword_spotter", {"Conv", "ConvTranspose", "MaxPool", "AveragePool"}},
    {"deconv1d_output_size", {"ConvTranspose"}},
    {"broadcast_both", {"ReduceMean", "ReduceMax", "Sub", "Greater", "Div", "LessOrEqual"}}};

std::vector<std::string> split(const std::string& text, char by) {
  std::vector<std::string> parts;
  std::istringstream in(text);
  for (std::string part; std::getline(in, part, by);) parts.push_back(part);
  return parts;
}

TEST(TorchRuntimeOps, ConvertAndMatchPyTorch) {
  const auto dir = std::filesystem::path(binary_dir()) / "torch_runtime_ops";
  std::filesystem::create_directories(dir);
  auto made = run_process({python(), source_dir() + "/tests/python/make_runtime_ops_onnx.py", "--out-dir",
                           dir.string(), "--seed", "7"});
  ASSERT_EQ(made.exit_code, 0) << made.output;
  std::set<std::string> checked;
  for (const auto& [name, words] : printed_models(made.output)) {
    SCOPED_TRACE(name);
    // The output types, then the ONNX ops the export holds.
    ASSERT_FALSE(words.empty()) << made.output;
    const std::set<std::string> ops(words.begin() + 1, words.end());
    ASSERT_TRUE(kExpectedOps.count(name)) << "an export the test does not know";
    for (const auto& op : kExpectedOps.at(name)) EXPECT_TRUE(ops.count(op)) << op << " missing: " << made.output;
    const auto model_path = dir / (name + ".vkbnn");
    auto converted = convert_exported(dir, name);
    ASSERT_EQ(converted.exit_code, 0) << converted.output;

    const std::vector<std::string> types = split(words[0], ',');
    const Model model = Model::load(model_path);
    ASSERT_EQ(model.outputs().size(), types.size());
    const std::vector<Tensor> outputs = run_exported(dir, name);
    ASSERT_EQ(outputs.size(), types.size());
    for (size_t k = 0; k < outputs.size(); ++k) {
      SCOPED_TRACE("output " + std::to_string(k));
      const bool integer = types[k] == "int64", boolean = types[k] == "bool";
      EXPECT_EQ(model.outputs()[k].integer, integer);
      EXPECT_EQ(model.outputs()[k].boolean, boolean);
      const auto expected = io::read_npy(dir / (name + ".expected" + std::to_string(k) + ".npy"));
      EXPECT_EQ(outputs[k].shape, expected.shape);  // best_box's index is a scalar, shape ()
      // Indices are exact; the convolutions are within float rounding of PyTorch's (observed on
      // lavapipe: 1.2e-7 relative L2 at most).
      const double error = relative_l2(outputs[k].data, expected.data);
      std::cout << name << " output " << k << ": relative L2 error " << error << "\n";
      if (integer || boolean) {
        EXPECT_TRUE(all_close(outputs[k].data, expected.data, 0.0f, 0.0f));
      } else if (name == "best_box" || name == "best_per_row" || name == "class_scale" || name == "detections") {
        // Values picked at the indices: PyTorch's within float rounding, the class ids exact.
        EXPECT_TRUE(all_close(outputs[k].data, expected.data, 1e-5f, 1e-6f));
      } else {
        EXPECT_LT(error, 2e-6);
        EXPECT_TRUE(all_close(outputs[k].data, expected.data, 1e-4f, 1e-5f));
      }
    }
    checked.insert(name);
  }
  std::set<std::string> all;
  for (const auto& [name, op] : kExpectedOps) all.insert(name);
  EXPECT_EQ(checked, all);
}

std::vector<char> read_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<char>(std::istreambuf_iterator<char>(in), {});
}

std::string npy_header(const std::vector<char>& bytes) {
  return std::string(bytes.begin(), bytes.begin() + std::min<ptrdiff_t>(128, std::ssize(bytes)));
}

// vkbnn-run --output writes an integer output as int64, a bool one as bool and a float one as
// float32.
TEST(TorchRuntimeOps, RunWritesOutputsInTheirTypes) {
  const auto dir = std::filesystem::path(binary_dir()) / "torch_runtime_ops";
  const auto onnx_path = dir / "best_box.onnx";
  if (!std::filesystem::exists(onnx_path) || !std::filesystem::exists(dir / "broadcast_both.onnx")) {
    auto made = run_process({python(), source_dir() + "/tests/python/make_runtime_ops_onnx.py", "--out-dir",
                             dir.string(), "--seed", "7"});
    ASSERT_EQ(made.exit_code, 0) << made.output;
  }
  const auto model_path = dir / "best_box_run.vkbnn";
  ASSERT_EQ(run_process({tool_path("vkbnn-convert"), onnx_path.string(), "-o", model_path.string()}).exit_code, 0);
  const auto box = dir / "best_box.out0.npy", index = dir / "best_box.out1.npy";
  auto ran = run_process({tool_path("vkbnn-run"), model_path.string(), "--input", (dir / "best_box.input.npy").string(),
                          "--output", box.string(), "--output", index.string()});
  ASSERT_EQ(ran.exit_code, 0) << ran.output;
  const std::vector<char> index_bytes = read_bytes(index);
  EXPECT_NE(npy_header(index_bytes).find("'descr': '<i8'"), std::string::npos) << npy_header(index_bytes);
  int64_t value = -1;
  ASSERT_GE(index_bytes.size(), sizeof(value));
  std::memcpy(&value, index_bytes.data() + index_bytes.size() - sizeof(value), sizeof(value));
  const auto expected = io::read_npy(dir / "best_box.expected1.npy");
  EXPECT_EQ(value, static_cast<int64_t>(expected.data.at(0)));
  // The box comes out of two convolutions, as in the in-process run: float rounding, not bits.
  EXPECT_TRUE(all_close(io::read_npy(box).data, io::read_npy(dir / "best_box.expected0.npy").data, 1e-5f, 1e-6f));

  // broadcast_both's last output is a comparison's bool mask: one byte per value, 0 or 1.
  const auto both_model = dir / "broadcast_both_run.vkbnn";
  ASSERT_EQ(run_process({tool_path("vkbnn-convert"), (dir / "broadcast_both.onnx").string(), "-o",
                         both_model.string()})
                .exit_code,
            0);
  std::vector<std::string> run_both = {tool_path("vkbnn-run"), both_model.string(), "--input",
                                       (dir / "broadcast_both.input.npy").string()};
  for (int k = 0; k < 5; ++k) {
    run_both.push_back("--output");
    run_both.push_back((dir / ("broadcast_both.out" + std::to_string(k) + ".npy")).string());
  }
  ran = run_process(run_both);
  ASSERT_EQ(ran.exit_code, 0) << ran.output;
  const std::vector<char> mask_bytes = read_bytes(dir / "broadcast_both.out4.npy");
  EXPECT_NE(npy_header(mask_bytes).find("'descr': '|b1'"), std::string::npos) << npy_header(mask_bytes);
  const auto expected_mask = io::read_npy(dir / "broadcast_both.expected4.npy");
  ASSERT_GT(mask_bytes.size(), expected_mask.data.size());
  const size_t data_start = mask_bytes.size() - expected_mask.data.size();
  EXPECT_EQ(data_start % 64, 0u);
  size_t trues = 0;
  for (size_t i = 0; i < expected_mask.data.size(); ++i) {
    ASSERT_EQ(mask_bytes[data_start + i], expected_mask.data[i] != 0.0f ? 1 : 0) << "value " << i;
    trues += expected_mask.data[i] != 0.0f;
  }
  EXPECT_GT(trues, 0u);
  EXPECT_LT(trues, expected_mask.data.size());
}

}  // namespace
}  // namespace vkbnn::test
