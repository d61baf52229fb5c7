#pragma once

#include <span>
#include <string>

#include <vulkan/vulkan.h>

#include "vkbnn/vkbnn.hpp"

namespace vkbnn::studio {

// One compute shader of the app with what it takes to run it on the engine's device: its
// descriptor set (one binding per entry of `bindings`, in order), a push-constant block, the
// pipeline, and a command buffer with its fence for a submit-and-wait.
struct ComputePass {
  ComputePass(Context& context, std::span<const VkDescriptorType> bindings, uint32_t push_bytes,
              std::span<const uint32_t> spirv, const char* what);
  ~ComputePass();
  ComputePass(const ComputePass&) = delete;
  ComputePass& operator=(const ComputePass&) = delete;

  // Ends the recorded commands with `image` (written in GENERAL layout) made readable by
  // fragment shaders and the shader's buffer writes by the host, submits them on the engine's
  // queue under its mutex, and waits.
  void finish_and_wait(Context& context, VkImage image, const std::string& doing);

  VkDevice device;
  VkDescriptorSetLayout set_layout = VK_NULL_HANDLE;
  VkPipelineLayout layout = VK_NULL_HANDLE;
  VkPipeline pipeline = VK_NULL_HANDLE;
  VkDescriptorPool pool = VK_NULL_HANDLE;
  VkDescriptorSet set = VK_NULL_HANDLE;
  VkCommandPool command_pool = VK_NULL_HANDLE;
  VkCommandBuffer cmd = VK_NULL_HANDLE;
  VkFence fence = VK_NULL_HANDLE;
};

}  // namespace vkbnn::studio
