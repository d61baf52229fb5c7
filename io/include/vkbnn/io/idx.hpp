#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

namespace vkbnn::io {

// Unsigned-byte images in IDX format (MNIST, Fashion-MNIST): count x rows x cols.
struct IdxImages {
  uint32_t count = 0;
  uint32_t rows = 0;
  uint32_t cols = 0;
  std::vector<uint8_t> pixels;

  std::span<const uint8_t> image(size_t i) const {
    return std::span<const uint8_t>(pixels).subspan(i * rows * cols, size_t{rows} * cols);
  }
};

// Reads IDX files, gzip-compressed or plain. The files are untrusted: the header's magic and
// sizes are checked, and a file whose data is shorter or longer than its header says throws
// vkbnn::Error.
IdxImages read_idx_images(const std::filesystem::path& path);  // magic 0x00000803
std::vector<uint8_t> read_idx_labels(const std::filesystem::path& path);  // magic 0x00000801

}  // namespace vkbnn::io
