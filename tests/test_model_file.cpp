#include <filesystem>
#include <fstream>
#include <random>

#include "support/small_models.hpp"
#include "support/test_support.hpp"

namespace vkbnn::test {
namespace {

// A corrupt file must end in a ModelError or, when the damage hit weight values only, in a model
// that runs: never in a crash or another kind of failure.
void load_and_run_or_model_error(std::vector<uint8_t> bytes, const std::string& what) {
  try {
    auto model = Model::from_bytes(std::move(bytes), what);
    Network network(context(), model);
    std::vector<float> input(model.inputs()[0].elements(), 0.5f);
    network.run(input);
  } catch (const ModelError&) {
  }
}

TEST(ModelFile, LoadsAndDescribesAValidModel) {
  auto model = Model::from_bytes(small_classifier(1));
  EXPECT_EQ(model.node_count(), 7u);
  ASSERT_EQ(model.inputs().size(), 1u);
  EXPECT_EQ(model.inputs()[0].shape, (std::vector<int64_t>{1, 3, 9, 9}));
  EXPECT_EQ(model.outputs()[0].shape, (std::vector<int64_t>{1, 4}));
  EXPECT_EQ(model.metadata().labels.size(), 4u);
  EXPECT_EQ(model.metadata().input_height, 9);
  EXPECT_EQ(model.weight_bytes(), (8 * 27 + 8 + 40 + 20 + 4) * sizeof(float));
}

TEST(ModelFile, MissingFileIsAClearError) {
  try {
    Model::load("/nonexistent/model.vkbnn");
    FAIL() << "no error";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("no such model file"), std::string::npos) << e.what();
  }
}

TEST(ModelFile, NonModelFileIsRejected) {
  std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
  EXPECT_THROW(Model::from_bytes(png), ModelError);
  EXPECT_THROW(Model::from_bytes({}), ModelError);
}

TEST(ModelFile, EveryTruncationIsRejected) {
  auto bytes = small_classifier(2);
  for (size_t length = 0; length < bytes.size(); length += std::max<size_t>(1, bytes.size() / 400)) {
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(length));
    EXPECT_THROW(Model::from_bytes(cut), ModelError) << "truncated to " << length << " bytes";
  }
}

TEST(ModelFile, BitFlipsNeverCrash) {
  auto bytes = small_classifier(3);
  std::mt19937 rng(7);
  for (int i = 0; i < 300; ++i) {
    auto damaged = bytes;
    size_t pos = rng() % damaged.size();
    damaged[pos] ^= static_cast<uint8_t>(1u << (rng() % 8));
    load_and_run_or_model_error(std::move(damaged), "flip at " + std::to_string(pos));
  }
}

// The bundled int8 model: Int8 and Int32 tensors, quantization tables and the int8 ops' checks.
// FlatBuffers writes the tables in front of the data they point to, so the flips aim at the
// file's first bytes, where its structure and the int8 parameters live.
TEST(ModelFile, Int8ModelSurvivesBitFlipsAndTruncation) {
  std::ifstream in(source_dir() + "/assets/models/fmnist-cnn-int8.vkbnn", std::ios::binary);
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 16384u);
  EXPECT_NO_THROW(Model::from_bytes(bytes));
  // Every damaged file is verified; building a network (seconds of pipeline compilation on
  // lavapipe) is done for a few of those that pass, enough to see damaged values run.
  std::mt19937 rng(11);
  int ran = 0;
  for (int i = 0; i < 300; ++i) {
    auto damaged = bytes;
    size_t pos = rng() % 16384;
    damaged[pos] ^= static_cast<uint8_t>(1u << (rng() % 8));
    const std::string what = "flip at " + std::to_string(pos);
    try {
      Model::from_bytes(damaged, what);
    } catch (const ModelError&) {
      continue;
    }
    if (ran++ < 6) load_and_run_or_model_error(std::move(damaged), what);
  }
  for (size_t length = 0; length < bytes.size(); length += bytes.size() / 300) {
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(length));
    EXPECT_THROW(Model::from_bytes(cut), ModelError) << "truncated to " << length << " bytes";
  }
}

TEST(ModelFile, LoadsFromDisk) {
  auto path = std::filesystem::path(binary_dir()) / "test_model_file.vkbnn";
  auto bytes = small_classifier(4);
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  auto model = Model::load(path);
  EXPECT_EQ(model.file_bytes(), bytes.size());
}

}  // namespace
}  // namespace vkbnn::test
