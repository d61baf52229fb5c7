#pragma once

// Naive CPU reference for Slice: output element c reads input element starts + c * steps.

#include <cstdint>
#include <span>
#include <vector>

namespace vkbnn::test::ref {

std::vector<float> slice(std::span<const float> x, const std::vector<int64_t>& shape, const std::vector<int64_t>& starts,
                         const std::vector<int64_t>& steps, const std::vector<int64_t>& out_shape);

}  // namespace vkbnn::test::ref
