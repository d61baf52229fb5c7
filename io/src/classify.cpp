#include "vkbnn/io/classify.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace vkbnn::io {

bool is_probability_vector(std::span<const float> values) {
  if (values.empty()) return false;
  double sum = 0;
  for (float v : values) {
    if (!(v >= 0.0f && v <= 1.0f)) return false;
    sum += v;
  }
  return std::abs(sum - 1.0) <= 1e-3;
}

std::vector<float> softmax(std::span<const float> logits) {
  std::vector<float> out(logits.size());
  if (logits.empty()) return out;
  const float max = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    out[i] = std::exp(logits[i] - max);
    sum += out[i];
  }
  for (float& v : out) v = static_cast<float>(v / sum);
  return out;
}

std::vector<float> to_probabilities(std::span<const float> output) {
  if (is_probability_vector(output)) return {output.begin(), output.end()};
  return softmax(output);
}

std::vector<Ranked> top_k(std::span<const float> probabilities, size_t k) {
  std::vector<size_t> order(probabilities.size());
  std::iota(order.begin(), order.end(), size_t{0});
  k = std::min(k, order.size());
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(),
                    [&](size_t a, size_t b) {
                      return probabilities[a] > probabilities[b] || (probabilities[a] == probabilities[b] && a < b);
                    });
  std::vector<Ranked> ranked;
  for (size_t i = 0; i < k; ++i) ranked.push_back({order[i], probabilities[order[i]]});
  return ranked;
}

std::string class_label(const ModelMetadata& metadata, size_t index) {
  if (index < metadata.labels.size()) return metadata.labels[index];
  return std::to_string(index);
}

}  // namespace vkbnn::io
