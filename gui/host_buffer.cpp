#include "host_buffer.hpp"
#include "vkbnn/vulkan/handles.hpp"

#include <algorithm>
#include <utility>

namespace vkbnn::studio {
namespace {

}  // namespace

uint32_t find_memory_type(VkPhysicalDevice physical, uint32_t bits, VkMemoryPropertyFlags flags,
                          const std::string& what) {
  VkPhysicalDeviceMemoryProperties props{};
  vkGetPhysicalDeviceMemoryProperties(physical, &props);
  for (uint32_t i = 0; i < props.memoryTypeCount; ++i)
    if ((bits & (1u << i)) && (props.memoryTypes[i].propertyFlags & flags) == flags) return i;
  throw Error("no suitable Vulkan memory type for " + what);
}

HostBuffer::HostBuffer(Context& context, VkBufferUsageFlags usage, VkDeviceSize minimum, std::string what)
    : device_(context.vk_device()),
      physical_(context.physical_device()),
      usage_(usage),
      minimum_(minimum),
      what_(std::move(what)) {}

HostBuffer::HostBuffer(HostBuffer&& other) noexcept
    : device_(other.device_),
      physical_(other.physical_),
      usage_(other.usage_),
      minimum_(other.minimum_),
      what_(std::move(other.what_)),
      buffer_(std::exchange(other.buffer_, VK_NULL_HANDLE)),
      memory_(std::exchange(other.memory_, VK_NULL_HANDLE)),
      size_(std::exchange(other.size_, 0)),
      mapped_(std::exchange(other.mapped_, nullptr)) {}

HostBuffer::~HostBuffer() { release(); }

void HostBuffer::release() {
  if (buffer_) vkDestroyBuffer(device_, buffer_, nullptr);
  if (memory_) vkFreeMemory(device_, memory_, nullptr);
  buffer_ = VK_NULL_HANDLE;
  memory_ = VK_NULL_HANDLE;
  size_ = 0;
  mapped_ = nullptr;
}

void HostBuffer::ensure(VkDeviceSize bytes) {
  if (size_ >= bytes) return;
  release();
  VkBufferCreateInfo info{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  info.size = (std::max(bytes, minimum_) + 255) & ~VkDeviceSize{255};
  info.usage = usage_;
  vk::check(vkCreateBuffer(device_, &info, nullptr, &buffer_), "creating " + what_);
  VkMemoryRequirements req{};
  vkGetBufferMemoryRequirements(device_, buffer_, &req);
  VkMemoryAllocateInfo alloc{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  alloc.allocationSize = req.size;
  alloc.memoryTypeIndex = find_memory_type(
      physical_, req.memoryTypeBits, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT, what_);
  vk::check(vkAllocateMemory(device_, &alloc, nullptr, &memory_), "allocating " + what_);
  vk::check(vkBindBufferMemory(device_, buffer_, memory_, 0), "binding " + what_);
  vk::check(vkMapMemory(device_, memory_, 0, VK_WHOLE_SIZE, 0, &mapped_), "mapping " + what_);
  size_ = info.size;
}

}  // namespace vkbnn::studio
