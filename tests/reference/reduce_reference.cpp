#include "reference/reduce_reference.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace vkbnn::test::ref {

std::vector<float> reduce(const std::string& op, std::span<const float> x, const std::vector<int64_t>& shape,
                          const std::vector<int64_t>& axes) {
  std::vector<bool> reduced(shape.size(), false);
  for (int64_t a : axes) reduced.at(static_cast<size_t>(a)) = true;
  size_t outputs = 1;
  for (size_t d = 0; d < shape.size(); ++d)
    if (!reduced[d]) outputs *= static_cast<size_t>(shape[d]);
  const double start = op == "ReduceMax" ? -std::numeric_limits<double>::infinity()
                       : op == "ReduceMin" ? std::numeric_limits<double>::infinity()
                                           : 0.0;
  std::vector<double> acc(outputs, start);
  // Every input element, by its multi-index, lands on the output index of its kept axes.
  std::vector<int64_t> idx(shape.size(), 0);
  for (size_t i = 0; i < x.size(); ++i) {
    size_t o = 0;
    for (size_t d = 0; d < shape.size(); ++d)
      if (!reduced[d]) o = o * static_cast<size_t>(shape[d]) + static_cast<size_t>(idx[d]);
    const double v = x[i];
    double& a = acc[o];
    if (op == "ReduceMax") a = std::max(a, v);
    else if (op == "ReduceMin") a = std::min(a, v);
    else if (op == "ReduceL1") a += std::abs(v);
    else if (op == "ReduceL2" || op == "ReduceSumSquare") a += v * v;
    else if (op == "ReduceMean" || op == "ReduceSum") a += v;
    else throw std::invalid_argument("no reference for " + op);
    for (size_t d = shape.size(); d-- > 0;) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  const double count = static_cast<double>(x.size()) / static_cast<double>(outputs);
  std::vector<float> y(outputs);
  for (size_t o = 0; o < outputs; ++o) {
    double v = acc[o];
    if (op == "ReduceMean") v /= count;
    if (op == "ReduceL2") v = std::sqrt(v);
    y[o] = static_cast<float>(v);
  }
  return y;
}

std::vector<float> layer_norm(std::span<const float> x, const std::vector<int64_t>& shape, size_t axis,
                              std::span<const float> scale, std::span<const float> bias, double epsilon) {
  size_t len = 1;
  for (size_t d = axis; d < shape.size(); ++d) len *= static_cast<size_t>(shape[d]);
  std::vector<float> y(x.size());
  for (size_t row = 0; row < x.size() / len; ++row) {
    const auto v = x.subspan(row * len, len);
    double mean = 0, var = 0;
    for (float e : v) mean += e;
    mean /= static_cast<double>(len);
    for (float e : v) var += (e - mean) * (e - mean);
    var /= static_cast<double>(len);
    for (size_t k = 0; k < len; ++k)
      y[row * len + k] = static_cast<float>((v[k] - mean) / std::sqrt(var + epsilon) * scale[k] + bias[k]);
  }
  return y;
}

std::vector<float> group_norm(std::span<const float> x, const std::vector<int64_t>& shape, size_t groups,
                              std::span<const float> scale, std::span<const float> bias, double epsilon) {
  const auto batch = static_cast<size_t>(shape[0]), channels = static_cast<size_t>(shape[1]);
  size_t spatial = 1;
  for (size_t d = 2; d < shape.size(); ++d) spatial *= static_cast<size_t>(shape[d]);
  const size_t per_group = channels / groups;
  auto at = [&](size_t n, size_t c, size_t s) { return (n * channels + c) * spatial + s; };
  std::vector<float> y(x.size());
  for (size_t n = 0; n < batch; ++n)
    for (size_t g = 0; g < groups; ++g) {
      double mean = 0, var = 0;
      for (size_t c = g * per_group; c < (g + 1) * per_group; ++c)
        for (size_t s = 0; s < spatial; ++s) mean += x[at(n, c, s)];
      mean /= static_cast<double>(per_group * spatial);
      for (size_t c = g * per_group; c < (g + 1) * per_group; ++c)
        for (size_t s = 0; s < spatial; ++s) var += (x[at(n, c, s)] - mean) * (x[at(n, c, s)] - mean);
      var /= static_cast<double>(per_group * spatial);
      for (size_t c = g * per_group; c < (g + 1) * per_group; ++c)
        for (size_t s = 0; s < spatial; ++s)
          y[at(n, c, s)] = static_cast<float>((x[at(n, c, s)] - mean) / std::sqrt(var + epsilon) * scale[c] + bias[c]);
    }
  return y;
}

}  // namespace vkbnn::test::ref
