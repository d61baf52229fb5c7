#pragma once

#include <cstdint>

namespace vkbnn::convert {

// A positive real multiplier as multiplier * 2^-shift with multiplier in [2^30, 2^31) and shift
// in [1, 62], as the int8 ops' requantization takes it (reals below 2^-32 lose precision, down
// to multiplier 0). Throws vkbnn::ModelError for reals that do not fit (>= 2^30 or not finite).
struct FixedPoint {
  int32_t multiplier = 0;
  int32_t shift = 1;
};
FixedPoint fixed_point(double real);

}  // namespace vkbnn::convert
