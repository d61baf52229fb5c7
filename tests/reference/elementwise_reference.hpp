#pragma once

// Naive CPU references for the element-wise ops, in double precision, from ONNX semantics.

#include <cstdint>
#include <span>
#include <vector>

#include "vkbnn_model_generated.h"

namespace vkbnn::test::ref {

using Shape = std::vector<int64_t>;

struct Activation {
  fb::ActivationKind kind = fb::ActivationKind::None;
  double alpha = 0;
  double beta = 0;
};

double activate(double x, const Activation& act);
std::vector<float> activation(std::span<const float> x, const Activation& act);

// Y = X * scale[c] + shift[c] along axis 1.
std::vector<float> channel_affine(std::span<const float> x, const Shape& shape, std::span<const float> scale,
                                  std::span<const float> shift, const Activation& act = {});

// Y = op(A, B) with B broadcast to A's shape by numpy rules (right-aligned, length-1 axes repeat).
std::vector<float> binary(fb::BinaryKind kind, std::span<const float> a, const Shape& a_shape,
                          std::span<const float> b, const Shape& b_shape, const Activation& act = {});

// Y = X where X >= 0, else X * slope, with slope broadcast as in binary().
std::vector<float> prelu(std::span<const float> x, const Shape& shape, std::span<const float> slope,
                         const Shape& slope_shape);

}  // namespace vkbnn::test::ref
