#pragma once

// Naive CPU references for the ONNX reductions (ReduceMean, ReduceSum, ReduceMax, ReduceMin,
// ReduceL1, ReduceL2, ReduceSumSquare), LayerNormalization and GroupNormalization, in double
// precision.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace vkbnn::test::ref {

// `op` is the ONNX op type; `axes` are non-negative. The result has the kept shape (reduced axes
// of length 1), in row-major order, which is also the order of the squeezed result.
std::vector<float> reduce(const std::string& op, std::span<const float> x, const std::vector<int64_t>& shape,
                          const std::vector<int64_t>& axes);

// Normalizes over axes axis..rank-1; scale and bias hold one value per normalized element.
std::vector<float> layer_norm(std::span<const float> x, const std::vector<int64_t>& shape, size_t axis,
                              std::span<const float> scale, std::span<const float> bias, double epsilon);

// Normalizes each of `groups` groups of consecutive channels of each batch item of an (N, C, ...)
// tensor; scale and bias hold one value per channel.
std::vector<float> group_norm(std::span<const float> x, const std::vector<int64_t>& shape, size_t groups,
                              std::span<const float> scale, std::span<const float> bias, double epsilon);

}  // namespace vkbnn::test::ref
