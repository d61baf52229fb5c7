#pragma once

// Naive CPU reference for ArgMax/ArgMin along one axis (numpy's argmax/argmin: the first index
// of the extreme value, NaN counting as more extreme than any number), by scanning each line.

#include <cstdint>
#include <span>
#include <vector>

namespace vkbnn::test::ref {

// The indices (as floats) of X [.., shape[axis], ..] reduced along `axis`, in the order of the
// remaining axes; the last extreme index with `last`.
std::vector<float> arg_reduce(std::span<const float> x, const std::vector<int64_t>& shape, int64_t axis, bool max,
                              bool last);

// X gathered along `axis` at `indices` (any count, any values): negative ones count from the end,
// and what is still outside [0, shape[axis]) clamps into it. Output [.., indices.size(), ..].
std::vector<float> gather_clamped(std::span<const float> x, const std::vector<int64_t>& shape, int64_t axis,
                                  std::span<const float> indices);

}  // namespace vkbnn::test::ref
