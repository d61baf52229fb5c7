// Single-layer models and statistics the layer benchmarks share, so that each compares its
// kernels on exactly the same layer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace vkbnn::bench {

// n values uniform in [-1, 1), reproducible from the seed.
std::vector<float> random_values(std::size_t n, uint32_t seed);

// One 3x3 convolution named "conv", C -> C channels on an HW x HW image, stride 1, padding 1,
// random weights and bias, fused ReLU: the fp32 layer of ResNet-18's stages.
std::vector<uint8_t> fp32_conv3x3(int64_t c, int64_t hw);

double median(std::vector<double> v);

}  // namespace vkbnn::bench
