#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <mutex>

#include <vulkan/vulkan.h>

#include "vkbnn/device.hpp"
#include "vkbnn/memory.hpp"
#include "vkbnn/vulkan/handles.hpp"

namespace vkbnn::detail {

// VK_EXT_debug_utils' messenger, whose destroy function the instance provides.
class UniqueDebugMessenger {
 public:
  UniqueDebugMessenger() = default;
  UniqueDebugMessenger(VkInstance instance, VkDebugUtilsMessengerEXT messenger);
  ~UniqueDebugMessenger();
  UniqueDebugMessenger(UniqueDebugMessenger&& other) noexcept;
  UniqueDebugMessenger& operator=(UniqueDebugMessenger&& other) noexcept;

 private:
  VkInstance instance_ = VK_NULL_HANDLE;
  VkDebugUtilsMessengerEXT messenger_ = VK_NULL_HANDLE;
  PFN_vkDestroyDebugUtilsMessengerEXT destroy_ = nullptr;
};

// The handles are owned here and destroyed in reverse order of their declaration: the pipeline
// cache, the device, the messenger, the instance.
struct ContextState {
  vk::UniqueInstance instance;
  UniqueDebugMessenger messenger;
  VkPhysicalDevice physical_device = VK_NULL_HANDLE;
  vk::UniqueDevice device;
  VkQueue queue = VK_NULL_HANDLE;
  uint32_t queue_family = 0;
  DeviceInfo info;
  VkPhysicalDeviceMemoryProperties memory{};
  std::atomic<uint32_t> validation_messages{0};
  std::mutex queue_mutex;  // see Context::queue_mutex()

  // Shared by every Network on this device; see ContextOptions::pipeline_cache.
  vk::UniquePipelineCache pipeline_cache;
  std::filesystem::path pipeline_cache_file;
  bool pipeline_cache_loaded = false;
  std::mutex pipeline_cache_mutex;
  void open_pipeline_cache(const ContextOptions& options);
  // Writes the cache back to its file (when there is one); failures only cost the next start.
  void save_pipeline_cache();

  // Present only where VK_EXT_debug_utils is; used to name dispatches for external profilers.
  PFN_vkCmdBeginDebugUtilsLabelEXT begin_label = nullptr;
  PFN_vkCmdEndDebugUtilsLabelEXT end_label = nullptr;

  ContextState() = default;
  ContextState(const ContextState&) = delete;
  ContextState& operator=(const ContextState&) = delete;

  uint32_t find_memory_type(uint32_t type_bits, VkMemoryPropertyFlags required,
                            VkMemoryPropertyFlags preferred) const;
};

// The device's memory heaps now, with their budgets where VK_EXT_memory_budget is.
DeviceMemory describe_memory(VkPhysicalDevice device);

}  // namespace vkbnn::detail
