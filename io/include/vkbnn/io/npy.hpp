#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace vkbnn::io {

// A NumPy array of little-endian float32 in C order: the only kind the programs exchange.
struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<float> data;
};

// Parses .npy format 1.0, 2.0 or 3.0. Anything but dtype '<f4' with fortran_order False, a
// malformed header, or a data length that disagrees with the shape throws vkbnn::Error naming
// `origin`.
NpyArray parse_npy(std::span<const uint8_t> bytes, const std::string& origin);
NpyArray read_npy(const std::filesystem::path& path);

// Format 1.0 (2.0 only if the header would not fit, which needs an absurd rank); float32 ('<f4'),
// or int64 ('<i8') for the integer outputs of a model (TensorDesc::integer).
std::vector<uint8_t> format_npy(std::span<const int64_t> shape, std::span<const float> data);
std::vector<uint8_t> format_npy(std::span<const int64_t> shape, std::span<const int64_t> data);
void write_npy(const std::filesystem::path& path, std::span<const int64_t> shape, std::span<const float> data);
void write_npy(const std::filesystem::path& path, std::span<const int64_t> shape, std::span<const int64_t> data);
// A model output: int64 where the model marks its values integer (TensorDesc::integer), else float32.
void write_output_npy(const std::filesystem::path& path, std::span<const int64_t> shape, std::span<const float> data,
                      bool integer);

}  // namespace vkbnn::io
