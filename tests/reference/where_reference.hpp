#pragma once

// Naive CPU reference for ONNX Where: numpy's broadcast of three operands, element by element
// over the output's coordinates.

#include <cstdint>
#include <span>
#include <vector>

namespace vkbnn::test::ref {

using Shape = std::vector<int64_t>;

// The numpy broadcast of the shapes (right-aligned; an axis of length 1 takes the other's).
Shape broadcast_shape(const std::vector<Shape>& shapes);

// Y[i] = C[i] != 0 ? X[i] : Y[i], each operand broadcast onto the broadcast of the three shapes.
std::vector<float> where(std::span<const float> c, const Shape& c_shape, std::span<const float> x, const Shape& x_shape,
                         std::span<const float> y, const Shape& y_shape);

}  // namespace vkbnn::test::ref
