#pragma once

// Naive CPU reference for Concat, from ONNX semantics.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace vkbnn::test::ref {

// Concatenates tensors that agree on every axis but `axis` (non-negative).
std::vector<float> concat(const std::vector<std::vector<float>>& inputs,
                          const std::vector<std::vector<int64_t>>& shapes, size_t axis);

}  // namespace vkbnn::test::ref
