#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <imgui.h>
#include <vulkan/vulkan.h>

#include "host_buffer.hpp"
#include "vkbnn/vulkan/handles.hpp"

namespace vkbnn {
class Context;
}

namespace vkbnn::studio {

// An RGBA8 image that panels draw and that the host (uploads) or a compute shader (storage) fills.
struct Texture {
  uint32_t width = 0, height = 0;
  bool storage = false;
  vk::UniqueImage image;
  vk::UniqueMemory memory;
  vk::UniqueImageView view;
  VkDescriptorSet set = VK_NULL_HANDLE;  // from TextureSystem's pool, freed by destroy()
  VkImageLayout layout = VK_IMAGE_LAYOUT_UNDEFINED;
  std::vector<uint8_t> pending;  // RGBA rows waiting for the next frame's upload
  bool has_content = false;
};

// Textures by name, and the pipeline that draws them inside Dear ImGui windows. Dear ImGui
// 1.86's Vulkan backend draws only its font texture, so an image is a draw-list callback that
// binds this pipeline and draws one quad (then asks the backend to restore its state).
class TextureSystem {
 public:
  TextureSystem(Context& context, VkRenderPass render_pass, uint32_t frames_in_flight);
  ~TextureSystem();
  TextureSystem(const TextureSystem&) = delete;
  TextureSystem& operator=(const TextureSystem&) = delete;

  // Host pixels (RGBA, rows top to bottom), uploaded with the next frame.
  void set_pixels(const std::string& name, uint32_t width, uint32_t height, std::vector<uint8_t> rgba);
  // A texture that compute shaders write (as a storage image, layout GENERAL while they do).
  // Created (or replaced, after wait_all_frames) at once, so a compute pass can use it now.
  Texture& storage_texture(const std::string& name, uint32_t width, uint32_t height,
                           const std::function<void()>& wait_all_frames);
  Texture* find(const std::string& name);

  // ImGui widget: the texture, or its [uv0, uv1] part, at the cursor in a size x size box.
  void image(const std::string& name, ImVec2 size, ImVec2 uv0 = {0, 0}, ImVec2 uv1 = {1, 1});

  // Called by the renderer: before recording a frame (frame's fence waited; may call
  // wait_all_frames to replace a texture in use), then before the render pass, then around
  // ImGui_ImplVulkan_RenderDrawData.
  void prepare(uint32_t frame, const std::function<void()>& wait_all_frames);
  void record_uploads(VkCommandBuffer cmd, uint32_t frame);
  void begin_draw(VkCommandBuffer cmd, ImDrawData* draw_data);
  void end_frame();

  VkDevice device() const { return device_; }

 private:
  struct Draw {
    TextureSystem* self;
    Texture* texture;
    ImVec2 p0, p1, uv0, uv1;
  };
  static void draw_callback(const ImDrawList* list, const ImDrawCmd* cmd);
  void create(Texture& t);
  void destroy(Texture& t);

  Context& context_;
  VkDevice device_;
  vk::UniqueSampler sampler_;
  vk::UniqueDescriptorSetLayout set_layout_;
  vk::UniqueDescriptorPool pool_;
  vk::UniquePipelineLayout layout_;
  vk::UniquePipeline pipeline_;
  std::map<std::string, std::unique_ptr<Texture>> textures_;
  std::vector<std::unique_ptr<Draw>> draws_;  // this frame's callbacks
  VkCommandBuffer cmd_ = VK_NULL_HANDLE;
  ImDrawData* draw_data_ = nullptr;
  std::vector<HostBuffer> staging_;  // one per frame in flight
};

}  // namespace vkbnn::studio
