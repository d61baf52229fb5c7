#pragma once

// Naive CPU reference for Pad (constant, reflect, edge), from ONNX semantics.

#include <cstdint>
#include <span>
#include <vector>

#include "vkbnn_model_generated.h"

namespace vkbnn::test::ref {

// pads in ONNX order: the begin of every axis, then the end of every axis; all >= 0.
std::vector<float> pad(std::span<const float> x, const std::vector<int64_t>& shape, const std::vector<int64_t>& pads,
                       fb::PadMode mode, float value);

}  // namespace vkbnn::test::ref
