#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <string>

namespace vkbnn {

// The most elements one tensor may have: 2^31 - 1, so that every element count and index fits the
// signed 32-bit integers the shaders compute with. Loading refuses larger tensors before any size
// arithmetic can overflow, the ops refuse larger derived sizes, and the converter refuses to
// produce them.
inline constexpr int64_t kMaxTensorElements = std::numeric_limits<int32_t>::max();

// The product of the dimensions, 1 for a scalar. The caller bounds the dimensions first (a loaded
// model's tensors are, by kMaxTensorElements).
int64_t element_count(std::span<const int64_t> shape);

// "1x3x224x224"; "scalar" for rank 0. For messages and tables alike.
std::string shape_string(std::span<const int64_t> shape);

}  // namespace vkbnn
