#include "vulkan/buffer.hpp"

#include "runtime/context_state.hpp"

namespace vkbnn::detail {

Buffer::Buffer(const ContextState& context, uint64_t bytes, VkBufferUsageFlags usage, MemoryUse use,
               const char* purpose)
    : device_(context.device.get()), size_(bytes) {
  std::string doing = std::string("allocating ") + purpose + " (" + std::to_string(bytes) + " bytes)";
  VkBufferCreateInfo info{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  info.size = bytes;
  info.usage = usage;
  info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  VkBuffer buffer = VK_NULL_HANDLE;
  vk::check(vkCreateBuffer(device_, &info, nullptr, &buffer), doing);
  buffer_ = vk::UniqueBuffer(device_, buffer);

  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(device_, buffer, &req);
  VkMemoryPropertyFlags required = 0, preferred = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
  if (use == MemoryUse::Upload) {
    required = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;
    preferred = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  } else if (use == MemoryUse::Readback) {
    required = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;
    preferred = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_CACHED_BIT;
  }
  if (context.info.max_memory_allocation_size && req.size > context.info.max_memory_allocation_size)
    throw MemoryLimitError(doing + ": more than the device allows in one allocation (maxMemoryAllocationSize, " +
                           std::to_string(context.info.max_memory_allocation_size) + " bytes)");
  uint32_t type = context.find_memory_type(req.memoryTypeBits, required, preferred);
  VkMemoryAllocateInfo alloc{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  alloc.allocationSize = req.size;
  alloc.memoryTypeIndex = type;
  VkDeviceMemory memory = VK_NULL_HANDLE;
  vk::check(vkAllocateMemory(device_, &alloc, nullptr, &memory), doing);
  memory_ = vk::UniqueMemory(device_, memory);
  vk::check(vkBindBufferMemory(device_, buffer, memory, 0), doing);
  if (use != MemoryUse::Device) {
    coherent_ = context.memory.memoryTypes[type].propertyFlags & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    vk::check(vkMapMemory(device_, memory, 0, VK_WHOLE_SIZE, 0, &mapped_), doing);
  }
}

Buffer::~Buffer() = default;

void Buffer::flush() const {
  if (coherent_ || !mapped_) return;
  VkMappedMemoryRange range{VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE, nullptr, memory_.get(), 0, VK_WHOLE_SIZE};
  vk::check(vkFlushMappedMemoryRanges(device_, 1, &range), "flushing host writes");
}

void Buffer::invalidate() const {
  if (coherent_ || !mapped_) return;
  VkMappedMemoryRange range{VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE, nullptr, memory_.get(), 0, VK_WHOLE_SIZE};
  vk::check(vkInvalidateMappedMemoryRanges(device_, 1, &range), "reading device writes");
}

}  // namespace vkbnn::detail
