#pragma once

#include <cstdint>
#include <vector>

namespace vkbnn::test {

// A small classifier, input [1,3,9,9]: Conv3x3(8)+ReLU -> MaxPool2 -> Conv1x1(5) -> GlobalAvgPool
// -> Reshape -> FullyConnected(4) -> Softmax, with random weights. Layer names are "conv1",
// "pool1", "conv2", "gap", "flatten", "fc", "softmax".
// With dynamic_batch, the model has a dynamic batch (format 1.4) for batch 1: every activation's
// batch axis is 0.
std::vector<uint8_t> small_classifier(uint32_t seed, bool dynamic_batch = false);

}  // namespace vkbnn::test
