#include "renderer.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <mutex>

#define GLFW_INCLUDE_VULKAN
#include <GLFW/glfw3.h>
#include <imgui.h>
#include <imgui_impl_glfw.h>
#include <imgui_impl_vulkan.h>
#include <stb_image_write.h>

#include "vkbnn/device.hpp"
#include "vkbnn/error.hpp"
#include "vkbnn/vulkan/commands.hpp"
#include "vkbnn/vulkan/handles.hpp"

namespace vkbnn::studio {

namespace {

void check_imgui(VkResult result) {
  if (result != VK_SUCCESS) throw VulkanError(result, "Dear ImGui's Vulkan backend");
}

}  // namespace

std::vector<std::string> window_instance_extensions() {
  uint32_t count = 0;
  const char** names = glfwGetRequiredInstanceExtensions(&count);
  if (!names) throw Error("GLFW found no Vulkan window-system support (is a display available?)");
  return {names, names + count};
}

std::vector<std::string> window_device_extensions() { return {VK_KHR_SWAPCHAIN_EXTENSION_NAME}; }

Renderer::Renderer(GLFWwindow* window, Context& context)
    : window_(window),
      context_(context),
      device_(context.vk_device()),
      readback_(context, VK_BUFFER_USAGE_TRANSFER_DST_BIT, 4096, "the screenshot buffer") {
  VkInstance instance = context.instance();
  VkPhysicalDevice physical = context.physical_device();
  if (glfwGetPhysicalDevicePresentationSupport(instance, physical, context.queue_family()) != GLFW_TRUE)
    throw Error("the engine's queue family on '" + context.device().name + "' cannot present to this display");
  vk::check(glfwCreateWindowSurface(instance, window, nullptr, &surface_), "creating the window surface");
  VkBool32 supported = VK_FALSE;
  vk::check(vkGetPhysicalDeviceSurfaceSupportKHR(physical, context.queue_family(), surface_, &supported),
            "querying surface support");
  if (!supported) throw Error("the engine's queue family cannot present to this window");

  uint32_t count = 0;
  vkGetPhysicalDeviceSurfaceFormatsKHR(physical, surface_, &count, nullptr);
  std::vector<VkSurfaceFormatKHR> formats(count);
  vkGetPhysicalDeviceSurfaceFormatsKHR(physical, surface_, &count, formats.data());
  if (formats.empty()) throw Error("the window surface offers no formats");
  format_ = formats[0];
  for (const auto& f : formats)
    if ((f.format == VK_FORMAT_B8G8R8A8_UNORM || f.format == VK_FORMAT_R8G8B8A8_UNORM) &&
        f.colorSpace == VK_COLOR_SPACE_SRGB_NONLINEAR_KHR) {
      format_ = f;
      break;
    }

  VkAttachmentDescription attachment{};
  attachment.format = format_.format;
  attachment.samples = VK_SAMPLE_COUNT_1_BIT;
  attachment.loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR;
  attachment.storeOp = VK_ATTACHMENT_STORE_OP_STORE;
  attachment.stencilLoadOp = VK_ATTACHMENT_LOAD_OP_DONT_CARE;
  attachment.stencilStoreOp = VK_ATTACHMENT_STORE_OP_DONT_CARE;
  attachment.initialLayout = VK_IMAGE_LAYOUT_UNDEFINED;
  attachment.finalLayout = VK_IMAGE_LAYOUT_PRESENT_SRC_KHR;
  VkAttachmentReference color{0, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL};
  VkSubpassDescription subpass{};
  subpass.pipelineBindPoint = VK_PIPELINE_BIND_POINT_GRAPHICS;
  subpass.colorAttachmentCount = 1;
  subpass.pColorAttachments = &color;
  VkSubpassDependency dependency{};
  dependency.srcSubpass = VK_SUBPASS_EXTERNAL;
  dependency.dstSubpass = 0;
  dependency.srcStageMask = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT;
  dependency.dstStageMask = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT;
  dependency.dstAccessMask = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT;
  VkRenderPassCreateInfo rp{VK_STRUCTURE_TYPE_RENDER_PASS_CREATE_INFO};
  rp.attachmentCount = 1;
  rp.pAttachments = &attachment;
  rp.subpassCount = 1;
  rp.pSubpasses = &subpass;
  rp.dependencyCount = 1;
  rp.pDependencies = &dependency;
  vk::check(vkCreateRenderPass(device_, &rp, nullptr, &render_pass_), "creating the render pass");

  VkCommandPoolCreateInfo pool_info{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pool_info.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  pool_info.queueFamilyIndex = context.queue_family();
  vk::check(vkCreateCommandPool(device_, &pool_info, nullptr, &pool_), "creating the command pool");
  for (auto& f : frames_) {
    VkCommandBufferAllocateInfo alloc{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    alloc.commandPool = pool_;
    alloc.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    alloc.commandBufferCount = 1;
    vk::check(vkAllocateCommandBuffers(device_, &alloc, &f.commands), "allocating a command buffer");
    VkFenceCreateInfo fence{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    fence.flags = VK_FENCE_CREATE_SIGNALED_BIT;
    vk::check(vkCreateFence(device_, &fence, nullptr, &f.fence), "creating a fence");
    VkSemaphoreCreateInfo sem{VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
    vk::check(vkCreateSemaphore(device_, &sem, nullptr, &f.acquired), "creating a semaphore");
  }

  VkDescriptorPoolSize sizes[] = {{VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, 16}};
  VkDescriptorPoolCreateInfo dp{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
  dp.flags = VK_DESCRIPTOR_POOL_CREATE_FREE_DESCRIPTOR_SET_BIT;
  dp.maxSets = 16;
  dp.poolSizeCount = 1;
  dp.pPoolSizes = sizes;
  vk::check(vkCreateDescriptorPool(device_, &dp, nullptr, &descriptor_pool_), "creating the descriptor pool");

  create_swapchain();
  textures_ = std::make_unique<TextureSystem>(context, render_pass_, kFramesInFlight);

  ImGui_ImplGlfw_InitForVulkan(window, true);
  ImGui_ImplVulkan_InitInfo init{};
  init.Instance = instance;
  init.PhysicalDevice = physical;
  init.Device = device_;
  init.QueueFamily = context.queue_family();
  init.Queue = context.queue();
  init.DescriptorPool = descriptor_pool_;
  init.Subpass = 0;
  init.MinImageCount = min_images_;
  init.ImageCount = static_cast<uint32_t>(images_.size());
  init.MSAASamples = VK_SAMPLE_COUNT_1_BIT;
  init.CheckVkResultFn = check_imgui;
  ImGui_ImplVulkan_Init(&init, render_pass_);

  // Upload the font atlas.
  vk::Submitter(context).run("the font upload",
                             [](VkCommandBuffer commands) { ImGui_ImplVulkan_CreateFontsTexture(commands); });
  ImGui_ImplVulkan_DestroyFontUploadObjects();
}

Renderer::~Renderer() {
  wait_frames();
  {
    // Presentation may still hold the semaphores: let the queue drain.
    std::lock_guard lock(context_.queue_mutex());
    vkQueueWaitIdle(context_.queue());
  }
  ImGui_ImplVulkan_Shutdown();
  ImGui_ImplGlfw_Shutdown();
  destroy_swapchain();
  textures_.reset();
  for (auto& f : frames_) {
    vkDestroyFence(device_, f.fence, nullptr);
    vkDestroySemaphore(device_, f.acquired, nullptr);
  }
  vkDestroyCommandPool(device_, pool_, nullptr);
  vkDestroyDescriptorPool(device_, descriptor_pool_, nullptr);
  vkDestroyRenderPass(device_, render_pass_, nullptr);
  vkDestroySwapchainKHR(device_, swapchain_, nullptr);
  vkDestroySurfaceKHR(context_.instance(), surface_, nullptr);
}

void Renderer::submit_locked(const VkSubmitInfo& submit, VkFence fence) {
  std::lock_guard lock(context_.queue_mutex());
  vk::check(vkQueueSubmit(context_.queue(), 1, &submit, fence), "submitting a frame");
}

void Renderer::wait_frames() {
  for (auto& f : frames_)
    vkWaitForFences(device_, 1, &f.fence, VK_TRUE, std::numeric_limits<uint64_t>::max());
}

void Renderer::destroy_swapchain() {
  for (auto fb : framebuffers_) vkDestroyFramebuffer(device_, fb, nullptr);
  for (auto v : views_) vkDestroyImageView(device_, v, nullptr);
  for (auto s : rendered_) vkDestroySemaphore(device_, s, nullptr);
  framebuffers_.clear();
  views_.clear();
  rendered_.clear();
  images_.clear();
}

void Renderer::create_swapchain() {
  VkPhysicalDevice physical = context_.physical_device();
  VkSurfaceCapabilitiesKHR caps{};
  vk::check(vkGetPhysicalDeviceSurfaceCapabilitiesKHR(physical, surface_, &caps), "querying the surface");
  int width = 0, height = 0;
  glfwGetFramebufferSize(window_, &width, &height);
  extent_ = caps.currentExtent;
  if (extent_.width == std::numeric_limits<uint32_t>::max()) {
    extent_.width = std::clamp(static_cast<uint32_t>(width), caps.minImageExtent.width, caps.maxImageExtent.width);
    extent_.height =
        std::clamp(static_cast<uint32_t>(height), caps.minImageExtent.height, caps.maxImageExtent.height);
  }
  min_images_ = std::max(2u, caps.minImageCount);
  uint32_t count = std::max(min_images_, caps.minImageCount + 1);
  if (caps.maxImageCount) count = std::min(count, caps.maxImageCount);
  can_copy_ = (caps.supportedUsageFlags & VK_IMAGE_USAGE_TRANSFER_SRC_BIT) != 0;

  VkSwapchainKHR old = swapchain_;
  VkSwapchainCreateInfoKHR info{VK_STRUCTURE_TYPE_SWAPCHAIN_CREATE_INFO_KHR};
  info.surface = surface_;
  info.minImageCount = count;
  info.imageFormat = format_.format;
  info.imageColorSpace = format_.colorSpace;
  info.imageExtent = extent_;
  info.imageArrayLayers = 1;
  info.imageUsage = VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | (can_copy_ ? VK_IMAGE_USAGE_TRANSFER_SRC_BIT : 0);
  info.imageSharingMode = VK_SHARING_MODE_EXCLUSIVE;
  info.preTransform = caps.currentTransform;
  info.compositeAlpha = (caps.supportedCompositeAlpha & VK_COMPOSITE_ALPHA_OPAQUE_BIT_KHR)
                            ? VK_COMPOSITE_ALPHA_OPAQUE_BIT_KHR
                            : static_cast<VkCompositeAlphaFlagBitsKHR>(caps.supportedCompositeAlpha &
                                                                       -caps.supportedCompositeAlpha);
  info.presentMode = VK_PRESENT_MODE_FIFO_KHR;
  info.clipped = VK_TRUE;
  info.oldSwapchain = old;
  vk::check(vkCreateSwapchainKHR(device_, &info, nullptr, &swapchain_), "creating the swapchain");
  if (old) vkDestroySwapchainKHR(device_, old, nullptr);

  uint32_t n = 0;
  vkGetSwapchainImagesKHR(device_, swapchain_, &n, nullptr);
  images_.resize(n);
  vkGetSwapchainImagesKHR(device_, swapchain_, &n, images_.data());
  for (VkImage image : images_) {
    VkImageViewCreateInfo view{VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO};
    view.image = image;
    view.viewType = VK_IMAGE_VIEW_TYPE_2D;
    view.format = format_.format;
    view.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
    VkImageView v = VK_NULL_HANDLE;
    vk::check(vkCreateImageView(device_, &view, nullptr, &v), "creating a swapchain view");
    views_.push_back(v);
    VkFramebufferCreateInfo fb{VK_STRUCTURE_TYPE_FRAMEBUFFER_CREATE_INFO};
    fb.renderPass = render_pass_;
    fb.attachmentCount = 1;
    fb.pAttachments = &v;
    fb.width = extent_.width;
    fb.height = extent_.height;
    fb.layers = 1;
    VkFramebuffer framebuffer = VK_NULL_HANDLE;
    vk::check(vkCreateFramebuffer(device_, &fb, nullptr, &framebuffer), "creating a framebuffer");
    framebuffers_.push_back(framebuffer);
    VkSemaphoreCreateInfo sem{VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
    VkSemaphore s = VK_NULL_HANDLE;
    vk::check(vkCreateSemaphore(device_, &sem, nullptr, &s), "creating a semaphore");
    rendered_.push_back(s);
  }
}

void Renderer::render(ImDrawData* draw_data, const std::filesystem::path& screenshot) {
  int width = 0, height = 0;
  glfwGetFramebufferSize(window_, &width, &height);
  if (width == 0 || height == 0) {  // minimised
    textures_->end_frame();
    return;
  }
  if (rebuild_ || static_cast<uint32_t>(width) != extent_.width || static_cast<uint32_t>(height) != extent_.height) {
    wait_frames();
    {
      std::lock_guard lock(context_.queue_mutex());
      vkQueueWaitIdle(context_.queue());
    }
    destroy_swapchain();
    create_swapchain();
    ImGui_ImplVulkan_SetMinImageCount(min_images_);
    rebuild_ = false;
  }

  Frame& f = frames_[frame_];
  vk::check(vkWaitForFences(device_, 1, &f.fence, VK_TRUE, std::numeric_limits<uint64_t>::max()), "waiting for a frame");
  textures_->prepare(frame_, [this] { wait_frames(); });
  uint32_t image = 0;
  VkResult acquired = vkAcquireNextImageKHR(device_, swapchain_, std::numeric_limits<uint64_t>::max(), f.acquired,
                                            VK_NULL_HANDLE, &image);
  if (acquired == VK_ERROR_OUT_OF_DATE_KHR) {
    rebuild_ = true;
    textures_->end_frame();
    return;
  }
  if (acquired == VK_SUBOPTIMAL_KHR) rebuild_ = true;
  else vk::check(acquired, "acquiring a swapchain image");
  vk::check(vkResetFences(device_, 1, &f.fence), "resetting a fence");

  const bool capture = !screenshot.empty();
  if (capture && !can_copy_) throw Error("this surface's swapchain images cannot be copied for a screenshot");
  const VkDeviceSize bytes = VkDeviceSize{extent_.width} * extent_.height * 4;
  if (capture) readback_.ensure(bytes);

  VkCommandBuffer cmd = f.commands;
  vk::check(vkResetCommandBuffer(cmd, 0), "resetting a command buffer");
  VkCommandBufferBeginInfo begin{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  vk::check(vkBeginCommandBuffer(cmd, &begin), "recording a frame");
  textures_->record_uploads(cmd, frame_);
  VkClearValue clear{};
  clear.color = {{0.10f, 0.10f, 0.12f, 1.0f}};
  VkRenderPassBeginInfo rp{VK_STRUCTURE_TYPE_RENDER_PASS_BEGIN_INFO};
  rp.renderPass = render_pass_;
  rp.framebuffer = framebuffers_[image];
  rp.renderArea.extent = extent_;
  rp.clearValueCount = 1;
  rp.pClearValues = &clear;
  vkCmdBeginRenderPass(cmd, &rp, VK_SUBPASS_CONTENTS_INLINE);
  textures_->begin_draw(cmd, draw_data);
  ImGui_ImplVulkan_RenderDrawData(draw_data, cmd);
  textures_->end_frame();
  vkCmdEndRenderPass(cmd);

  if (capture) {
    VkImageMemoryBarrier barrier{VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER};
    barrier.srcAccessMask = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT;
    barrier.dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT;
    barrier.oldLayout = VK_IMAGE_LAYOUT_PRESENT_SRC_KHR;
    barrier.newLayout = VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL;
    barrier.srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
    barrier.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
    barrier.image = images_[image];
    barrier.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 0,
                         nullptr, 0, nullptr, 1, &barrier);
    VkBufferImageCopy region{};
    region.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1};
    region.imageExtent = {extent_.width, extent_.height, 1};
    vkCmdCopyImageToBuffer(cmd, images_[image], VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, readback_.buffer(), 1, &region);
    barrier.srcAccessMask = VK_ACCESS_TRANSFER_READ_BIT;
    barrier.dstAccessMask = 0;
    barrier.oldLayout = VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL;
    barrier.newLayout = VK_IMAGE_LAYOUT_PRESENT_SRC_KHR;
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, 0, 0, nullptr,
                         0, nullptr, 1, &barrier);
    VkBufferMemoryBarrier host{VK_STRUCTURE_TYPE_BUFFER_MEMORY_BARRIER};
    host.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
    host.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
    host.srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
    host.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
    host.buffer = readback_.buffer();
    host.size = VK_WHOLE_SIZE;
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 0, nullptr, 1, &host, 0,
                         nullptr);
  }
  vk::check(vkEndCommandBuffer(cmd), "recording a frame");

  VkPipelineStageFlags wait_stage = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT;
  VkSubmitInfo submit{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  submit.waitSemaphoreCount = 1;
  submit.pWaitSemaphores = &f.acquired;
  submit.pWaitDstStageMask = &wait_stage;
  submit.commandBufferCount = 1;
  submit.pCommandBuffers = &cmd;
  submit.signalSemaphoreCount = 1;
  submit.pSignalSemaphores = &rendered_[image];
  VkPresentInfoKHR present{VK_STRUCTURE_TYPE_PRESENT_INFO_KHR};
  present.waitSemaphoreCount = 1;
  present.pWaitSemaphores = &rendered_[image];
  present.swapchainCount = 1;
  present.pSwapchains = &swapchain_;
  present.pImageIndices = &image;
  VkResult presented;
  {
    std::lock_guard lock(context_.queue_mutex());
    vk::check(vkQueueSubmit(context_.queue(), 1, &submit, f.fence), "submitting a frame");
    presented = vkQueuePresentKHR(context_.queue(), &present);
  }
  if (presented == VK_ERROR_OUT_OF_DATE_KHR || presented == VK_SUBOPTIMAL_KHR) rebuild_ = true;
  else vk::check(presented, "presenting a frame");
  frame_ = (frame_ + 1) % kFramesInFlight;

  if (capture) {
    vk::check(vkWaitForFences(device_, 1, &f.fence, VK_TRUE, std::numeric_limits<uint64_t>::max()), "taking a screenshot");
    write_screenshot(screenshot);
  }
}

void Renderer::write_screenshot(const std::filesystem::path& path) {
  const size_t pixels = size_t{extent_.width} * extent_.height;
  std::vector<uint8_t> rgba(pixels * 4);
  std::memcpy(rgba.data(), readback_.mapped(), rgba.size());
  const bool bgra = format_.format == VK_FORMAT_B8G8R8A8_UNORM || format_.format == VK_FORMAT_B8G8R8A8_SRGB;
  for (size_t i = 0; i < pixels; ++i) {
    if (bgra) std::swap(rgba[i * 4], rgba[i * 4 + 2]);
    rgba[i * 4 + 3] = 255;
  }
  if (!stbi_write_png(path.string().c_str(), static_cast<int>(extent_.width), static_cast<int>(extent_.height), 4,
                      rgba.data(), static_cast<int>(extent_.width * 4)))
    throw Error("cannot write the screenshot " + path.string());
}

}  // namespace vkbnn::studio
