#include "quantize/fixed_point.hpp"

#include <cmath>
#include <string>

#include "vkbnn/error.hpp"

namespace vkbnn::convert {

FixedPoint fixed_point(double real) {
  if (!(real >= 0.0) || !std::isfinite(real) || real >= 1073741824.0)
    throw ModelError("requantization multiplier " + std::to_string(real) + " cannot be represented");
  if (real == 0.0) return {0, 1};
  int exponent = 0;
  const double fraction = std::frexp(real, &exponent);  // real = fraction * 2^exponent, fraction in [0.5, 1)
  int64_t multiplier = std::llround(fraction * 2147483648.0);
  int shift = 31 - exponent;
  if (multiplier == (int64_t{1} << 31)) {
    multiplier /= 2;
    --shift;
  }
  if (shift > 62) {
    multiplier = std::llround(std::ldexp(real, 62));
    shift = 62;
  }
  return {static_cast<int32_t>(multiplier), shift};
}

}  // namespace vkbnn::convert
