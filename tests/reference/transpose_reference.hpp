#pragma once

// Naive CPU reference for Transpose, from ONNX semantics: output axis d is input axis perm[d].

#include <cstdint>
#include <span>
#include <vector>

namespace vkbnn::test::ref {

std::vector<float> transpose(std::span<const float> x, const std::vector<int64_t>& shape,
                             const std::vector<int64_t>& perm);
std::vector<int64_t> transposed_shape(const std::vector<int64_t>& shape, const std::vector<int64_t>& perm);

}  // namespace vkbnn::test::ref
