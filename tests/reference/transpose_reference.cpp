#include "reference/transpose_reference.hpp"

namespace vkbnn::test::ref {

std::vector<int64_t> transposed_shape(const std::vector<int64_t>& shape, const std::vector<int64_t>& perm) {
  std::vector<int64_t> out;
  for (int64_t p : perm) out.push_back(shape[static_cast<size_t>(p)]);
  return out;
}

// Walks the input in order and scatters each element to where its permuted index lands.
std::vector<float> transpose(std::span<const float> x, const std::vector<int64_t>& shape,
                             const std::vector<int64_t>& perm) {
  const size_t rank = shape.size();
  const std::vector<int64_t> out_shape = transposed_shape(shape, perm);
  std::vector<int64_t> index(rank, 0);
  std::vector<float> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    size_t dst = 0;
    for (size_t d = 0; d < rank; ++d) dst = dst * static_cast<size_t>(out_shape[d]) + static_cast<size_t>(index[static_cast<size_t>(perm[d])]);
    y[dst] = x[i];
    for (size_t d = rank; d-- > 0;) {
      if (++index[d] < shape[d]) break;
      index[d] = 0;
    }
  }
  return y;
}

}  // namespace vkbnn::test::ref
