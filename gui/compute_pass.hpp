#pragma once

#include <functional>
#include <span>
#include <string>

#include <vulkan/vulkan.h>

#include "vkbnn/vkbnn.hpp"
#include "vkbnn/vulkan/commands.hpp"
#include "vkbnn/vulkan/handles.hpp"

namespace vkbnn::studio {

// One compute shader of the app with what it takes to run it on the engine's device: its
// descriptor set (one binding per entry of `bindings`, in order), a push-constant block, the
// pipeline, and a submitter on the engine's queue. One thread at a time (the UI thread).
struct ComputePass {
  ComputePass(Context& context, std::span<const VkDescriptorType> bindings, uint32_t push_bytes,
              std::span<const uint32_t> spirv, const char* what);

  // Records `record`, then makes `image` (written in GENERAL layout) readable by fragment
  // shaders and the shader's buffer writes by the host, submits on the engine's queue under its
  // mutex, and waits.
  void run(VkImage image, const std::string& doing, const std::function<void(VkCommandBuffer)>& record);

  VkDevice device;
  vk::UniqueDescriptorSetLayout set_layout;
  vk::UniquePipelineLayout layout;
  vk::UniquePipeline pipeline;
  vk::UniqueDescriptorPool pool;
  VkDescriptorSet set = VK_NULL_HANDLE;
  vk::Submitter submitter;
};

}  // namespace vkbnn::studio
