#pragma once

#include <cstdint>
#include <vector>

namespace vkbnn::test {

// A small classifier, input [1,3,9,9]: Conv3x3(8)+ReLU -> MaxPool2 -> Conv1x1(5) -> GlobalAvgPool
// -> Reshape -> FullyConnected(4) -> Softmax, with random weights. Layer names are "conv1",
// "pool1", "conv2", "gap", "flatten", "fc", "softmax".
std::vector<uint8_t> small_classifier(uint32_t seed);

}  // namespace vkbnn::test
