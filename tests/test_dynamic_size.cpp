// Models converted with --dynamic-size, built for other input sizes at run time
// (NetworkOptions::input_sizes, Model::with_input_sizes, --input-size of the tools). The models are
// PyTorch's, exported by tests/python/make_dynamic_size_onnx.py at test time.
#include <filesystem>
#include <map>
#include <numeric>

#include "converter/converter.hpp"
#include "ops/op.hpp"
#include "support/onnx_graph.hpp"
#include "support/process.hpp"
#include "support/test_support.hpp"
#include "vkbnn/io/npy.hpp"

namespace vkbnn::test {
namespace {

using Shape = std::vector<int64_t>;
namespace fs = std::filesystem;

class DynamicSize : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::path(binary_dir()) / "dynamic_size";
    fs::create_directories(dir_);
    made_ = run_process({python(), source_dir() + "/tests/python/make_dynamic_size_onnx.py", "--out-dir",
                         dir_.string(), "--seed", "7", "--size", "64x64", "--other", "48x80", "--other", "96x96"});
  }
  void SetUp() override { ASSERT_EQ(made_.exit_code, 0) << made_.output; }

  static convert::Options dynamic_size() {
    convert::Options options;
    options.dynamic_size = true;
    return options;
  }
  static Model converted(const std::string& file, const convert::Options& options = {}) {
    return Model::from_bytes(convert::convert(convert::load_onnx(dir_ / file), options), file);
  }

  static inline fs::path dir_;
  static inline ProcessResult made_;
};

std::vector<float> run_poisoned(const Model& model, std::span<const float> input, NetworkOptions options = {},
                                MemoryReport* memory = nullptr) {
  options.poison_arena = true;
  Network network(context(), model, options);
  if (memory) *memory = network.memory();
  return network.run(input).data;
}

// Every op the schema has derives its output shapes at other input sizes: an op added without a
// shape function fails here rather than giving a wrong shape.
TEST(DynamicSizeOps, EveryOpHasAShapeFunction) {
  for (auto type = static_cast<int>(fb::OpParams::MIN) + 1; type <= static_cast<int>(fb::OpParams::MAX); ++type) {
    const auto op = static_cast<fb::OpParams>(type);
    EXPECT_NE(detail::op_kind(op).shapes, nullptr) << fb::EnumNameOpParams(op);
  }
}

// A segmentation net and a global-average-pool classifier converted once at 64x64 run at 48x80
// and 96x96 as the same models converted statically at those sizes do, bit for bit, and as
// PyTorch does.
TEST_F(DynamicSize, FullyConvolutionalModelsRunAtOtherSizes) {
  for (const std::string name : {"fcn", "gap_classifier"}) {
    SCOPED_TRACE(name);
    const Model model = converted(name + ".onnx", dynamic_size());
    EXPECT_TRUE(model.dynamic_size());
    EXPECT_EQ(model.inputs()[0].shape, (Shape{1, 3, 64, 64}));
    uint64_t arena_at_64 = 0;
    for (const auto& [h, w] : std::vector<std::pair<int64_t, int64_t>>{{64, 64}, {48, 80}, {96, 96}}) {
      const std::string size = std::to_string(h) + "x" + std::to_string(w);
      SCOPED_TRACE(size);
      const auto input = io::read_npy(dir_ / (name + "." + size + ".input.npy"));
      const auto expected = io::read_npy(dir_ / (name + "." + size + ".expected.npy"));
      NetworkOptions options;
      options.input_sizes = {{h, w}};
      MemoryReport memory;
      const std::vector<float> output = run_poisoned(model, input.data, options, &memory);
      // The arena is planned for the size: the fcn's activations grow with the image.
      if (h == 64) arena_at_64 = memory.arena_bytes;
      if (name == "fcn" && h == 96) {
        EXPECT_GT(memory.arena_bytes, arena_at_64);
      }
      ASSERT_EQ(output.size(), expected.data.size());

      const Model fixed = converted(name + "." + size + ".onnx");
      EXPECT_FALSE(fixed.dynamic_size());
      EXPECT_EQ(fixed.outputs()[0].shape, model.with_input_sizes({{h, w}}).outputs()[0].shape);
      EXPECT_EQ(output, run_poisoned(fixed, input.data));
      // Float rounding apart from PyTorch's (observed on lavapipe: 1.1e-7 relative L2 at most, the fcn).
      EXPECT_LT(relative_l2(output, expected.data), 1e-6);
      EXPECT_TRUE(all_close(output, expected.data, 1e-4f, 1e-5f));
    }
  }
}

