#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <imgui.h>
#include <vulkan/vulkan.h>

#include "compute_pass.hpp"
#include "host_buffer.hpp"
#include "textures.hpp"
#include "vkbnn/vkbnn.hpp"

namespace vkbnn::studio {

// Draws the channels of one activation tensor as a grid of heatmaps into the texture
// "activations", with a compute shader that reads the engine's activation arena directly
// (packed Bit tensors from their bits, Int8 ones dequantized from their bytes), and reads back each channel's value range.
class ActivationView {
 public:
  ActivationView(Context& context, TextureSystem& textures);
  ~ActivationView();
  ActivationView(const ActivationView&) = delete;
  ActivationView& operator=(const ActivationView&) = delete;

  // Records, submits and waits for the pass. The caller keeps the engine from running the
  // network meanwhile (InferenceWorker::with_device_tensor).
  void update(const DeviceTensor& tensor, const std::function<void()>& wait_all_frames);

  bool ready() const { return channels_ > 0; }
  uint32_t channels() const { return channels_; }
  uint32_t height() const { return height_; }
  uint32_t width() const { return width_; }
  uint32_t columns() const { return columns_; }
  uint32_t rows() const { return columns_ ? (channels_ + columns_ - 1) / columns_ : 0; }
  bool packed_bits() const { return packed_; }
  bool int8() const { return int8_; }
  struct Stats {
    float min = 0, max = 0, mean = 0;
  };
  // Per channel, as the shader found them (for Bit tensors, from the packed signs).
  const std::vector<Stats>& ranges() const { return ranges_; }
  // Texture coordinates of channel c's tile.
  std::pair<ImVec2, ImVec2> tile_uv(uint32_t c) const;

 private:
  Context& context_;
  TextureSystem& textures_;
  VkDevice device_;
  ComputePass pass_;
  HostBuffer range_buffer_;
  uint32_t channels_ = 0, height_ = 0, width_ = 0, columns_ = 0;
  bool packed_ = false;
  bool int8_ = false;
  std::vector<Stats> ranges_;
};

}  // namespace vkbnn::studio
