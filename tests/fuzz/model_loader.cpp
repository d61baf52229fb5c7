// Fuzz target: any bytes as a .vkbnn model file. Loading must refuse them with a ModelError, or
// give a model that builds a Network and runs on it; any other exception, crash or sanitizer
// report is a finding, and so is a validation message when the layer is on (VKBNN_VALIDATION=1).

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <random>
#include <vector>

#include "vkbnn/vkbnn.hpp"
#include "vkbnn_model_generated.h"

namespace {

// The engine accepts tensors of up to kMaxTensorElements, which a few bytes of a model file can
// declare; running those only measures how fast the driver allocates, so inputs whose tensors
// hold more than this in all are loaded but not run.
constexpr int64_t kMaxRunElements = int64_t{1} << 22;

vkbnn::Context& context() {
  // libFuzzer calls the target once per input in one process: one device for all of them.
  static vkbnn::Context instance;
  return instance;
}

int64_t total_elements(const vkbnn::Model& model) {
  int64_t total = 0;
  for (const auto* t : *model.schema().tensors()) {
    int64_t elements = 1;
    for (int64_t d : *t->shape()) elements *= d;  // each <= kMaxTensorElements once loaded
    total += elements;
    if (total > kMaxRunElements) break;
  }
  return total;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::optional<vkbnn::Model> model;
  try {
    model = vkbnn::Model::from_bytes(std::vector<uint8_t>(data, data + size), "fuzz input");
  } catch (const vkbnn::ModelError&) {
    return 0;
  }
  if (total_elements(*model) > kMaxRunElements) return 0;
  try {
    vkbnn::Network network(context(), *model, {.poison_arena = true});
    std::mt19937 rng(static_cast<uint32_t>(size));
    std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
    std::vector<std::vector<float>> inputs;
    for (const auto& desc : model->inputs()) {
      inputs.emplace_back(desc.elements());
      for (float& v : inputs.back()) v = dist(rng);
    }
    network.run(std::vector<std::span<const float>>(inputs.begin(), inputs.end()));
  } catch (const vkbnn::Error&) {
    // What the device cannot do (memory, limits) is reported as an Error, as is fine.
  }
  if (context().validation_message_count() != 0) {
    std::cerr << "Vulkan validation reported " << context().validation_message_count() << " message(s)\n";
    std::abort();
  }
  return 0;
}
