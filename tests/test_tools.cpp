// The command-line tools' helpers (.npy and IDX files, image decoding and preprocessing,
// classification, the profile table) and the tools themselves, run end to end.
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <stb_image_write.h>
#include <zlib.h>

#include "writer/model_writer.hpp"
#include "support/process.hpp"
#include "support/small_models.hpp"
#include "support/test_support.hpp"
#include "tools/profile_table.hpp"
#include "vkbnn/io/classify.hpp"
#include "vkbnn/io/files.hpp"
#include "vkbnn/io/idx.hpp"
#include "vkbnn/io/image_input.hpp"
#include "vkbnn/io/npy.hpp"
#include "vkbnn/vkbnn.hpp"

namespace vkbnn::io {
namespace {

namespace fs = std::filesystem;
using test::expect_error;

// A scratch directory per test, removed afterwards.
class ToolFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("vkbnn_tools_" + std::string(info->name()) + "_" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path path(const std::string& name) const { return dir_ / name; }

  fs::path write(const std::string& name, const std::vector<uint8_t>& bytes) const {
    std::ofstream out(path(name), std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    return path(name);
  }

  fs::path write_gz(const std::string& name, const std::vector<uint8_t>& bytes) const {
    gzFile f = gzopen(path(name).string().c_str(), "wb");
    EXPECT_NE(f, nullptr);
    EXPECT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
    gzclose(f);
    return path(name);
  }

  fs::path dir_;
};

std::vector<uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

// A .npy file with a hand-written header dict, padded the way numpy pads it.
std::vector<uint8_t> npy_with_header(const std::string& dict, size_t payload_bytes, uint8_t major = 1) {
  std::string header = dict;
  const size_t prefix = major == 1 ? 10 : 12;
  while ((prefix + header.size() + 1) % 64) header += ' ';
  header += '\n';
  std::vector<uint8_t> bytes = bytes_of(std::string("\x93NUMPY", 6));
  bytes.push_back(major);
  bytes.push_back(0);
  for (size_t i = 0; i < prefix - 8; ++i) bytes.push_back(static_cast<uint8_t>(header.size() >> (8 * i)));
  bytes.insert(bytes.end(), header.begin(), header.end());
  bytes.resize(bytes.size() + payload_bytes, 0);
  return bytes;
}

TEST_F(ToolFiles, NpyRoundTripsShapesAndValues) {
  const std::vector<std::vector<int64_t>> shapes = {{2, 3}, {5}, {}, {1, 1, 2, 2}, {0, 4}};
  for (const auto& shape : shapes) {
    const auto n = static_cast<size_t>(element_count(shape));
    std::vector<float> data(n);
    for (size_t i = 0; i < n; ++i) data[i] = 0.25f * static_cast<float>(i) - 1.0f;
    const fs::path file = path("a.npy");
    write_npy(file, shape, data);
    EXPECT_EQ(fs::file_size(file) % 64, n * sizeof(float) % 64) << "data must start 64-byte aligned";
    const NpyArray back = read_npy(file);
    EXPECT_EQ(back.shape, shape);
    EXPECT_EQ(back.data, data);
  }
}

TEST(ToolNpy, ReadsVersion2HeadersAndDoubleQuotes) {
  std::vector<uint8_t> bytes =
      npy_with_header("{\"descr\": \"<f4\", \"shape\": (2,), \"fortran_order\": False}", 8, 2);
  const float values[2] = {1.5f, -2.0f};
  std::memcpy(bytes.data() + bytes.size() - 8, values, 8);
  const NpyArray array = parse_npy(bytes, "v2.npy");
  EXPECT_EQ(array.shape, (std::vector<int64_t>{2}));
  EXPECT_EQ(array.data, (std::vector<float>{1.5f, -2.0f}));
}

TEST(ToolNpy, RejectsBadFiles) {
  expect_error([] { parse_npy(bytes_of("not numpy at all"), "x.npy"); }, "not a .npy file");
  expect_error([] { parse_npy(bytes_of(std::string("\x93NUMPY\x01\x00\x40", 9)), "x.npy"); }, "truncated");
  expect_error([] { parse_npy(bytes_of(std::string("\x93NUMPY\x07\x00\x00\x00", 10)), "x.npy"); },
               "version 7.0");
  expect_error([] { parse_npy(npy_with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", 16), "x.npy"); },
               "'<f8'");
  expect_error([] { parse_npy(npy_with_header("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 8), "x.npy"); },
               "'>f4'");
  expect_error([] { parse_npy(npy_with_header("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 16), "x.npy"); },
               "Fortran order");
  expect_error([] { parse_npy(npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 8), "x.npy"); },
               "holds 8 bytes");
  expect_error([] { parse_npy(npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", 8), "x.npy"); },
               "holds 8 bytes");
  expect_error([] { parse_npy(npy_with_header("{'descr': '<f4', 'shape': (1,), }", 4), "x.npy"); }, "lacks");
  expect_error([] { parse_npy(npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (a,), }", 4), "x.npy"); },
               "malformed");
  expect_error([] { read_npy("/nonexistent/dir/x.npy"); }, "cannot open");
}

std::vector<uint8_t> idx_images(uint32_t count, uint32_t rows, uint32_t cols, size_t pixels_present) {
  std::vector<uint8_t> bytes;
  for (uint32_t v : {0x00000803u, count, rows, cols})
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<uint8_t>(v >> shift));
  for (size_t i = 0; i < pixels_present; ++i) bytes.push_back(static_cast<uint8_t>(i * 7));
  return bytes;
}

std::vector<uint8_t> idx_labels(const std::vector<uint8_t>& labels) {
  std::vector<uint8_t> bytes = {0, 0, 8, 1};
  const uint32_t n = static_cast<uint32_t>(labels.size());
  for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<uint8_t>(n >> shift));
  bytes.insert(bytes.end(), labels.begin(), labels.end());
  return bytes;
}

TEST_F(ToolFiles, IdxReadsPlainAndGzip) {
  const std::vector<uint8_t> images = idx_images(3, 4, 5, 60);
  const std::vector<uint8_t> labels = idx_labels({9, 0, 3});
  for (bool gz : {false, true}) {
    const fs::path image_file = gz ? write_gz("i.gz", images) : write("i.idx", images);
    const fs::path label_file = gz ? write_gz("l.gz", labels) : write("l.idx", labels);
    const IdxImages read = read_idx_images(image_file);
    EXPECT_EQ(read.count, 3u);
    EXPECT_EQ(read.rows, 4u);
    EXPECT_EQ(read.cols, 5u);
    ASSERT_EQ(read.pixels.size(), 60u);
    EXPECT_EQ(read.image(2)[1], static_cast<uint8_t>(41 * 7));
    EXPECT_EQ(read_idx_labels(label_file), (std::vector<uint8_t>{9, 0, 3}));
  }
}

TEST_F(ToolFiles, IdxRejectsBadFiles) {
  expect_error([&] { read_idx_images(write("short.idx", idx_images(3, 4, 5, 59))); }, "truncated");
  expect_error([&] { read_idx_images(write_gz("short.gz", idx_images(3, 4, 5, 59))); }, "truncated");
  expect_error([&] { read_idx_images(write("long.idx", idx_images(3, 4, 5, 61))); }, "more data");
  expect_error([&] { read_idx_images(write("header.idx", {0, 0, 8, 3, 0, 0})); }, "truncated in its IDX header");
  expect_error([&] { read_idx_images(write("zero.idx", idx_images(1, 0, 5, 0))); }, "plausible");
  expect_error([&] { read_idx_images(write("labels.idx", idx_labels({1, 2}))); }, "not an IDX images file");
  expect_error([&] { read_idx_labels(write("images.idx", idx_images(1, 1, 1, 1))); }, "not an IDX labels file");
  expect_error([&] { read_idx_images(path("missing.idx")); }, "no such file");
  // A huge count with no data behind it must fail on the data, not on allocating for the count.
  expect_error([&] { read_idx_images(write("huge.idx", idx_images(0xffffffffu, 28, 28, 100))); }, "truncated");

  // A gzip stream cut in the middle.
  std::vector<uint8_t> compressed;
  {
    const fs::path full = write_gz("full.gz", idx_images(50, 28, 28, 50 * 28 * 28));
    std::ifstream in(full, std::ios::binary);
    compressed.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  compressed.resize(compressed.size() / 2);
  expect_error([&] { read_idx_images(write("cut.gz", compressed)); }, "truncated");
}

Image pattern_rgb(int width, int height) {
  Image image{width, height, 3, {}};
  for (int i = 0; i < width * height * 3; ++i) image.pixels.push_back(static_cast<uint8_t>(i * 11 % 256));
  return image;
}

TEST_F(ToolFiles, DecodesGeneratedPngAndBmp) {
  const Image source = pattern_rgb(5, 3);
  const std::string png = path("p.png").string(), bmp = path("p.bmp").string();
  ASSERT_TRUE(stbi_write_png(png.c_str(), 5, 3, 3, source.pixels.data(), 5 * 3));
  ASSERT_TRUE(stbi_write_bmp(bmp.c_str(), 5, 3, 3, source.pixels.data()));
  for (const std::string& file : {png, bmp}) {
    const Image image = load_image(file);
    EXPECT_EQ(image.width, 5);
    EXPECT_EQ(image.height, 3);
    EXPECT_EQ(image.channels, 3);
    EXPECT_EQ(image.pixels, source.pixels) << file;
  }
  const std::vector<uint8_t> gray = {0, 128, 255, 64};
  const std::string gray_png = path("g.png").string();
  ASSERT_TRUE(stbi_write_png(gray_png.c_str(), 2, 2, 1, gray.data(), 2));
  const Image image = load_image(gray_png);
  EXPECT_EQ(image.channels, 1);
  EXPECT_EQ(image.pixels, gray);
}

TEST_F(ToolFiles, RejectsFilesThatAreNotImages) {
  expect_error([&] { load_image(write("notes.png", bytes_of("just some text, not a picture"))); }, "cannot decode");
  expect_error([&] { load_image(write("empty.png", {})); }, "empty");
  expect_error([&] { load_image(path("missing.png")); }, "cannot open");
  expect_error([&] { load_image(dir_); }, "directory");
}

// A real gray PNG whose IHDR chunk is rewritten to declare width x height (its CRC recomputed), so
// that only its pixel data gives it away. Gray, because stb_image itself refuses a header whose
// 8-bit image would exceed 1 GiB, which a 20000 x 20000 colour one does and a gray one does not.
std::vector<uint8_t> png_declaring(const fs::path& scratch, uint32_t width, uint32_t height) {
  const std::vector<uint8_t> small(16 * 16, 77);
  EXPECT_TRUE(stbi_write_png(scratch.string().c_str(), 16, 16, 1, small.data(), 16));
  std::vector<uint8_t> png = read_file(scratch);
  // Signature (8 bytes), then IHDR: length (4), type (4), width and height (big-endian), ..., CRC.
  EXPECT_EQ(std::string(png.begin() + 12, png.begin() + 16), "IHDR");
  for (int i = 0; i < 4; ++i) {
    png[16 + i] = static_cast<uint8_t>(width >> (24 - 8 * i));
    png[20 + i] = static_cast<uint8_t>(height >> (24 - 8 * i));
  }
  const uLong crc = crc32(crc32(0, nullptr, 0), png.data() + 12, 17);
  for (int i = 0; i < 4; ++i) png[29 + i] = static_cast<uint8_t>(crc >> (24 - 8 * i));
  return png;
}

// The 389 KB PNG declaring 20000 x 20000 made vkbnn-run take 2 GB and 14 s; the header is
// all it takes to refuse one, and the cap is exactly kMaxImagePixels.
TEST_F(ToolFiles, RefusesImagesDeclaringTooManyPixels) {
  const fs::path scratch = path("small.png");
  expect_error([&] { load_image(write("huge.png", png_declaring(scratch, 20000, 20000))); },
               "declares 20000x20000 pixels, more than the 33554432");
  expect_error([&] { load_image(write("wide.png", png_declaring(scratch, 8193, 4096))); }, "declares 8193x4096");
  // At the cap the header passes, and the decoder then finds too few pixels for it.
  expect_error([&] { load_image(write("at_cap.png", png_declaring(scratch, 8192, 4096))); }, "cannot decode");
  const Image untouched = load_image(write("same.png", png_declaring(scratch, 16, 16)));
  EXPECT_EQ(untouched.pixels, std::vector<uint8_t>(16 * 16, 77));
}

InputLayout layout(int channels, int height, int width, ChannelOrder order, std::vector<float> mean = {},
                   std::vector<float> std = {}) {
  InputLayout l;
  l.channels = channels;
  l.height = height;
  l.width = width;
  l.order = order;
  l.mean = mean.empty() ? std::vector<float>(static_cast<size_t>(channels), 0.0f) : mean;
  l.std = std.empty() ? std::vector<float>(static_cast<size_t>(channels), 1.0f) : std;
  return l;
}

TEST(ToolPreprocess, NormalisesAndLaysOutCHW) {
  const Image image{2, 1, 3, {255, 0, 51, 0, 102, 255}};
  const std::vector<float> rgb = preprocess(image, layout(3, 1, 2, ChannelOrder::RGB, {0.5f, 0.0f, 0.2f}, {0.5f, 2.0f, 1.0f}));
  const std::vector<float> expected = {1.0f, -1.0f, 0.0f, 0.2f, 0.0f, 0.8f};
  ASSERT_EQ(rgb.size(), expected.size());
  for (size_t i = 0; i < rgb.size(); ++i) EXPECT_NEAR(rgb[i], expected[i], 1e-6f) << i;

  const std::vector<float> bgr = preprocess(image, layout(3, 1, 2, ChannelOrder::BGR));
  EXPECT_NEAR(bgr[0], 0.2f, 1e-6f);  // blue of pixel 0
  EXPECT_NEAR(bgr[1], 1.0f, 1e-6f);  // blue of pixel 1
  EXPECT_NEAR(bgr[4], 1.0f, 1e-6f);  // red of pixel 0
}

TEST(ToolPreprocess, ConvertsChannelCounts) {
  // RGBA drops alpha.
  const Image rgba{1, 1, 4, {255, 0, 0, 7}};
  EXPECT_EQ(preprocess(rgba, layout(3, 1, 1, ChannelOrder::RGB)), (std::vector<float>{1.0f, 0.0f, 0.0f}));
  // Gray replicates into colour.
  const Image gray{1, 1, 1, {51}};
  const std::vector<float> replicated = preprocess(gray, layout(3, 1, 1, ChannelOrder::RGB));
  for (float v : replicated) EXPECT_NEAR(v, 0.2f, 1e-6f);
  // Colour to gray by luminance.
  const Image colour{1, 1, 3, {255, 255, 0}};
  EXPECT_NEAR(preprocess(colour, layout(1, 1, 1, ChannelOrder::Gray))[0], 0.299f + 0.587f, 1e-6f);
  // Gray with alpha keeps the gray.
  const Image gray_alpha{1, 1, 2, {102, 0}};
  EXPECT_NEAR(preprocess(gray_alpha, layout(1, 1, 1, ChannelOrder::Gray))[0], 0.4f, 1e-6f);
}

TEST(ToolPreprocess, ResizesByArea) {
  // Halving averages the pixels it merges; a flat image stays flat at any size.
  const Image two{2, 2, 1, {0, 255, 255, 0}};
  EXPECT_NEAR(preprocess(two, layout(1, 1, 1, ChannelOrder::Gray))[0], 0.5f, 1e-5f);
  const Image flat{7, 5, 1, std::vector<uint8_t>(35, 153)};
  for (float v : preprocess(flat, layout(1, 28, 28, ChannelOrder::Gray))) EXPECT_NEAR(v, 0.6f, 1e-5f);
  for (float v : preprocess(flat, layout(1, 2, 3, ChannelOrder::Gray))) EXPECT_NEAR(v, 0.6f, 1e-5f);
}

TEST_F(ToolFiles, PreprocessesADecodedPng) {
  const std::vector<uint8_t> rgb = {255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255};
  const std::string png = path("q.png").string();
  ASSERT_TRUE(stbi_write_png(png.c_str(), 2, 2, 3, rgb.data(), 6));
  const std::vector<float> gray = preprocess(load_image(png), layout(1, 1, 1, ChannelOrder::Gray, {0.5f}, {0.5f}));
  EXPECT_NEAR(gray[0], ((0.299f + 0.587f + 0.114f + 1.0f) / 4 - 0.5f) / 0.5f, 1e-5f);
}

// A model whose input is an image tensor of `shape`; it only flattens.
Model image_model(const std::vector<int64_t>& shape, const ModelMetadata& meta) {
  convert::ModelWriter w;
  const uint32_t x = w.add_tensor("image", shape);
  const uint32_t y = w.add_tensor("flat", {shape[0], shape[1] * shape[2] * shape[3]});
  w.add_node("flatten", fb::OpParams::Reshape, fb::CreateReshape(w.builder()).Union(), {x}, {y});
  w.set_inputs({x});
  w.set_outputs({y});
  w.set_metadata(meta);
  return Model::from_bytes(w.finish(), "image_model");
}

TEST(ToolPreprocess, ReadsTheLayoutFromTheModel) {
  ModelMetadata meta;
  meta.channel_order = ChannelOrder::BGR;
  meta.mean = {0.5f};
  meta.std = {0.25f};
  const InputLayout l = input_layout(image_model({2, 3, 8, 6}, meta));
  EXPECT_EQ(l.batch, 2);
  EXPECT_EQ(l.channels, 3);
  EXPECT_EQ(l.height, 8);
  EXPECT_EQ(l.width, 6);
  EXPECT_EQ(l.order, ChannelOrder::BGR);
  EXPECT_EQ(l.mean, (std::vector<float>{0.5f, 0.5f, 0.5f}));
  EXPECT_EQ(l.std, (std::vector<float>{0.25f, 0.25f, 0.25f}));

  const InputLayout plain = input_layout(image_model({1, 1, 28, 28}, {}));
  EXPECT_EQ(plain.mean, (std::vector<float>{0.0f}));
  EXPECT_EQ(plain.std, (std::vector<float>{1.0f}));

  ModelMetadata wrong_size;
  wrong_size.input_height = 32;
  wrong_size.input_width = 32;
  expect_error([&] { input_layout(image_model({1, 1, 28, 28}, wrong_size)); }, "metadata says 32x32");
  ModelMetadata wrong_means;
  wrong_means.mean = {0.1f, 0.2f};
  wrong_means.std = {1.0f, 1.0f};
  expect_error([&] { input_layout(image_model({1, 3, 4, 4}, wrong_means)); }, "2 mean values");
  expect_error([&] { input_layout(image_model({1, 4, 4, 4}, {})); }, "4 channels");
}

TEST(ToolClassify, DetectsProbabilitiesAndAppliesSoftmax) {
  EXPECT_TRUE(is_probability_vector(std::vector<float>{0.1f, 0.7f, 0.2f}));
  EXPECT_FALSE(is_probability_vector(std::vector<float>{2.0f, -1.0f, 0.0f}));
  EXPECT_FALSE(is_probability_vector(std::vector<float>{0.1f, 0.1f}));
  EXPECT_FALSE(is_probability_vector(std::vector<float>{NAN, 1.0f}));

  const std::vector<float> kept = to_probabilities(std::vector<float>{0.25f, 0.75f});
  EXPECT_EQ(kept, (std::vector<float>{0.25f, 0.75f}));
  const std::vector<float> p = to_probabilities(std::vector<float>{-2.0f, -2.0f + std::log(3.0f)});
  EXPECT_NEAR(p[0], 0.25f, 1e-6f);
  EXPECT_NEAR(p[1], 0.75f, 1e-6f);
  // Large logits must not overflow.
  EXPECT_EQ(to_probabilities(std::vector<float>{1000.0f, 1000.0f}), (std::vector<float>{0.5f, 0.5f}));
}

TEST(ToolClassify, RanksTopKWithStableTies) {
  const std::vector<float> p = {0.1f, 0.3f, 0.3f, 0.05f, 0.25f};
  const std::vector<Ranked> top = top_k(p, 3);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].index, 1u);
  EXPECT_EQ(top[1].index, 2u);
  EXPECT_EQ(top[2].index, 4u);
  EXPECT_EQ(top_k(p, 10).size(), 5u);

  ModelMetadata meta;
  meta.labels = {"cat", "dog"};
  EXPECT_EQ(class_label(meta, 1), "dog");
  EXPECT_EQ(class_label(meta, 7), "7");
}

TEST(ToolProfile, TableReconcilesWithTheClock) {
  Profile profile;
  profile.layers = {{"conv1", "Conv2D", {1, 8, 28, 28}, 30.0}, {"fc", "FullyConnected", {1, 10}, 10.0}};
  profile.upload_us = 5;
  profile.submit_us = 6;
  profile.wait_us = 50;
  profile.readback_us = 2;
  profile.total_us = 64;
  profile.gpu_us = 45;
  const std::string table = tools::format_profile(profile);
  EXPECT_NE(table.find("conv1"), std::string::npos);
  EXPECT_NE(table.find("1x8x28x28"), std::string::npos);
  EXPECT_NE(table.find("75.0%"), std::string::npos);
  EXPECT_NE(table.find("upload + submit + wait + readback = 63.0 us"), std::string::npos) << table;
  EXPECT_NE(table.find("88.9% of the GPU span"), std::string::npos) << table;

  const nlohmann::ordered_json json = tools::profile_json(profile);
  EXPECT_EQ(json["layers"].size(), 2u);
  EXPECT_DOUBLE_EQ(json["layers_sum_us"].get<double>(), 40.0);
  EXPECT_DOUBLE_EQ(json["layers"][1]["share"].get<double>(), 0.25);
  EXPECT_EQ(shape_string(std::vector<int64_t>{}), "scalar");
}

// The JSON object in a tool's output (stderr may carry progress lines around it).
nlohmann::json json_in(const std::string& output) {
  const size_t begin = output.find('{'), end = output.rfind('}');
  if (begin == std::string::npos || end == std::string::npos) return nullptr;
  return nlohmann::json::parse(output.substr(begin, end - begin + 1));
}

// small_classifier takes [1,3,9,9] with mean 0.5 and std 0.25 and ends in Softmax over 4 classes.
class ToolRuns : public ToolFiles {
 protected:
  void SetUp() override {
    ToolFiles::SetUp();
    model_bytes_ = test::small_classifier(11);
    model_ = write("small.vkbnn", model_bytes_).string();
  }

  std::vector<uint8_t> model_bytes_;
  std::string model_;
};

TEST_F(ToolRuns, RawModeMatchesTheLibrary) {
  const std::vector<float> x = test::random_vector(3 * 9 * 9, 3);
  write_npy(path("x.npy"), std::vector<int64_t>{1, 3, 9, 9}, x);
  const test::ProcessResult r = test::run_process(
      {test::tool_path("vkbnn-run"), model_, "--input", path("x.npy").string(), "--output", path("y.npy").string()});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const NpyArray y = read_npy(path("y.npy"));
  EXPECT_EQ(y.shape, (std::vector<int64_t>{1, 4}));
  const std::vector<Tensor> expected = test::run_model(model_bytes_, {x});
  EXPECT_TRUE(test::all_close(y.data, expected[0].data, 1e-5f, 1e-6f));

  write_npy(path("bad.npy"), std::vector<int64_t>{2, 2}, std::vector<float>(4));
  const test::ProcessResult bad = test::run_process(
      {test::tool_path("vkbnn-run"), model_, "--input", path("bad.npy").string(), "--output", path("y.npy").string()});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.output.find("vkbnn-run: error: "), std::string::npos) << bad.output;
  EXPECT_NE(bad.output.find("1x3x9x9"), std::string::npos) << bad.output;
}

TEST_F(ToolRuns, RunRefusesAnImageDeclaringTooManyPixels) {
  const fs::path huge = write("huge.png", png_declaring(path("small.png"), 20000, 20000));
  const test::ProcessResult r = test::run_process({test::tool_path("vkbnn-run"), model_, huge.string()});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("vkbnn-run: error: '" + huge.string() + "' declares 20000x20000 pixels"), std::string::npos)
      << r.output;
}

TEST_F(ToolRuns, ClassifiesImagesAsJsonWithProfile) {
  Image image = pattern_rgb(13, 7);
  const std::string png = path("in.png").string();
  ASSERT_TRUE(stbi_write_png(png.c_str(), image.width, image.height, 3, image.pixels.data(), image.width * 3));
  const test::ProcessResult r =
      test::run_process({test::tool_path("vkbnn-run"), model_, png, png, "--json", "--top", "2", "--profile"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json report = json_in(r.output);
  ASSERT_EQ(report["images"].size(), 2u) << r.output;

  const Model model = Model::from_bytes(model_bytes_);
  const std::vector<float> input = preprocess(image, input_layout(model));
  const std::vector<float> expected = test::run_model(model_bytes_, {input})[0].data;
  const nlohmann::json& first = report["images"][0];
  const std::vector<float> output = first["output"].get<std::vector<float>>();
  EXPECT_TRUE(test::all_close(output, expected, 1e-5f, 1e-6f));
  // The model ends in Softmax, so its output is already the probabilities.
  EXPECT_EQ(first["probabilities"].get<std::vector<float>>(), output);
  ASSERT_EQ(first["top"].size(), 2u);
  const std::vector<Ranked> top = top_k(expected, 1);
  EXPECT_EQ(first["top"][0]["index"].get<size_t>(), top[0].index);
  EXPECT_EQ(first["top"][0]["label"].get<std::string>(), model.metadata().labels[top[0].index]);

  const nlohmann::json& layers = report["profile"]["layers"];
  ASSERT_EQ(layers.size(), 7u);
  EXPECT_EQ(layers[0]["name"], "conv1");
  EXPECT_EQ(layers[6]["name"], "softmax");
  EXPECT_GT(report["profile"]["total_us"].get<double>(), 0.0);
}

TEST_F(ToolRuns, EvalScoresAnIdxDataset) {
  // Gray 9x9 images; the labels are what the network itself answers for all but one image.
  constexpr uint32_t kCount = 4;
  const std::vector<uint8_t> bytes = idx_images(kCount, 9, 9, kCount * 81);
  write("images.idx", bytes);
  const Model model = Model::from_bytes(model_bytes_);
  const InputLayout l = input_layout(model);
  std::vector<uint8_t> labels;
  for (uint32_t i = 0; i < kCount; ++i) {
    const Image image{9, 9, 1, std::vector<uint8_t>(bytes.begin() + 16 + i * 81, bytes.begin() + 16 + (i + 1) * 81)};
    const std::vector<float> out = test::run_model(model_bytes_, {preprocess(image, l)})[0].data;
    labels.push_back(static_cast<uint8_t>(top_k(out, 4)[i == 0 ? 3 : 0].index));
  }
  write_gz("labels.gz", idx_labels(labels));
  const test::ProcessResult r =
      test::run_process({test::tool_path("vkbnn-eval"), model_, "--images", path("images.idx").string(), "--labels",
                         path("labels.gz").string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json report = json_in(r.output);
  EXPECT_EQ(report["images"].get<size_t>(), kCount);
  EXPECT_DOUBLE_EQ(report["top1"].get<double>(), 0.75);
  EXPECT_FALSE(report.contains("top5")) << "4 classes have no top-5";
  EXPECT_GT(report["images_per_second"].get<double>(), 0.0);
}

// --batch 3 over 4 images (a full batch, then one image with two padding slots), pipelined and
// --blocking: the same scores as one image per run; a fixed-batch model refuses the batch.
TEST_F(ToolRuns, EvalBatchesAndPipelinesRuns) {
  constexpr uint32_t kCount = 4;
  const std::vector<uint8_t> bytes = idx_images(kCount, 9, 9, kCount * 81);
  write("images.idx", bytes);
  const std::vector<uint8_t> dynamic_bytes = test::small_classifier(11, true);
  const std::string dynamic = write("dynamic.vkbnn", dynamic_bytes).string();
  const Model model = Model::from_bytes(dynamic_bytes);
  std::vector<uint8_t> labels;
  for (uint32_t i = 0; i < kCount; ++i) {
    const Image image{9, 9, 1, std::vector<uint8_t>(bytes.begin() + 16 + i * 81, bytes.begin() + 16 + (i + 1) * 81)};
    const std::vector<float> out = test::run_model(dynamic_bytes, {preprocess(image, input_layout(model))})[0].data;
    labels.push_back(static_cast<uint8_t>(top_k(out, 4)[i == 1 ? 2 : 0].index));
  }
  write_gz("labels.gz", idx_labels(labels));
  auto eval = [&](const std::string& file, std::vector<std::string> extra) {
    std::vector<std::string> command = {test::tool_path("vkbnn-eval"), file, "--images", path("images.idx").string(),
                                        "--labels", path("labels.gz").string(), "--json"};
    command.insert(command.end(), extra.begin(), extra.end());
    return test::run_process(command);
  };
  std::vector<nlohmann::json> confusions;
  for (const auto& extra : std::vector<std::vector<std::string>>{{}, {"--batch", "3"}, {"--batch", "3", "--blocking"}}) {
    const test::ProcessResult r = eval(dynamic, extra);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const nlohmann::json report = json_in(r.output);
    EXPECT_EQ(report["images"].get<size_t>(), kCount);
    EXPECT_DOUBLE_EQ(report["top1"].get<double>(), 0.75);
    EXPECT_EQ(report["batch"].get<size_t>(), extra.empty() ? 1u : 3u);
    EXPECT_EQ(report["blocking"].get<bool>(), extra.size() == 3);
    confusions.push_back(report["confusion"]);
  }
  EXPECT_EQ(confusions[1], confusions[0]);
  EXPECT_EQ(confusions[2], confusions[0]);
  const test::ProcessResult fixed = eval(model_, {"--batch", "3"});
  EXPECT_EQ(fixed.exit_code, 1) << fixed.output;
  EXPECT_NE(fixed.output.find("vkbnn-eval: error: "), std::string::npos) << fixed.output;
  EXPECT_NE(fixed.output.find("--dynamic-batch"), std::string::npos) << fixed.output;
}

TEST_F(ToolRuns, BenchReportsEveryLayerAndWritesATrace) {
  const std::string trace = path("trace.json").string();
  const test::ProcessResult r = test::run_process(
      {test::tool_path("vkbnn-bench"), model_, "--iters", "4", "--warmup", "1", "--json", "--trace", trace});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json report = json_in(r.output);
  const nlohmann::json& layers = report["layers"];
  const Model model = Model::from_bytes(model_bytes_);
  ASSERT_EQ(layers.size(), model.node_count()) << r.output;
  EXPECT_EQ(layers[0]["name"], "conv1");
  EXPECT_EQ(layers[0]["precision"], "fp32");
  EXPECT_GT(layers[0]["macs"].get<uint64_t>(), 0u);
  double sum = 0;
  for (const auto& layer : layers) {
    EXPECT_LE(layer["p10_us"].get<double>(), layer["median_us"].get<double>());
    EXPECT_LE(layer["median_us"].get<double>(), layer["p90_us"].get<double>());
    sum += layer["median_us"].get<double>();
  }
  const nlohmann::json& totals = report["totals"];
  EXPECT_NEAR(totals["layers_median_sum_us"].get<double>(), sum, 1e-6 * sum);
  EXPECT_GT(totals["end_to_end_median_us"].get<double>(), 0.0);
  EXPECT_GT(report["load"]["pipelines"].get<uint32_t>(), 0u);

  std::ifstream in(trace);
  const nlohmann::json events = nlohmann::json::parse(in)["traceEvents"];
  std::vector<std::string> traced;
  for (const auto& e : events)
    if (e.value("cat", "") == "layer") {  // not every event has a category
      EXPECT_EQ(e["ph"], "X");
      EXPECT_GE(e["dur"].get<double>(), 0.0);
      traced.push_back(e["name"]);
    }
  ASSERT_EQ(traced.size(), layers.size());
  for (size_t k = 0; k < traced.size(); ++k) EXPECT_EQ(traced[k], layers[k]["name"].get<std::string>());

  const test::ProcessResult bad = test::run_process({test::tool_path("vkbnn-bench"), model_, "--iters", "0"});
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_NE(bad.output.find("--iters: '0' is not a positive integer"), std::string::npos) << bad.output;
}

TEST_F(ToolRuns, InfoDescribesDevicesAndModel) {
  const test::ProcessResult r = test::run_process({test::tool_path("vkbnn-info"), "--json", "--model", model_});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json report = json_in(r.output);
  ASSERT_FALSE(report["devices"].empty());
  EXPECT_FALSE(report["devices"][0]["name"].get<std::string>().empty());
  EXPECT_EQ(report["model"]["nodes"].get<size_t>(), 7u);
  EXPECT_EQ(report["model"]["inputs"][0]["shape"], (std::vector<int64_t>{1, 3, 9, 9}));
  EXPECT_EQ(report["model"]["metadata"]["labels"].size(), 4u);
}

}  // namespace
}  // namespace vkbnn::io
