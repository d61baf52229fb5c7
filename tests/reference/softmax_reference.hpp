#pragma once

// Naive CPU reference for Softmax (ONNX opset 13: along one axis), in double precision.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace vkbnn::test::ref {

std::vector<float> softmax(std::span<const float> x, const std::vector<int64_t>& shape, size_t axis);

}  // namespace vkbnn::test::ref
