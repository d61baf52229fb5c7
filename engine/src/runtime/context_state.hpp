#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <mutex>

#include <vulkan/vulkan.h>

#include "vkbnn/device.hpp"

namespace vkbnn::detail {

struct ContextState {
  VkInstance instance = VK_NULL_HANDLE;
  VkDebugUtilsMessengerEXT messenger = VK_NULL_HANDLE;
  VkPhysicalDevice physical_device = VK_NULL_HANDLE;
  VkDevice device = VK_NULL_HANDLE;
  VkQueue queue = VK_NULL_HANDLE;
  uint32_t queue_family = 0;
  DeviceInfo info;
  VkPhysicalDeviceMemoryProperties memory{};
  std::atomic<uint32_t> validation_messages{0};
  std::mutex queue_mutex;  // see Context::queue_mutex()

  // Shared by every Network on this device; see ContextOptions::pipeline_cache.
  VkPipelineCache pipeline_cache = VK_NULL_HANDLE;
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
  ~ContextState();

  uint32_t find_memory_type(uint32_t type_bits, VkMemoryPropertyFlags required,
                            VkMemoryPropertyFlags preferred) const;
};

}  // namespace vkbnn::detail
