#pragma once

#include <functional>
#include <memory>
#include <vector>

#include <vulkan/vulkan.h>

#include "camera.hpp"
#include "compute_pass.hpp"
#include "host_buffer.hpp"
#include "textures.hpp"
#include "vkbnn/io/image_input.hpp"
#include "vkbnn/vkbnn.hpp"

namespace vkbnn::studio {

// Camera frames converted on the GPU (shaders/camera_preprocess.comp): YUYV to RGB into the
// texture "input" for display, and resized, converted and normalised into the model's input
// tensor, which comes back to the host for Network::run().
class GpuPreprocess {
 public:
  GpuPreprocess(Context& context, TextureSystem& textures);
  GpuPreprocess(const GpuPreprocess&) = delete;
  GpuPreprocess& operator=(const GpuPreprocess&) = delete;

  // Submits, waits, and returns the CHW tensor (layout.image_elements() values).
  std::vector<float> process(const CameraFrame& frame, const io::InputLayout& layout,
                             const std::function<void()>& wait_all_frames);

 private:
  Context& context_;
  TextureSystem& textures_;
  VkDevice device_;
  ComputePass pass_;
  HostBuffer frame_, tensor_;
};

}  // namespace vkbnn::studio
