#pragma once

#include <string>

#include <vulkan/vulkan.h>

#include "vkbnn/vkbnn.hpp"

namespace vkbnn::studio {

// The index of a memory type in `bits` with all of `flags`; throws Error naming `what` if none.
uint32_t find_memory_type(VkPhysicalDevice physical, uint32_t bits, VkMemoryPropertyFlags flags,
                          const std::string& what);

// A host-visible, coherent, persistently mapped buffer that grows on demand: the app's staging,
// camera, heatmap-range and screenshot transfers. Growing drops the contents.
class HostBuffer {
 public:
  // Sizes are rounded up to at least `minimum` bytes.
  HostBuffer(Context& context, VkBufferUsageFlags usage, VkDeviceSize minimum, std::string what);
  ~HostBuffer();
  HostBuffer(HostBuffer&& other) noexcept;
  HostBuffer& operator=(HostBuffer&&) = delete;
  HostBuffer(const HostBuffer&) = delete;
  HostBuffer& operator=(const HostBuffer&) = delete;

  // Room for at least `bytes`.
  void ensure(VkDeviceSize bytes);
  VkBuffer buffer() const { return buffer_; }
  void* mapped() const { return mapped_; }

 private:
  void release();

  VkDevice device_;
  VkPhysicalDevice physical_;
  VkBufferUsageFlags usage_;
  VkDeviceSize minimum_;
  std::string what_;
  VkBuffer buffer_ = VK_NULL_HANDLE;
  VkDeviceMemory memory_ = VK_NULL_HANDLE;
  VkDeviceSize size_ = 0;
  void* mapped_ = nullptr;
};

}  // namespace vkbnn::studio
