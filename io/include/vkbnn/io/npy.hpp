#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "vkbnn/model.hpp"

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
// int64 ('<i8') for the integer outputs of a model (TensorDesc::integer), or bool ('|b1') for its
// boolean ones (TensorDesc::boolean).
std::vector<uint8_t> format_npy(std::span<const int64_t> shape, std::span<const float> data);
std::vector<uint8_t> format_npy(std::span<const int64_t> shape, std::span<const int64_t> data);
std::vector<uint8_t> format_npy(std::span<const int64_t> shape, std::span<const bool> data);
void write_npy(const std::filesystem::path& path, std::span<const int64_t> shape, std::span<const float> data);
// A model output as the values it holds: int64 where `desc` marks them integer, bool where it marks
// them boolean (nonzero is true), else float32.
void write_output_npy(const std::filesystem::path& path, std::span<const int64_t> shape, std::span<const float> data,
                      const TensorDesc& desc);

}  // namespace vkbnn::io
