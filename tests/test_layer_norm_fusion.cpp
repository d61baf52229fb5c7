// Decomposed layer normalizations (PyTorch's opset-13 export and an onnx.helper spelling, built
// by tests/python/make_layer_norm_onnx.py at test time) convert with each normalization fused
// into one LayerNorm and match their references; a near miss is not fused.
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "support/process.hpp"
#include "support/test_support.hpp"
#include "vkbnn/io/npy.hpp"

namespace vkbnn::test {
namespace {

size_t count_of(const std::string& text, const std::string& word) {
  size_t n = 0;
  for (size_t at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) ++n;
  return n;
}

TEST(LayerNormFusion, DecomposedSpellingsFuseAndMatch) {
  const auto dir = std::filesystem::path(binary_dir()) / "layer_norm_fusion";
  std::filesystem::create_directories(dir);
  auto made = run_process({python(), source_dir() + "/tests/python/make_layer_norm_onnx.py", "--out-dir", dir.string()});
  ASSERT_EQ(made.exit_code, 0) << made.output;
  // Fused LayerNorm ops each model must convert to.
  const std::map<std::string, size_t> fused = {{"torch_layer_norm", 2}, {"helper_layer_norm", 1}};
  std::set<std::string> checked;
  std::istringstream lines(made.output);
  for (std::string name; std::getline(lines, name);) {
    if (name.empty()) continue;
    SCOPED_TRACE(name);
    const auto model_path = dir / (name + ".vkbnn");
    auto converted =
        run_process({tool_path("vkbnn-convert"), (dir / (name + ".onnx")).string(), "-o", model_path.string()});
    checked.insert(name);
    if (!fused.count(name)) {
      // Not a layer normalization: left as its ops, which run (or are reported) one by one.
      EXPECT_EQ(count_of(converted.output, " LayerNorm "), 0u) << converted.output;
      if (converted.exit_code != 0) {
        EXPECT_NE(converted.output.find("unsupported op"), std::string::npos) << converted.output;
      }
      continue;
    }
    ASSERT_EQ(converted.exit_code, 0) << converted.output;
    EXPECT_EQ(count_of(converted.output, " LayerNorm "), fused.at(name)) << converted.output;
    auto input = io::read_npy(dir / (name + ".input.npy"));
    auto expected = io::read_npy(dir / (name + ".expected.npy"));
    NetworkOptions options;
    options.poison_arena = true;
    Network network(context(), Model::load(model_path), options);
    auto output = network.run(input.data);
    ASSERT_EQ(output.shape, expected.shape);
    EXPECT_LT(relative_l2(output.data, expected.data), 1e-5) << name;
    EXPECT_TRUE(all_close(output.data, expected.data, 1e-4f, 1e-4f));
  }
  EXPECT_EQ(checked, (std::set<std::string>{"torch_layer_norm", "helper_layer_norm", "helper_not_layer_norm"}));
}

}  // namespace
}  // namespace vkbnn::test
