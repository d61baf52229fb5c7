#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "ops/single_node.hpp"
#include "reference/pad_reference.hpp"
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

// Copies the file and moves the int64 vector that field `field` (a VT_ constant) of the table at
// `table` (inside `original`) points to onto the copy's end, with its elements 8-byte aligned or, when `misalign`, only 4-byte
// aligned: the verifier checks a vector's length word (4 bytes) but not its elements.
std::vector<uint8_t> move_int64_vector(const std::vector<uint8_t>& original, const void* table, uint16_t field,
                                       bool misalign) {
  const size_t table_at = static_cast<const uint8_t*>(table) - original.data();
  std::vector<uint8_t> bytes = original;
  auto read = [&](size_t at, auto value) {
    std::memcpy(&value, bytes.data() + at, sizeof value);
    return value;
  };
  const size_t vtable_at = table_at - read(table_at, int32_t{});
  const size_t field_at = table_at + read(vtable_at + field, uint16_t{});
  const size_t vector_at = field_at + read(field_at, uint32_t{});
  const uint32_t length = read(vector_at, uint32_t{});
  const std::vector<uint8_t> vector(bytes.begin() + static_cast<std::ptrdiff_t>(vector_at),
                                    bytes.begin() + static_cast<std::ptrdiff_t>(vector_at + 4 + 8 * length));
  // Elements start 4 bytes after the length word: length at 4 (mod 8) aligns them.
  while (bytes.size() % 8 != (misalign ? 0u : 4u)) bytes.push_back(0);
  const uint32_t offset = static_cast<uint32_t>(bytes.size() - field_at);
  bytes.insert(bytes.end(), vector.begin(), vector.end());
  std::memcpy(bytes.data() + field_at, &offset, sizeof offset);
  return bytes;
}

TEST(ModelFile, MisalignedShapeIsRejected) {
  const auto bytes = small_classifier(5);
  const auto* tensor = fb::GetModel(bytes.data())->tensors()->Get(0);
  // The same move with the elements aligned gives a model that loads: only the alignment differs.
  const auto moved = Model::from_bytes(move_int64_vector(bytes, tensor, fb::Tensor::VT_SHAPE, false));
  const auto* moved_shape = moved.schema().tensors()->Get(0)->shape();
  EXPECT_EQ(std::vector<int64_t>(moved_shape->begin(), moved_shape->end()),
            std::vector<int64_t>(tensor->shape()->begin(), tensor->shape()->end()));
  EXPECT_TRUE(rejected(move_int64_vector(bytes, tensor, fb::Tensor::VT_SHAPE, true), "misaligned shape"));
}

TEST(ModelFile, MisalignedPadsAreRejected) {
  const auto bytes = single_node_model(
      fb::OpParams::Pad,
      [](flatbuffers::FlatBufferBuilder& b) {
        return fb::CreatePad(b, b.CreateVector<int64_t>({0, 0, 1, 0, 0, 0, 0, 2})).Union();
      },
      {{{1, 2, 3, 4}, {}}}, {1, 2, 4, 6});
  const auto* pad = fb::GetModel(bytes.data())->nodes()->Get(0)->params_as_Pad();
  EXPECT_NO_THROW(Model::from_bytes(move_int64_vector(bytes, pad, fb::Pad::VT_PADS, false)));
  EXPECT_TRUE(rejected(move_int64_vector(bytes, pad, fb::Pad::VT_PADS, true), "misaligned pads"));
}

// A graph of one Pad has no constants, so the weight buffer is uploaded from no packed words.
TEST(ModelFile, ModelWithoutWeightsRuns) {
  const std::vector<int64_t> shape{1, 2, 3, 4}, pads{0, 0, 1, 0, 0, 0, 0, 2};
  const auto bytes = single_node_model(
      fb::OpParams::Pad, [&](auto& b) { return fb::CreatePad(b, b.CreateVector(pads), fb::PadMode::Edge).Union(); },
      {{shape, {}}}, {1, 2, 4, 6});
  EXPECT_EQ(Model::from_bytes(bytes).weight_bytes(), 0u);
  const auto x = random_vector(count_of(shape), 31);
  EXPECT_TRUE(all_close(run_single(bytes, {x}), ref::pad(x, shape, pads, fb::PadMode::Edge, 0.0f), 0.0f, 0.0f));
}

// small_classifier's model with one tensor's value markings changed, through the object API.
std::vector<uint8_t> remarked(uint32_t tensor_index, bool integer, bool boolean) {
  const auto bytes = small_classifier(3);
  auto model = fb::UnPackModel(bytes.data());
  model->tensors.at(tensor_index)->integer = integer;
  model->tensors.at(tensor_index)->boolean = boolean;
  flatbuffers::FlatBufferBuilder b;
  fb::FinishModelBuffer(b, fb::Model::Pack(b, model.get()));
  return {b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize()};
}

TEST(ModelFile, BooleanMarkingsAreChecked) {
  const auto bytes = small_classifier(3);
  const auto* schema = fb::GetModel(bytes.data());
  const uint32_t output = schema->outputs()->Get(0);
  uint32_t constant = 0;
  while (!schema->tensors()->Get(constant)->data()) ++constant;
  const Model marked = Model::from_bytes(remarked(output, false, true));
  EXPECT_TRUE(marked.outputs()[0].boolean);
  EXPECT_FALSE(marked.outputs()[0].integer);
  EXPECT_FALSE(Model::from_bytes(bytes).outputs()[0].boolean);
  EXPECT_TRUE(rejected(remarked(output, true, true), "marked boolean"));
  EXPECT_TRUE(rejected(remarked(constant, false, true), "marked boolean"));
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
