#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

namespace vkbnn::io {

// Whole-file reads and writes that fail with one line naming the file and the reason.
std::vector<uint8_t> read_file(const std::filesystem::path& path);
void write_file(const std::filesystem::path& path, std::span<const uint8_t> bytes);

}  // namespace vkbnn::io
