#pragma once

// Owning wrappers over Vulkan handles and the VkResult check, shared by the engine and by
// applications that record their own work on the engine's device (vkbnn-studio).
//
// Each wrapper has one owner and moves only; owners declare them in creation order so that they
// are destroyed in reverse. Threads: a wrapper is as thread-safe as the handle it holds (Vulkan's
// external synchronization rules apply: destroying it must not race with any use).

#include <string>
#include <string_view>
#include <utility>

#include <vulkan/vulkan.h>

#include "vkbnn/error.hpp"

namespace vkbnn::vk {

// Throws VulkanError naming what was being done when `result` is not VK_SUCCESS.
inline void check(VkResult result, std::string_view doing) {
  if (result != VK_SUCCESS) throw VulkanError(result, std::string(doing));
}

// A handle destroyed by Destroy(parent, handle, nullptr): device objects (parent VkDevice) and
// instance objects (parent VkInstance).
template <typename Parent, typename T, void (*Destroy)(Parent, T, const VkAllocationCallbacks*)>
class Handle {
 public:
  Handle() = default;
  Handle(Parent parent, T handle) : parent_(parent), handle_(handle) {}
  ~Handle() { reset(); }
  Handle(Handle&& other) noexcept : parent_(other.parent_), handle_(std::exchange(other.handle_, VK_NULL_HANDLE)) {}
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      reset();
      parent_ = other.parent_;
      handle_ = std::exchange(other.handle_, VK_NULL_HANDLE);
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  T get() const { return handle_; }
  explicit operator bool() const { return handle_ != VK_NULL_HANDLE; }
  void reset() {
    if (handle_ != VK_NULL_HANDLE) Destroy(parent_, handle_, nullptr);
    handle_ = VK_NULL_HANDLE;
  }

 private:
  Parent parent_ = VK_NULL_HANDLE;
  T handle_ = VK_NULL_HANDLE;
};

template <typename T, void (*Destroy)(VkDevice, T, const VkAllocationCallbacks*)>
using DeviceHandle = Handle<VkDevice, T, Destroy>;

// A handle without a parent (VkInstance, VkDevice), destroyed by Destroy(handle, nullptr).
template <typename T, void (*Destroy)(T, const VkAllocationCallbacks*)>
class RootHandle {
 public:
  RootHandle() = default;
  explicit RootHandle(T handle) : handle_(handle) {}
  ~RootHandle() { reset(); }
  RootHandle(RootHandle&& other) noexcept : handle_(std::exchange(other.handle_, VK_NULL_HANDLE)) {}
  RootHandle& operator=(RootHandle&& other) noexcept {
    if (this != &other) {
      reset();
      handle_ = std::exchange(other.handle_, VK_NULL_HANDLE);
    }
    return *this;
  }
  RootHandle(const RootHandle&) = delete;
  RootHandle& operator=(const RootHandle&) = delete;

  T get() const { return handle_; }
  explicit operator bool() const { return handle_ != VK_NULL_HANDLE; }
  void reset() {
    if (handle_ != VK_NULL_HANDLE) Destroy(handle_, nullptr);
    handle_ = VK_NULL_HANDLE;
  }

 private:
  T handle_ = VK_NULL_HANDLE;
};

using UniqueInstance = RootHandle<VkInstance, vkDestroyInstance>;
using UniqueDevice = RootHandle<VkDevice, vkDestroyDevice>;
using UniqueBuffer = DeviceHandle<VkBuffer, vkDestroyBuffer>;
using UniqueBufferView = DeviceHandle<VkBufferView, vkDestroyBufferView>;
using UniqueMemory = DeviceHandle<VkDeviceMemory, vkFreeMemory>;
using UniqueImage = DeviceHandle<VkImage, vkDestroyImage>;
using UniqueImageView = DeviceHandle<VkImageView, vkDestroyImageView>;
using UniqueSampler = DeviceHandle<VkSampler, vkDestroySampler>;
using UniqueShaderModule = DeviceHandle<VkShaderModule, vkDestroyShaderModule>;
using UniquePipeline = DeviceHandle<VkPipeline, vkDestroyPipeline>;
using UniquePipelineCache = DeviceHandle<VkPipelineCache, vkDestroyPipelineCache>;
using UniquePipelineLayout = DeviceHandle<VkPipelineLayout, vkDestroyPipelineLayout>;
using UniqueDescriptorSetLayout = DeviceHandle<VkDescriptorSetLayout, vkDestroyDescriptorSetLayout>;
using UniqueDescriptorPool = DeviceHandle<VkDescriptorPool, vkDestroyDescriptorPool>;
using UniqueCommandPool = DeviceHandle<VkCommandPool, vkDestroyCommandPool>;
using UniqueFence = DeviceHandle<VkFence, vkDestroyFence>;
using UniqueQueryPool = DeviceHandle<VkQueryPool, vkDestroyQueryPool>;

}  // namespace vkbnn::vk
