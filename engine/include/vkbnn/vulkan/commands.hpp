#pragma once

// GPU work on the engine's device outside a Network: command buffers submitted and waited for,
// and compute pipelines. Used by the engine itself and by vkbnn-studio's own compute passes.

#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <string_view>

#include <vulkan/vulkan.h>

#include "vkbnn/vulkan/handles.hpp"

namespace vkbnn {
class Context;
}

namespace vkbnn::vk {

// Host time of one submission: inside vkQueueSubmit, then waiting for its fence.
struct SubmitTimes {
  double submit_us = 0;
  double wait_us = 0;
};

// Runs command buffers on one queue and waits for each, with a command pool and a fence of its
// own. The queue may be shared: `queue_mutex` is held around each vkQueueSubmit (for the engine's
// queue that is Context::queue_mutex(), which everyone submitting to it must take).
//
// Threads: one thread at a time per Submitter (its pool and fence are unsynchronized Vulkan
// objects); any number of Submitters, on any threads, may share the queue.
class Submitter {
 public:
  Submitter(VkDevice device, uint32_t queue_family, VkQueue queue, std::mutex& queue_mutex);
  // On the engine's device and queue.
  explicit Submitter(const Context& context);

  // A primary command buffer to record once and submit any number of times; freed with the
  // Submitter.
  VkCommandBuffer allocate(std::string_view doing);
  // Submits recorded `commands` and waits until the GPU has finished them.
  SubmitTimes submit_and_wait(VkCommandBuffer commands, std::string_view doing);
  // Records `record` into a one-time command buffer, submits it and waits; the buffer is freed
  // afterwards, also when recording throws.
  void run(std::string_view doing, const std::function<void(VkCommandBuffer)>& record);

 private:
  VkDevice device_;
  VkQueue queue_;
  std::mutex* queue_mutex_;
  UniqueCommandPool pool_;
  UniqueFence fence_;
};

// The layouts and pool every pipeline needs. `what` names the object in errors.
UniqueDescriptorSetLayout create_descriptor_set_layout(VkDevice device,
                                                       std::span<const VkDescriptorSetLayoutBinding> bindings,
                                                       std::string_view what);
// Of the one descriptor set `set_layout`, with `push_bytes` of push constants visible to
// `push_stages` (none when push_bytes is 0).
UniquePipelineLayout create_pipeline_layout(VkDevice device, VkDescriptorSetLayout set_layout, uint32_t push_bytes,
                                            VkShaderStageFlags push_stages, std::string_view what);
UniqueDescriptorPool create_descriptor_pool(VkDevice device, uint32_t max_sets,
                                            std::span<const VkDescriptorPoolSize> sizes,
                                            VkDescriptorPoolCreateFlags flags, std::string_view what);

// The compute pipeline of `spirv`'s entry point main with `layout`, specialized by `spec` (null:
// none), through `cache` (VK_NULL_HANDLE: none). `what` names it in errors.
UniquePipeline create_compute_pipeline(VkDevice device, std::span<const uint32_t> spirv, VkPipelineLayout layout,
                                       const VkSpecializationInfo* spec, VkPipelineCache cache,
                                       std::string_view what);

}  // namespace vkbnn::vk
