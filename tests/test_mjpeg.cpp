// The MJPEG camera-frame decoder (vkbnn/io/mjpeg.hpp) on JPEGs encoded here, against stb_image's
// decode of the same bytes, and on damaged data.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <stb_image.h>
#include <stb_image_write.h>

#include "vkbnn/error.hpp"
#include "vkbnn/io/mjpeg.hpp"

#if VKBNN_HAVE_TURBOJPEG
#include <turbojpeg.h>
#endif

#include "support/test_support.hpp"

namespace vkbnn::io {
namespace {

using test::expect_error;

// A camera-like picture: smooth colour gradients, a few hard edges and sensor noise.
std::vector<uint8_t> scene(int width, int height, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.0f, 4.0f);
  std::vector<uint8_t> rgb(size_t(width) * height * 3);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      const bool box = x > width / 3 && x < width / 2 && y > height / 4 && y < height * 3 / 4;
      const float base[3] = {255.0f * x / width, 255.0f * y / height, box ? 230.0f : 60.0f + 40.0f * std::sin(x * 0.2f)};
      for (int c = 0; c < 3; ++c)
        rgb[(size_t(y) * width + x) * 3 + c] = static_cast<uint8_t>(std::clamp(base[c] + noise(rng), 0.0f, 255.0f));
    }
  return rgb;
}

std::vector<uint8_t> stb_jpeg(const std::vector<uint8_t>& rgb, int width, int height, int quality) {
  std::vector<uint8_t> out;
  auto sink = [](void* context, void* data, int size) {
    auto* bytes = static_cast<std::vector<uint8_t>*>(context);
    bytes->insert(bytes->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
  };
  EXPECT_TRUE(stbi_write_jpg_to_func(sink, &out, width, height, 3, rgb.data(), quality));
  return out;
}

// stb_image's decode of the same bytes: the independent reference.
std::vector<uint8_t> stb_decode(const std::vector<uint8_t>& jpeg, int width, int height) {
  int w = 0, h = 0, n = 0;
  stbi_uc* pixels = stbi_load_from_memory(jpeg.data(), static_cast<int>(jpeg.size()), &w, &h, &n, 3);
  EXPECT_NE(pixels, nullptr) << stbi_failure_reason();
  EXPECT_EQ(w, width);
  EXPECT_EQ(h, height);
  std::vector<uint8_t> out(pixels, pixels + size_t(w) * h * 3);
  stbi_image_free(pixels);
  return out;
}

// Largest and mean absolute difference per channel value.
std::pair<int, double> difference(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  int worst = 0;
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const int d = std::abs(int(a[i]) - int(b[i]));
    worst = std::max(worst, d);
    sum += d;
  }
  return {worst, sum / static_cast<double>(a.size())};
}

#if VKBNN_HAVE_TURBOJPEG

// libjpeg-turbo's encoder with the chroma subsampling webcams use (4:2:2) and others.
std::vector<uint8_t> turbo_jpeg(const std::vector<uint8_t>& rgb, int width, int height, int subsampling) {
  tjhandle handle = tjInitCompress();
  unsigned char* data = nullptr;
  unsigned long size = 0;
  const int rc = tjCompress2(handle, rgb.data(), width, width * 3, height, TJPF_RGB, &data, &size, subsampling, 85, 0);
  EXPECT_EQ(rc, 0) << tjGetErrorStr2(handle);
  std::vector<uint8_t> out(data, data + size);
  tjFree(data);
  tjDestroy(handle);
  return out;
}

