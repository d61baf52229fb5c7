#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <vulkan/vulkan.h>

#include "textures.hpp"

struct GLFWwindow;
struct ImDrawData;

namespace vkbnn {
class Context;
}

namespace vkbnn::studio {

// The instance and device extensions a window needs, for vkbnn::ContextOptions.
std::vector<std::string> window_instance_extensions();
std::vector<std::string> window_device_extensions();

// Draws Dear ImGui into a GLFW window with a swapchain on the engine's own VkDevice and queue
// (submissions and presents hold Context::queue_mutex(), since inference submits from another
// thread). Owns the surface, swapchain, render pass and the ImGui Vulkan backend.
class Renderer {
 public:
  Renderer(GLFWwindow* window, Context& context);
  ~Renderer();
  Renderer(const Renderer&) = delete;
  Renderer& operator=(const Renderer&) = delete;

  // Records and presents one frame. With a path, the frame's swapchain image is also copied
  // back and written there as a PNG (throws vkbnn::Error on failure).
  void render(ImDrawData* draw_data, const std::filesystem::path& screenshot = {});
  // Waits until no frame in flight uses any resource (textures, swapchain).
  void wait_frames();
  TextureSystem& textures() { return *textures_; }

 private:
  static constexpr uint32_t kFramesInFlight = 2;
  struct Frame {
    VkCommandBuffer commands = VK_NULL_HANDLE;
    VkFence fence = VK_NULL_HANDLE;
    VkSemaphore acquired = VK_NULL_HANDLE;
  };

  void create_swapchain();
  void destroy_swapchain();
  void submit_locked(const VkSubmitInfo& submit, VkFence fence);
  void write_screenshot(const std::filesystem::path& path);

  GLFWwindow* window_;
  Context& context_;
  VkDevice device_;
  VkSurfaceKHR surface_ = VK_NULL_HANDLE;
  VkSurfaceFormatKHR format_{};
  VkSwapchainKHR swapchain_ = VK_NULL_HANDLE;
  VkExtent2D extent_{};
  bool can_copy_ = false;
  VkRenderPass render_pass_ = VK_NULL_HANDLE;
  std::vector<VkImage> images_;
  std::vector<VkImageView> views_;
  std::vector<VkFramebuffer> framebuffers_;
  std::vector<VkSemaphore> rendered_;  // one per swapchain image
  VkCommandPool pool_ = VK_NULL_HANDLE;
  VkDescriptorPool descriptor_pool_ = VK_NULL_HANDLE;
  std::array<Frame, kFramesInFlight> frames_{};
  uint32_t frame_ = 0;
  uint32_t min_images_ = 2;
  bool rebuild_ = false;
  std::unique_ptr<TextureSystem> textures_;
  HostBuffer readback_;  // the screenshot
};

}  // namespace vkbnn::studio
