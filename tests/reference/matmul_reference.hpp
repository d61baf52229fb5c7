#pragma once

// Naive CPU reference for numpy's matmul of operands with 2 or more axes (batch axes broadcast,
// right-aligned), accumulated in double.

#include <cstdint>
#include <span>
#include <vector>

namespace vkbnn::test::ref {

// A [..., M, K] x B [..., K, N] -> [..., M, N]; `out_shape` receives the result's shape.
std::vector<float> matmul(std::span<const float> a, const std::vector<int64_t>& a_shape, std::span<const float> b,
                          const std::vector<int64_t>& b_shape, std::vector<int64_t>& out_shape);

}  // namespace vkbnn::test::ref
