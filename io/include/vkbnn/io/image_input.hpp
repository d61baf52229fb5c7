#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "vkbnn/model.hpp"

namespace vkbnn::io {

// 8-bit pixels, rows top to bottom, channels interleaved: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA.
struct Image {
  int width = 0;
  int height = 0;
  int channels = 0;
  std::vector<uint8_t> pixels;
};

// The most pixels decode_image accepts (32 Mi, e.g. 8192 x 4096 or 7680 x 4320): a few bytes of
// header can claim any size, and decoding plus preprocessing costs about 16 bytes per pixel.
inline constexpr uint64_t kMaxImagePixels = uint64_t{1} << 25;

// PNG, JPEG, BMP and the other formats stb_image reads. A file that is not an image, or whose
// header declares more than kMaxImagePixels, throws vkbnn::Error naming `origin` and the reason,
// the latter before anything is decoded.
Image decode_image(std::span<const uint8_t> bytes, const std::string& origin);
Image load_image(const std::filesystem::path& path);

// What a model wants as its image input, from its first input's NCHW shape and its metadata.
struct InputLayout {
  int batch = 1;
  int channels = 1;  // 1 or 3
  int height = 0;
  int width = 0;
  ChannelOrder order = ChannelOrder::RGB;
  std::vector<float> mean;  // one per channel
  std::vector<float> std;   // one per channel

  size_t image_elements() const { return static_cast<size_t>(channels) * height * width; }
};

// Throws vkbnn::Error when the model's input is not an image tensor the programs can fill.
InputLayout input_layout(const Model& model);

// Converts to the model's channels (alpha dropped, gray replicated, colour to gray by luminance
// 0.299 R + 0.587 G + 0.114 B), resizes to height x width with a triangle (bilinear) filter whose
// support widens when shrinking so every source pixel counts, scales to [0, 1], normalises with
// (x - mean_c) / std_c, and writes one CHW image into `out` (image_elements() values).
void preprocess(const Image& image, const InputLayout& layout, std::span<float> out);
std::vector<float> preprocess(const Image& image, const InputLayout& layout);

}  // namespace vkbnn::io