// A Linear on the flattened feature map, and an interpolation to a fixed size, pin the input size:
// --dynamic-size refuses them, naming the node. Without it they convert.
TEST_F(DynamicSize, ModelsThatPinTheSizeAreRefusedNamingTheNode) {
  for (const auto& [file, node] : std::vector<std::pair<std::string, std::string>>{
           {"flatten_fc.onnx", "'/fc/Gemm' (FullyConnected)"}, {"fixed_resize.onnx", "'/Resize' (Resize)"}}) {
    SCOPED_TRACE(file);
    EXPECT_NO_THROW(converted(file));
    expect_error([&] { converted(file, dynamic_size()); }, "--dynamic-size: at the size 128x128, node ");
    expect_error([&] { converted(file, dynamic_size()); }, "it pins the input size; convert it for one size");
    expect_error([&] { converted(file, dynamic_size()); }, node);
  }
}

// Sizes the model cannot run at, or that are no size at all, fail with the reason; so does another
// size for a model converted without --dynamic-size.
TEST_F(DynamicSize, BadSizesAreRefused) {
  const Model model = converted("fcn.onnx", dynamic_size());
  // 50 halves to 25, pools (ceil mode) to 13 and upsamples to 52, which the skip connection's 50
  // does not match.
  expect_error([&] { model.with_input_sizes({{50, 50}}); }, "no longer broadcast");
  expect_error([&] { model.with_input_sizes({{1, 1}}); }, "too small for the 2x2 window");
  expect_error([&] { model.with_input_sizes({{0, 64}}); }, "size 0x64 is out of range");
  expect_error([&] { model.with_input_sizes({{-3, 64}}); }, "out of range");
  expect_error([&] { model.with_input_sizes({{int64_t{1} << 20, int64_t{1} << 20}}); }, "out of range");
  expect_error([&] { model.with_input_sizes({{64}}); }, "has 2 axes after N and C, the size given has 1");
  expect_error([&] { model.with_input_sizes({{64, 64}, {64, 64}}); }, "2 input sizes given for the model's 1 inputs");
  // Within the element limit but beyond what one layer may hold: the loader's checks say so.
  expect_error([&] { model.with_input_sizes({{16384, 16384}}); }, "too large");
  NetworkOptions options;
  options.input_sizes = {{1, 1}};
  expect_error([&] { Network(context(), model, options); }, "too small");
  // The model's own size, and an empty entry, keep it.
  EXPECT_EQ(model.with_input_sizes({{64, 64}}).bytes().data(), model.bytes().data());
  EXPECT_EQ(model.with_input_sizes({{}}).bytes().data(), model.bytes().data());

  const Model fixed = converted("fcn.onnx");
  expect_error([&] { fixed.with_input_sizes({{96, 96}}); }, "converted for input 1x3x64x64 only");
  options.input_sizes = {{96, 96}};
  expect_error([&] { Network(context(), fixed, options); }, "--dynamic-size");
}

