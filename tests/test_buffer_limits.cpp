// Networks whose buffers exceed what one binding may span (NetworkOptions::max_buffer_range
// lowers the device's limit, so that small models exercise what VGG's weights need on lavapipe's
// 128 MiB): weights go into several buffers, every layer's into one it binds alone where its
// neighbours' would make it straddle two, and the outputs are those of the unsplit network bit
// for bit. What cannot be split fails before anything is allocated, naming the sizes.
#include <cstring>
#include <filesystem>

#include "support/process.hpp"
#include "support/small_models.hpp"
#include "support/test_support.hpp"
#include "vkbnn/io/npy.hpp"

namespace vkbnn::test {
namespace {

namespace fs = std::filesystem;

struct Limited {
  std::vector<float> output;
  MemoryReport memory;
};

Limited run_limited(const Model& model, std::span<const float> input, uint64_t max_buffer_range) {
  NetworkOptions options;
  options.poison_arena = true;
  options.max_buffer_range = max_buffer_range;
  Network network(context(), model, options);
  auto out = network.run(input);
  return {std::move(out.data), network.memory()};
}

// Runs `model` whole and with bindings just above its activations: the same bits, over at
// least as many weight buffers as the weights need at that size.
void expect_split_matches(const Model& model, std::span<const float> input) {
  const Limited whole = run_limited(model, input, 0);
  const uint64_t limit = (whole.memory.arena_bytes + 64 + 1023) / 1024 * 1024;
  const Limited split = run_limited(model, input, limit);
  std::cout << "weights " << whole.memory.weight_bytes << " bytes, activations " << whole.memory.arena_bytes
            << " bytes; with " << limit << "-byte bindings: " << split.memory.weight_buffers << " weight buffers\n";
  EXPECT_EQ(whole.memory.weight_buffers, 1u);
  EXPECT_GE(split.memory.weight_buffers, (whole.memory.weight_bytes + limit - 1) / limit);
  ASSERT_EQ(split.output.size(), whole.output.size());
  EXPECT_EQ(std::memcmp(split.output.data(), whole.output.data(), whole.output.size() * sizeof(float)), 0)
      << "the split network computes other bits";
}

const fs::path& int8_dir() {
  static const fs::path dir = [] {
    const fs::path d = fs::path(binary_dir()) / "buffer_limits_int8";
    fs::create_directories(d);
    auto exported = run_process({python(), source_dir() + "/tests/python/make_int8_onnx.py", "--out-dir", d.string()});
    EXPECT_EQ(exported.exit_code, 0) << exported.output;
    return d;
  }();
  return dir;
}

std::vector<float> first_image(const fs::path& npy) {
  auto images = io::read_npy(npy);
  const size_t size = images.data.size() / static_cast<size_t>(images.shape.at(0));
  return {images.data.begin(), images.data.begin() + static_cast<std::ptrdiff_t>(size)};
}

// MobileNetV2-like blocks (1x1 and depthwise convolutions, residual adds, a classifier) in fp32
// and quantized to int8.
TEST(BufferLimits, Fp32AndInt8NetworksSplitTheirWeights) {
  const fs::path onnx = int8_dir() / "mbv2.onnx", fp32 = int8_dir() / "mbv2.vkbnn",
                 int8 = int8_dir() / "mbv2.int8.vkbnn";
  auto converted = run_process({tool_path("vkbnn-convert"), onnx.string(), "-o", fp32.string()});
  ASSERT_EQ(converted.exit_code, 0) << converted.output;
  converted = run_process({tool_path("vkbnn-convert"), onnx.string(), "-o", int8.string(), "--quantize", "int8",
                           "--calib", (int8_dir() / "calib.idx").string()});
  ASSERT_EQ(converted.exit_code, 0) << converted.output;
  const auto input = first_image(int8_dir() / "mbv2.input.npy");
  {
    SCOPED_TRACE("fp32");
    expect_split_matches(Model::load(fp32), input);
  }
  {
    SCOPED_TRACE("int8");
    expect_split_matches(Model::load(int8), input);
  }
}

// Binary convolutions with their scales and Elastic-Link, between real-valued layers.
TEST(BufferLimits, BinaryNetworksSplitTheirWeights) {
  const fs::path dir = fs::path(binary_dir()) / "buffer_limits_bnn";
  fs::create_directories(dir);
  for (const std::string name : {"chain_no_el", "el_expand_tile"}) {
    SCOPED_TRACE(name);
    auto exported = run_process({python(), source_dir() + "/tests/python/make_bnn_onnx.py", "--variant", name,
                                 "--out-dir", dir.string(), "--seed", "5"});
    ASSERT_EQ(exported.exit_code, 0) << exported.output;
    const fs::path model = dir / (name + ".vkbnn");
    auto converted = run_process({tool_path("vkbnn-convert"), (dir / (name + ".onnx")).string(), "-o", model.string()});
    ASSERT_EQ(converted.exit_code, 0) << converted.output;
    expect_split_matches(Model::load(model), io::read_npy(dir / (name + ".input.npy")).data);
  }
}

TEST(BufferLimits, ActivationsBeyondOneBindingFailBeforeAllocating) {
  const auto model = Model::from_bytes(small_classifier(3));
  NetworkOptions options;
  options.max_buffer_range = 1024;
  expect_error([&] { Network(context(), model, options); },
               "exceed NetworkOptions::max_buffer_range (1024 bytes): a smaller batch or input needs less");
  EXPECT_THROW(Network(context(), model, options), MemoryLimitError);
}

TEST(BufferLimits, DeviceMemoryIsCheckedBeforeAllocating) {
  const auto model = Model::from_bytes(small_classifier(3));
  NetworkOptions options;
  options.max_device_memory = 4096;
  try {
    Network network(context(), model, options);
    ADD_FAILURE() << "a 4 KiB limit admitted the network";
  } catch (const MemoryLimitError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("the network needs "), std::string::npos) << what;
    for (const char* part : {"weights ", "activations ", "staging ", "more than NetworkOptions::max_device_memory (4096 bytes)"})
      EXPECT_NE(what.find(part), std::string::npos) << what;
  }
  // Without the option the device's budget (or heap) admits it.
  options.max_device_memory = 0;
  Network fits(context(), model, options);
  EXPECT_EQ(fits.memory().weight_buffers, 1u);
}

TEST(BufferLimits, RejectsATinyBufferRange) {
  NetworkOptions options;
  options.max_buffer_range = 100;
  expect_error([&] { Network(context(), Model::from_bytes(small_classifier(3)), options); },
               "NetworkOptions::max_buffer_range is 100 bytes; it must be 0 (the device's limit) or at least 1024");
}

}  // namespace
}  // namespace vkbnn::test
