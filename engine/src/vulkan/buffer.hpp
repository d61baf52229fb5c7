#pragma once

#include <cstdint>

#include "vkbnn/vulkan/handles.hpp"

namespace vkbnn::detail {

struct ContextState;

enum class MemoryUse {
  Device,    // GPU-only: activations, weights
  Upload,    // host writes, GPU reads
  Readback,  // GPU writes, host reads
};

// A buffer with its own memory allocation; host-visible ones stay mapped for their lifetime.
class Buffer {
 public:
  Buffer() = default;
  Buffer(const ContextState& context, uint64_t bytes, VkBufferUsageFlags usage, MemoryUse use,
         const char* purpose);
  ~Buffer();
  Buffer(Buffer&&) noexcept = default;
  Buffer& operator=(Buffer&&) noexcept = default;

  VkBuffer get() const { return buffer_.get(); }
  uint64_t size() const { return size_; }
  void* mapped() const { return mapped_; }
  // Makes host writes visible to the device / device writes visible to the host, for memory
  // that is not host-coherent.
  void flush() const;
  void invalidate() const;

 private:
  VkDevice device_ = VK_NULL_HANDLE;
  vk::UniqueMemory memory_;
  vk::UniqueBuffer buffer_;
  uint64_t size_ = 0;
  void* mapped_ = nullptr;
  bool coherent_ = true;
};

}  // namespace vkbnn::detail
