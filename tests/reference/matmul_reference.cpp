#include "reference/matmul_reference.hpp"

#include <algorithm>

namespace vkbnn::test::ref {

std::vector<float> matmul(std::span<const float> a, const std::vector<int64_t>& a_shape, std::span<const float> b,
                          const std::vector<int64_t>& b_shape, std::vector<int64_t>& out_shape) {
  const size_t rank = std::max(a_shape.size(), b_shape.size());
  // Both shapes with leading 1s to the same rank.
  auto padded = [rank](const std::vector<int64_t>& s) {
    std::vector<int64_t> p(rank - s.size(), 1);
    p.insert(p.end(), s.begin(), s.end());
    return p;
  };
  const auto pa = padded(a_shape), pb = padded(b_shape);
  const int64_t m = pa[rank - 2], k = pa[rank - 1], n = pb[rank - 1];
  out_shape.assign(rank, 0);
  int64_t batches = 1;
  for (size_t d = 0; d + 2 < rank; ++d) {
    out_shape[d] = std::max(pa[d], pb[d]);
    batches *= out_shape[d];
  }
  out_shape[rank - 2] = m;
  out_shape[rank - 1] = n;
  std::vector<float> y(static_cast<size_t>(batches * m * n));
  for (int64_t batch = 0; batch < batches; ++batch) {
    // The batch coordinates, and each operand's matrix at them (index 0 where its axis is 1).
    int64_t rest = batch, ia = 0, ib = 0, stride_a = 1, stride_b = 1;
    for (size_t d = rank - 2; d-- > 0;) {
      const int64_t c = rest % out_shape[d];
      rest /= out_shape[d];
      ia += (pa[d] == 1 ? 0 : c) * stride_a;
      ib += (pb[d] == 1 ? 0 : c) * stride_b;
      stride_a *= pa[d];
      stride_b *= pb[d];
    }
    for (int64_t r = 0; r < m; ++r)
      for (int64_t col = 0; col < n; ++col) {
        double sum = 0;
        for (int64_t i = 0; i < k; ++i)
          sum += static_cast<double>(a[static_cast<size_t>((ia * m + r) * k + i)]) *
                 b[static_cast<size_t>((ib * k + i) * n + col)];
        y[static_cast<size_t>((batch * m + r) * n + col)] = static_cast<float>(sum);
      }
  }
  return y;
}

}  // namespace vkbnn::test::ref
