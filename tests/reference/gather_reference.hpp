#pragma once

// Naive CPU references for Gather (one axis, given indices) and Tile/Expand (numpy's tile and
// broadcast_to), element by element over the output's coordinates.

#include <cstdint>
#include <span>
#include <vector>

namespace vkbnn::test::ref {

// Y has X's shape with axis `axis` as long as `indices`; Y[.., k, ..] = X[.., indices[k], ..].
std::vector<float> gather(std::span<const float> x, const std::vector<int64_t>& shape, int64_t axis,
                          const std::vector<int64_t>& indices);

// Y of shape `out` (same rank as X, each axis a multiple of X's): Y[c] = X[c mod shape].
std::vector<float> tile(std::span<const float> x, const std::vector<int64_t>& shape, const std::vector<int64_t>& out);

}  // namespace vkbnn::test::ref
