// The on-disk pipeline cache: written after a Network is built, used by the next Context on the
// same device, and ignored (not handed to the driver) when corrupt, truncated or foreign.
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "support/small_models.hpp"
#include "support/test_support.hpp"

namespace vkbnn::test {
namespace {

// The suite's environment (tests/CMakeLists.txt) keeps the caches in the build tree, so that a test
// run writes nothing under $HOME.
TEST(TestEnvironment, CachesLiveInTheBuildTree) {
  const std::string build = std::filesystem::path(binary_dir()).lexically_normal().string() + "/";
  const std::string file = context().pipeline_cache_file().lexically_normal().string();
  EXPECT_EQ(file.rfind(build, 0), 0u) << file << " is outside " << build << " (run the tests through ctest)";
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  ASSERT_NE(xdg, nullptr) << "run the tests through ctest";
  EXPECT_EQ(std::filesystem::path(xdg).lexically_normal().string().rfind(build, 0), 0u) << xdg;
}

class PipelineCache : public ::testing::Test {
 protected:
  void SetUp() override {
    // One directory per test: CTest runs them in parallel.
    dir_ = std::filesystem::path(binary_dir()) / "pipeline_cache_test" /
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
  }

  ContextOptions options() const {
    ContextOptions o;
    o.validation = true;
    o.pipeline_cache_dir = dir_;
    return o;
  }

  // Builds and runs the small classifier on a fresh Context; returns whether its cache was warm.
  bool build_and_run(std::vector<float>* output = nullptr) {
    Context context(options());
    const bool warm = context.pipeline_cache_loaded();
    file_ = context.pipeline_cache_file();
    Network network(context, Model::from_bytes(small_classifier(5)));
    auto y = network.run(random_vector(3 * 9 * 9, 9));
    if (output) *output = y.data;
    EXPECT_EQ(context.validation_message_count(), 0u);
    return warm;
  }

  std::vector<char> bytes() const {
    std::ifstream in(file_, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

  void overwrite(const std::vector<char>& data) const {
    std::ofstream out(file_, std::ios::binary | std::ios::trunc);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
  }

  std::filesystem::path dir_, file_;
};

TEST_F(PipelineCache, IsWrittenAndReusedPerDevice) {
  std::vector<float> cold, warm;
  EXPECT_FALSE(build_and_run(&cold));
  ASSERT_TRUE(std::filesystem::exists(file_)) << file_;
  EXPECT_EQ(file_.parent_path(), dir_);
  EXPECT_TRUE(build_and_run(&warm));
  EXPECT_EQ(cold, warm);
}

TEST_F(PipelineCache, CorruptTruncatedOrForeignFilesAreIgnored) {
  build_and_run();
  const std::vector<char> good = bytes();
  // Our 32-byte header, then at least Vulkan's own (lavapipe keeps nothing else in it).
  ASSERT_GE(good.size(), 64u);

  // Another device's cache, consistent in itself: its pipelineCacheUUID differs, the hash is right.
  std::vector<char> foreign = good;
  foreign[32 + 16] ^= 0x01;
  uint64_t hash = 0xcbf29ce484222325ull;
  for (size_t i = 32; i < foreign.size(); ++i) hash = (hash ^ static_cast<uint8_t>(foreign[i])) * 0x100000001b3ull;
  std::memcpy(foreign.data() + 24, &hash, sizeof hash);

  std::vector<char> flipped = good;
  flipped.back() ^= 0x5A;  // payload no longer matches its hash
  std::vector<char> truncated(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(good.size() / 2));
  std::vector<char> garbage(good.size());
  for (size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>(i * 37 + 11);
  for (const auto& bad : {foreign, flipped, truncated, garbage, std::vector<char>{}}) {
    overwrite(bad);
    std::vector<float> output;
    EXPECT_FALSE(build_and_run(&output));
    EXPECT_FALSE(output.empty());
    // Rewritten whole after the build.
    EXPECT_EQ(bytes(), good);
  }
}

TEST_F(PipelineCache, CanBeTurnedOff) {
  ContextOptions o = options();
  o.pipeline_cache = false;
  Context context(o);
  EXPECT_TRUE(context.pipeline_cache_file().empty());
  Network network(context, Model::from_bytes(small_classifier(5)));
  network.run(random_vector(3 * 9 * 9, 9));
  EXPECT_FALSE(std::filesystem::exists(dir_));
}

}  // namespace
}  // namespace vkbnn::test
