#include "reference/pad_reference.hpp"

#include <algorithm>

namespace vkbnn::test::ref {

std::vector<float> pad(std::span<const float> x, const std::vector<int64_t>& shape, const std::vector<int64_t>& pads,
                       fb::PadMode mode, float value) {
  const size_t rank = shape.size();
  std::vector<int64_t> out_shape(rank);
  size_t total = 1;
  for (size_t d = 0; d < rank; ++d) {
    out_shape[d] = shape[d] + pads[d] + pads[rank + d];
    total *= static_cast<size_t>(out_shape[d]);
  }
  std::vector<float> y(total);
  for (size_t i = 0; i < total; ++i) {
    size_t rest = i, src = 0, src_stride = 1;
    bool constant = false;
    for (size_t d = rank; d-- > 0;) {
      const int64_t n = shape[d];
      int64_t c = static_cast<int64_t>(rest % static_cast<size_t>(out_shape[d])) - pads[d];
      rest /= static_cast<size_t>(out_shape[d]);
      if (c < 0 || c >= n) {
        if (mode == fb::PadMode::Constant) constant = true;
        else if (mode == fb::PadMode::Edge) c = std::clamp<int64_t>(c, 0, n - 1);
        else c = c < 0 ? -c : 2 * (n - 1) - c;  // reflect without repeating the edge
      }
      src += static_cast<size_t>(c) * src_stride;
      src_stride *= static_cast<size_t>(n);
    }
    y[i] = constant ? value : x[src];
  }
  return y;
}

}  // namespace vkbnn::test::ref
