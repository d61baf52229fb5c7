#include "support/test_support.hpp"

#include "vkbnn/io/npy.hpp"

#include <cmath>
#include <cstdlib>
#include <memory>
#include <random>
#include <sstream>

namespace vkbnn::test {
namespace {

// Owns the shared Context and turns validation messages into test failures.
class VulkanEnvironment : public ::testing::Environment {
 public:
  static Context& get() {
    static std::unique_ptr<Context> context = make(true);
    return *context;
  }
  static Context& get_portable() {
    static std::unique_ptr<Context> context = make(false);
    portable_created_ = true;
    return *context;
  }
  static uint32_t message_count() {
    return get().validation_message_count() + (portable_created_ ? get_portable().validation_message_count() : 0);
  }

 private:
  static std::unique_ptr<Context> make(bool device_features) {
    ContextOptions options;
    options.validation = true;
    options.subgroup_operations = device_features;
    options.integer_dot_product = device_features;
    return std::make_unique<Context>(options);
  }
  static inline bool portable_created_ = false;
};

class ValidationListener : public ::testing::EmptyTestEventListener {
  void OnTestStart(const ::testing::TestInfo&) override { seen_ = count(); }
  void OnTestEnd(const ::testing::TestInfo& info) override {
    uint32_t now = count();
    if (now != seen_)
      ADD_FAILURE() << (now - seen_) << " Vulkan validation message(s) during " << info.name();
  }
  static uint32_t count() { return created_ ? VulkanEnvironment::message_count() : 0; }

 public:
  static inline bool created_ = false;

 private:
  uint32_t seen_ = 0;
};

}  // namespace

Context& context() {
  ValidationListener::created_ = true;
  return VulkanEnvironment::get();
}

Context& portable_context() {
  ValidationListener::created_ = true;
  return VulkanEnvironment::get_portable();
}

std::vector<float> random_vector(size_t count, uint32_t seed, float lo, float hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> values(count);
  for (auto& v : values) v = dist(rng);
  return values;
}

std::vector<int32_t> random_ints(size_t count, uint32_t seed, int32_t lo, int32_t hi) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> dist(lo, hi);
  std::vector<int32_t> values(count);
  for (auto& v : values) v = dist(rng);
  return values;
}

std::vector<Tensor> run_model(const std::vector<uint8_t>& model_bytes,
                              const std::vector<std::vector<float>>& inputs, NetworkOptions options,
                              Context* on, std::vector<LayerInfo>* layers) {
  auto model = Model::from_bytes(model_bytes);
  options.poison_arena = true;
  Network network(on ? *on : context(), model, options);
  if (layers) *layers = network.layers();
  std::vector<std::span<const float>> views(inputs.begin(), inputs.end());
  return network.run(views);
}

std::vector<std::string> shaders_of(const std::vector<LayerInfo>& layers) {
  std::vector<std::string> shaders;
  for (const auto& layer : layers) shaders.insert(shaders.end(), layer.shaders.begin(), layer.shaders.end());
  return shaders;
}

::testing::AssertionResult all_close(std::span<const float> actual, std::span<const float> expected, float rtol,
                                     float atol) {
  if (actual.size() != expected.size())
    return ::testing::AssertionFailure() << "size " << actual.size() << " != expected " << expected.size();
  std::ostringstream report;
  size_t bad = 0;
  for (size_t i = 0; i < actual.size(); ++i) {
    float a = actual[i], e = expected[i];
    // NaN where the reference is NaN (of either sign) matches; a NaN anywhere else does not.
    if (std::isnan(a) && std::isnan(e)) continue;
    if (std::isnan(a) || std::isnan(e) || std::abs(a - e) > atol + rtol * std::abs(e)) {
      if (bad < 8) report << "\n  [" << i << "] got " << a << ", expected " << e;
      ++bad;
    }
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << bad << " of " << actual.size() << " values differ (rtol " << rtol
                                       << ", atol " << atol << "):" << report.str();
}

double relative_l2(std::span<const float> actual, std::span<const float> expected) {
  double diff = 0, norm = 0;
  for (size_t i = 0; i < actual.size() && i < expected.size(); ++i) {
    double d = double(actual[i]) - expected[i];
    diff += d * d;
    norm += double(expected[i]) * expected[i];
  }
  if (actual.size() != expected.size()) return INFINITY;
  return std::sqrt(diff) / std::max(std::sqrt(norm), 1e-30);
}

std::string source_dir() { return VKBNN_SOURCE_DIR; }
std::string binary_dir() { return VKBNN_BINARY_DIR; }

std::vector<Tensor> run_exported(const std::filesystem::path& dir, const std::string& name) {
  const auto input = io::read_npy(dir / (name + ".input.npy"));
  NetworkOptions options;
  options.poison_arena = true;
  Network network(context(), Model::load(dir / (name + ".vkbnn")), options);
  return network.run(std::vector<std::span<const float>>{input.data});
}

}  // namespace vkbnn::test

int main(int argc, char** argv) {
  // What tests/CMakeLists.txt puts in the environment, also for a direct run: the validation layer
  // with its synchronization checks in the tools the tests start and in every Context (unless the
  // environment says otherwise, as the sanitizer run does), and every cache in the build tree
  // rather than under $HOME.
  const std::string cache = vkbnn::test::binary_dir() + "/tests/cache";
  setenv("VKBNN_VALIDATION", "sync", 0);
  setenv("VKBNN_CACHE_DIR", (cache + "/vkbnn").c_str(), 1);
  setenv("XDG_CACHE_HOME", cache.c_str(), 1);
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::UnitTest::GetInstance()->listeners().Append(new vkbnn::test::ValidationListener);
  return RUN_ALL_TESTS();
}
