#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "vkbnn/model.hpp"

namespace vkbnn::io {

// True when the values already form a probability distribution (each in [0, 1], summing to 1
// within float rounding), as after a Softmax layer; logits fail this almost surely.
bool is_probability_vector(std::span<const float> values);

// Numerically stable softmax.
std::vector<float> softmax(std::span<const float> logits);

// The values as probabilities: unchanged when they already are, otherwise softmax.
std::vector<float> to_probabilities(std::span<const float> output);

struct Ranked {
  size_t index = 0;
  float probability = 0;
};

// The k largest values, largest first; ties go to the lower index.
std::vector<Ranked> top_k(std::span<const float> probabilities, size_t k);

// The class's label from the metadata, or its index when the model has no labels.
std::string class_label(const ModelMetadata& metadata, size_t index);

}  // namespace vkbnn::io
