#pragma once

#include <stdexcept>
#include <string>

#include <vulkan/vulkan.h>

namespace vkbnn {

// Every failure the engine reports is an Error; what() is one line a user can act on.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A model file that is missing, corrupt, or describes something the engine cannot run.
class ModelError : public Error {
 public:
  using Error::Error;
};

// The network needs more memory, or a larger buffer, than the device (or NetworkOptions) allows;
// what() names the sizes. Raised before the allocation that could not succeed.
class MemoryLimitError : public Error {
 public:
  using Error::Error;
};

// A Vulkan call failed; what() names the call's purpose and the VkResult.
class VulkanError : public Error {
 public:
  VulkanError(VkResult result, const std::string& doing);
  VkResult result() const noexcept { return result_; }

 private:
  VkResult result_;
};

const char* to_string(VkResult result) noexcept;

}  // namespace vkbnn
