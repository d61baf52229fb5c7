#pragma once

#include "app.hpp"

namespace vkbnn::studio {

// One Dear ImGui window each; they lay themselves out on the first frame.
void draw_input_panel(AppState& state);
void draw_results_panel(AppState& state);
void draw_performance_panel(AppState& state);
void draw_layers_panel(AppState& state);
void draw_model_panel(AppState& state);
void draw_activations_panel(AppState& state);

// RGBA pixels for textures: an image as it is, and a preprocessed input mapped back to [0, 1].
std::vector<uint8_t> image_rgba(const io::Image& image);
std::vector<uint8_t> preprocessed_rgba(const std::vector<float>& data, const io::InputLayout& layout);

}  // namespace vkbnn::studio