TEST(Mjpeg, DecodesLikeStbImage) {
  ASSERT_TRUE(jpeg_decoder_available());
  struct Case {
    std::string name;
    std::vector<uint8_t> jpeg;
    int width, height;
  };
  std::vector<Case> cases;
  // Odd sizes exercise the partial blocks at the right and bottom edges.
  for (auto [w, h] : {std::pair{160, 120}, std::pair{97, 45}}) {
    const std::vector<uint8_t> rgb = scene(w, h, static_cast<uint32_t>(w));
    cases.push_back({"stb q90 " + std::to_string(w), stb_jpeg(rgb, w, h, 90), w, h});
    cases.push_back({"stb q95 " + std::to_string(w), stb_jpeg(rgb, w, h, 95), w, h});
    cases.push_back({"turbo 4:2:2 " + std::to_string(w), turbo_jpeg(rgb, w, h, TJSAMP_422), w, h});
    cases.push_back({"turbo 4:2:0 " + std::to_string(w), turbo_jpeg(rgb, w, h, TJSAMP_420), w, h});
    cases.push_back({"turbo 4:4:4 " + std::to_string(w), turbo_jpeg(rgb, w, h, TJSAMP_444), w, h});
  }
  for (const Case& c : cases) {
    const Image image = decode_jpeg_rgb(c.jpeg, c.name);
    EXPECT_EQ(image.width, c.width) << c.name;
    EXPECT_EQ(image.height, c.height) << c.name;
    ASSERT_EQ(image.channels, 3) << c.name;
    const auto [worst, mean] = difference(image.pixels, stb_decode(c.jpeg, c.width, c.height));
    // The decoders differ in IDCT rounding (up to 3 levels seen) and, more, in how they upsample
    // 4:2:2 chroma (up to 13 seen, on the 97-pixel-wide image; 0.21 on average).
    const bool h2v1 = c.name.find("4:2:2") != std::string::npos;
    EXPECT_LE(worst, h2v1 ? 16 : 4) << c.name;
    EXPECT_LT(mean, h2v1 ? 0.3 : 0.15) << c.name;
  }
}

TEST(Mjpeg, RefusesDamagedData) {
  const int w = 64, h = 48;
  const std::vector<uint8_t> jpeg = turbo_jpeg(scene(w, h, 3), w, h, TJSAMP_422);
  expect_error([&] { decode_jpeg_rgb({}, "frame 1"); }, "frame 1: empty");
  expect_error([&] { decode_jpeg_rgb(std::vector<uint8_t>(500, 0x5A), "frame 2"); }, "frame 2: not a JPEG");
  // Cut in the entropy-coded data, or before it starts.
  for (size_t keep : {jpeg.size() / 2, jpeg.size() - 2})
    expect_error([&] { decode_jpeg_rgb(std::span(jpeg.data(), keep), "torn"); }, "torn: corrupt JPEG data");
  for (size_t keep : {size_t(200), size_t(20)})
    expect_error([&] { decode_jpeg_rgb(std::span(jpeg.data(), keep), "header only"); }, "header only: ");

  // The pixel cap, from the header: one pixel under the image, and a header claiming 65500 x
  // 65500 (4.3 G pixels) that must fail before any allocation.
  expect_error([&] { decode_jpeg_rgb(jpeg, "capped", uint64_t(w) * h - 1); }, "64x48 exceeds the limit of 3071 pixels");
  EXPECT_EQ(decode_jpeg_rgb(jpeg, "exact", uint64_t(w) * h).pixels.size(), size_t(w) * h * 3);
  std::vector<uint8_t> huge = jpeg;
  size_t sof = 0;
  for (size_t i = 0; i + 8 < huge.size(); ++i)
    if (huge[i] == 0xFF && (huge[i + 1] == 0xC0 || huge[i + 1] == 0xC2)) {
      sof = i;
      break;
    }
  ASSERT_GT(sof, 0u) << "no SOF marker";
  // SOF: FF Cx, length (2), precision (1), height (2), width (2).
  ASSERT_EQ(huge[sof + 5] * 256 + huge[sof + 6], h);
  huge[sof + 5] = huge[sof + 7] = 0xFF;
  huge[sof + 6] = huge[sof + 8] = 0xDC;
  expect_error([&] { decode_jpeg_rgb(huge, "huge"); }, "65500x65500 exceeds the limit");

  // Damage anywhere in the stream: an error or a frame of the declared size, never a crash.
  std::mt19937 rng(9);
  int refused = 0;
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<uint8_t> bad = jpeg;
    for (int k = 0; k < 4; ++k) bad[rng() % bad.size()] = static_cast<uint8_t>(rng());
    try {
      const Image image = decode_jpeg_rgb(bad, "damaged");
      EXPECT_EQ(image.pixels.size(), size_t(image.width) * image.height * 3);
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).rfind("damaged: ", 0), 0u) << e.what();
      ++refused;
    }
  }
  EXPECT_GT(refused, 50) << "most damaged frames must be refused, not shown";
}

#else

TEST(Mjpeg, RefusedWithoutLibturbojpeg) {
  EXPECT_FALSE(jpeg_decoder_available());
  const std::vector<uint8_t> rgb = scene(16, 16, 1);
  expect_error([&] { decode_jpeg_rgb(stb_jpeg(rgb, 16, 16, 90), "frame"); }, "libturbojpeg");
}

#endif

}  // namespace
}  // namespace vkbnn::io