// Ceil-mode pooling at odd sizes, where floor and ceil mode differ: the engine follows the mode
// the model records.
TEST(DynamicSizeOps, CeilModePoolingFollowsTheSize) {
  auto pooled = [](int64_t size) {
    OnnxGraph b;
    b.input("x", {1, 2, size, size});
    auto& pool = b.node("MaxPool", {"x"}, {"y"}, "pool");
    ints_attribute(pool, "kernel_shape", {3, 3});
    ints_attribute(pool, "strides", {2, 2});
    int_attribute(pool, "ceil_mode", 1);
    b.output("y", {1, 2, -1, -1});
    return b.model();
  };
  convert::Options options;
  options.dynamic_size = true;
  const Model model = Model::from_bytes(convert::convert(pooled(9), options));
  for (const int64_t size : {int64_t{6}, int64_t{11}, int64_t{14}}) {
    SCOPED_TRACE(size);
    const Model fixed = Model::from_bytes(convert::convert(pooled(size)));
    const auto input = random_vector(static_cast<size_t>(2 * size * size), 71);
    NetworkOptions at;
    at.input_sizes = {{size, size}};
    EXPECT_EQ(model.with_input_sizes({{size, size}}).outputs()[0].shape, fixed.outputs()[0].shape);
    EXPECT_EQ(run_poisoned(model, input, at), run_poisoned(fixed, input));
  }
}

// vkbnn-run, vkbnn-bench and vkbnn-eval take --input-size for such models.
TEST_F(DynamicSize, ToolsTakeInputSize) {
  const fs::path model = dir_ / "fcn.vkbnn";
  auto made = run_process({tool_path("vkbnn-convert"), (dir_ / "fcn.onnx").string(), "-o", model.string(),
                           "--dynamic-size"});
  ASSERT_EQ(made.exit_code, 0) << made.output;
  const fs::path out = dir_ / "fcn.48x80.vkbnn-run.npy";
  auto ran = run_process({tool_path("vkbnn-run"), model.string(), "--input-size", "48x80", "--input",
                          (dir_ / "fcn.48x80.input.npy").string(), "--output", out.string()});
  ASSERT_EQ(ran.exit_code, 0) << ran.output;
  const auto expected = io::read_npy(dir_ / "fcn.48x80.expected.npy");
  const auto output = io::read_npy(out);
  EXPECT_EQ(output.shape, expected.shape);
  EXPECT_TRUE(all_close(output.data, expected.data, 1e-4f, 1e-5f));

  auto bench = run_process({tool_path("vkbnn-bench"), model.string(), "--input-size", "96x96", "--iters", "2",
                            "--warmup", "1"});
  ASSERT_EQ(bench.exit_code, 0) << bench.output;
  EXPECT_NE(bench.output.find("input   x 1x3x96x96"), std::string::npos) << bench.output;
  EXPECT_NE(bench.output.find("1x5x96x96"), std::string::npos) << bench.output;

  // Each tool with what else it needs to start: the size is refused before any of it is read.
  const std::map<std::string, std::vector<std::string>> tools = {
      {"vkbnn-run", {"--input", (dir_ / "fcn.48x80.input.npy").string(), "--output", out.string()}},
      {"vkbnn-bench", {}},
      {"vkbnn-eval", {"--folder", dir_.string()}}};
  for (const auto& [tool, rest] : tools) {
    SCOPED_TRACE(tool);
    auto with = [&, &tool = tool, &rest = rest](const std::string& size) {
      std::vector<std::string> argv{tool_path(tool), model.string(), "--input-size", size};
      argv.insert(argv.end(), rest.begin(), rest.end());
      return run_process(argv);
    };
    auto bad = with("48");
    EXPECT_EQ(bad.exit_code, 1) << bad.output;
    EXPECT_NE(bad.output.find("--input-size: expected HxW"), std::string::npos) << bad.output;
    auto small = with("1x1");
    EXPECT_EQ(small.exit_code, 1) << small.output;
    EXPECT_NE(small.output.find("too small"), std::string::npos) << small.output;
  }
}

}  // namespace
}  // namespace vkbnn::test
