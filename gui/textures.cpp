#include "textures.hpp"

#include <algorithm>
#include <cstring>

#include "spv/textured_quad_frag.h"
#include "spv/textured_quad_vert.h"
#include "vkbnn/device.hpp"
#include "vkbnn/error.hpp"
#include "vkbnn/vulkan/commands.hpp"

namespace vkbnn::studio {

namespace {

vk::UniqueShaderModule shader_module(VkDevice device, const uint32_t* code, size_t words) {
  VkShaderModuleCreateInfo info{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  info.codeSize = words * sizeof(uint32_t);
  info.pCode = code;
  VkShaderModule module = VK_NULL_HANDLE;
  vk::check(vkCreateShaderModule(device, &info, nullptr, &module), "creating a shader module");
  return vk::UniqueShaderModule(device, module);
}

struct QuadConstants {
  float rect[4];
  float uv[4];
};

}  // namespace

TextureSystem::TextureSystem(Context& context, VkRenderPass render_pass, uint32_t frames_in_flight)
    : context_(context), device_(context.vk_device()) {
  for (uint32_t i = 0; i < frames_in_flight; ++i)
    staging_.emplace_back(context, VK_BUFFER_USAGE_TRANSFER_SRC_BIT, 1 << 20, "a texture staging buffer");
  VkSamplerCreateInfo sampler{VK_STRUCTURE_TYPE_SAMPLER_CREATE_INFO};
  sampler.magFilter = VK_FILTER_NEAREST;  // pixels stay visible when enlarged
  sampler.minFilter = VK_FILTER_LINEAR;
  sampler.mipmapMode = VK_SAMPLER_MIPMAP_MODE_NEAREST;
  sampler.addressModeU = sampler.addressModeV = sampler.addressModeW = VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE;
  sampler.maxLod = 0;
  VkSampler sampler_handle = VK_NULL_HANDLE;
  vk::check(vkCreateSampler(device_, &sampler, nullptr, &sampler_handle), "creating a sampler");
  sampler_ = vk::UniqueSampler(device_, sampler_handle);

  VkDescriptorSetLayoutBinding binding{};
  binding.binding = 0;
  binding.descriptorType = VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER;
  binding.descriptorCount = 1;
  binding.stageFlags = VK_SHADER_STAGE_FRAGMENT_BIT;
  set_layout_ = vk::create_descriptor_set_layout(device_, {&binding, 1}, "the texture descriptor set layout");
  const VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, 64};
  pool_ = vk::create_descriptor_pool(device_, 64, {&size, 1}, VK_DESCRIPTOR_POOL_CREATE_FREE_DESCRIPTOR_SET_BIT,
                                     "the texture descriptor pool");
  layout_ = vk::create_pipeline_layout(device_, set_layout_.get(), sizeof(QuadConstants), VK_SHADER_STAGE_VERTEX_BIT,
                                       "the texture pipeline layout");

  const auto vert = shader_module(device_, studio_spirv_textured_quad_vert, std::size(studio_spirv_textured_quad_vert));
  const auto frag = shader_module(device_, studio_spirv_textured_quad_frag, std::size(studio_spirv_textured_quad_frag));
  VkPipelineShaderStageCreateInfo stages[2]{};
  stages[0] = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, nullptr, 0, VK_SHADER_STAGE_VERTEX_BIT, vert.get(), "main", nullptr};
  stages[1] = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, nullptr, 0, VK_SHADER_STAGE_FRAGMENT_BIT, frag.get(), "main", nullptr};
  VkPipelineVertexInputStateCreateInfo vertex{VK_STRUCTURE_TYPE_PIPELINE_VERTEX_INPUT_STATE_CREATE_INFO};
  VkPipelineInputAssemblyStateCreateInfo assembly{VK_STRUCTURE_TYPE_PIPELINE_INPUT_ASSEMBLY_STATE_CREATE_INFO};
  assembly.topology = VK_PRIMITIVE_TOPOLOGY_TRIANGLE_STRIP;
  VkPipelineViewportStateCreateInfo viewport{VK_STRUCTURE_TYPE_PIPELINE_VIEWPORT_STATE_CREATE_INFO};
  viewport.viewportCount = 1;
  viewport.scissorCount = 1;
  VkPipelineRasterizationStateCreateInfo raster{VK_STRUCTURE_TYPE_PIPELINE_RASTERIZATION_STATE_CREATE_INFO};
  raster.polygonMode = VK_POLYGON_MODE_FILL;
  raster.cullMode = VK_CULL_MODE_NONE;
  raster.frontFace = VK_FRONT_FACE_COUNTER_CLOCKWISE;
  raster.lineWidth = 1.0f;
  VkPipelineMultisampleStateCreateInfo multisample{VK_STRUCTURE_TYPE_PIPELINE_MULTISAMPLE_STATE_CREATE_INFO};
  multisample.rasterizationSamples = VK_SAMPLE_COUNT_1_BIT;
  VkPipelineColorBlendAttachmentState blend_attachment{};
  blend_attachment.colorWriteMask =
      VK_COLOR_COMPONENT_R_BIT | VK_COLOR_COMPONENT_G_BIT | VK_COLOR_COMPONENT_B_BIT | VK_COLOR_COMPONENT_A_BIT;
  VkPipelineColorBlendStateCreateInfo blend{VK_STRUCTURE_TYPE_PIPELINE_COLOR_BLEND_STATE_CREATE_INFO};
  blend.attachmentCount = 1;
  blend.pAttachments = &blend_attachment;
  VkPipelineDepthStencilStateCreateInfo depth{VK_STRUCTURE_TYPE_PIPELINE_DEPTH_STENCIL_STATE_CREATE_INFO};
  VkDynamicState dynamic_states[] = {VK_DYNAMIC_STATE_VIEWPORT, VK_DYNAMIC_STATE_SCISSOR};
  VkPipelineDynamicStateCreateInfo dynamic{VK_STRUCTURE_TYPE_PIPELINE_DYNAMIC_STATE_CREATE_INFO};
  dynamic.dynamicStateCount = 2;
  dynamic.pDynamicStates = dynamic_states;
  VkGraphicsPipelineCreateInfo info{VK_STRUCTURE_TYPE_GRAPHICS_PIPELINE_CREATE_INFO};
  info.stageCount = 2;
  info.pStages = stages;
  info.pVertexInputState = &vertex;
  info.pInputAssemblyState = &assembly;
  info.pViewportState = &viewport;
  info.pRasterizationState = &raster;
  info.pMultisampleState = &multisample;
  info.pDepthStencilState = &depth;
  info.pColorBlendState = &blend;
  info.pDynamicState = &dynamic;
  info.layout = layout_.get();
  info.renderPass = render_pass;
  VkPipeline pipeline = VK_NULL_HANDLE;
  vk::check(vkCreateGraphicsPipelines(device_, VK_NULL_HANDLE, 1, &info, nullptr, &pipeline),
            "creating the texture pipeline");
  pipeline_ = vk::UniquePipeline(device_, pipeline);
}

TextureSystem::~TextureSystem() {
  for (auto& [name, t] : textures_) destroy(*t);
}

void TextureSystem::create(Texture& t) {
  VkImageCreateInfo info{VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO};
  info.imageType = VK_IMAGE_TYPE_2D;
  info.format = VK_FORMAT_R8G8B8A8_UNORM;
  info.extent = {t.width, t.height, 1};
  info.mipLevels = 1;
  info.arrayLayers = 1;
  info.samples = VK_SAMPLE_COUNT_1_BIT;
  info.tiling = VK_IMAGE_TILING_OPTIMAL;
  info.usage = VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT | (t.storage ? VK_IMAGE_USAGE_STORAGE_BIT : 0);
  info.initialLayout = VK_IMAGE_LAYOUT_UNDEFINED;
  VkImage image = VK_NULL_HANDLE;
  vk::check(vkCreateImage(device_, &info, nullptr, &image), "creating a texture");
  t.image = vk::UniqueImage(device_, image);
  VkMemoryRequirements req{};
  vkGetImageMemoryRequirements(device_, image, &req);
  VkMemoryAllocateInfo alloc{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  alloc.allocationSize = req.size;
  alloc.memoryTypeIndex =
      find_memory_type(context_.physical_device(), req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, "a texture");
  VkDeviceMemory memory = VK_NULL_HANDLE;
  vk::check(vkAllocateMemory(device_, &alloc, nullptr, &memory), "allocating a texture");
  t.memory = vk::UniqueMemory(device_, memory);
  vk::check(vkBindImageMemory(device_, image, memory, 0), "binding a texture");
  VkImageViewCreateInfo view{VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO};
  view.image = image;
  view.viewType = VK_IMAGE_VIEW_TYPE_2D;
  view.format = VK_FORMAT_R8G8B8A8_UNORM;
  view.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
  VkImageView view_handle = VK_NULL_HANDLE;
  vk::check(vkCreateImageView(device_, &view, nullptr, &view_handle), "creating a texture view");
  t.view = vk::UniqueImageView(device_, view_handle);
  VkDescriptorSetAllocateInfo ds{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
  ds.descriptorPool = pool_.get();
  ds.descriptorSetCount = 1;
  const VkDescriptorSetLayout set_layout = set_layout_.get();
  ds.pSetLayouts = &set_layout;
  vk::check(vkAllocateDescriptorSets(device_, &ds, &t.set), "allocating a texture descriptor");
  VkDescriptorImageInfo image_info{sampler_.get(), view_handle, VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL};
  VkWriteDescriptorSet write{VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
  write.dstSet = t.set;
  write.descriptorCount = 1;
  write.descriptorType = VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER;
  write.pImageInfo = &image_info;
  vkUpdateDescriptorSets(device_, 1, &write, 0, nullptr);
  t.layout = VK_IMAGE_LAYOUT_UNDEFINED;
  t.has_content = false;
}

void TextureSystem::destroy(Texture& t) {
  if (t.set) vkFreeDescriptorSets(device_, pool_.get(), 1, &t.set);
  t.set = VK_NULL_HANDLE;
  t.view = {};
  t.image = {};
  t.memory = {};
}

void TextureSystem::set_pixels(const std::string& name, uint32_t width, uint32_t height, std::vector<uint8_t> rgba) {
  auto& slot = textures_[name];
  if (!slot) slot = std::make_unique<Texture>();
  if (slot->width != width || slot->height != height) {
    // Replaced in prepare(), once no frame in flight uses it.
    slot->width = width;
    slot->height = height;
    slot->layout = VK_IMAGE_LAYOUT_MAX_ENUM;  // marks "recreate"
  }
  slot->pending = std::move(rgba);
}

Texture& TextureSystem::storage_texture(const std::string& name, uint32_t width, uint32_t height,
                                        const std::function<void()>& wait_all_frames) {
  auto& slot = textures_[name];
  if (!slot) slot = std::make_unique<Texture>();
  const bool was_storage = slot->storage;
  slot->storage = true;
  slot->pending.clear();
  if (!was_storage || slot->width != width || slot->height != height || !slot->image) {
    if (slot->image) wait_all_frames();
    destroy(*slot);
    slot->width = width;
    slot->height = height;
    create(*slot);
  }
  return *slot;
}

Texture* TextureSystem::find(const std::string& name) {
  auto it = textures_.find(name);
  return it == textures_.end() ? nullptr : it->second.get();
}

void TextureSystem::prepare(uint32_t, const std::function<void()>& wait_all_frames) {
  bool waited = false;
  for (auto& [name, t] : textures_) {
    if (t->layout != VK_IMAGE_LAYOUT_MAX_ENUM) continue;
    if (!waited && t->image) {
      wait_all_frames();
      waited = true;
    }
    destroy(*t);
    create(*t);
  }
}

void TextureSystem::record_uploads(VkCommandBuffer cmd, uint32_t frame) {
  VkDeviceSize total = 0;
  for (auto& [name, t] : textures_) total += t->pending.size();
  if (total == 0) return;
  HostBuffer& s = staging_[frame];
  s.ensure(total);
  VkDeviceSize offset = 0;
  for (auto& [name, t] : textures_) {
    if (t->pending.empty()) continue;
    if (t->pending.size() != size_t{t->width} * t->height * 4) {
      t->pending.clear();
      continue;
    }
    std::memcpy(static_cast<uint8_t*>(s.mapped()) + offset, t->pending.data(), t->pending.size());
    VkImageMemoryBarrier barrier{VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER};
    barrier.srcAccessMask = 0;
    barrier.dstAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
    barrier.oldLayout = t->layout == VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL ? t->layout : VK_IMAGE_LAYOUT_UNDEFINED;
    barrier.newLayout = VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL;
    barrier.srcQueueFamilyIndex = barrier.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
    barrier.image = t->image.get();
    barrier.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_FRAGMENT_SHADER_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 0, nullptr, 0,
                         nullptr, 1, &barrier);
    VkBufferImageCopy region{};
    region.bufferOffset = offset;
    region.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1};
    region.imageExtent = {t->width, t->height, 1};
    vkCmdCopyBufferToImage(cmd, s.buffer(), t->image.get(), VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &region);
    barrier.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
    barrier.dstAccessMask = VK_ACCESS_SHADER_READ_BIT;
    barrier.oldLayout = VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL;
    barrier.newLayout = VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL;
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_FRAGMENT_SHADER_BIT, 0, 0, nullptr, 0,
                         nullptr, 1, &barrier);
    t->layout = VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL;
    t->has_content = true;
    offset += (t->pending.size() + 15) & ~VkDeviceSize{15};
    t->pending.clear();
  }
}

void TextureSystem::image(const std::string& name, ImVec2 size, ImVec2 uv0, ImVec2 uv1) {
  ImVec2 p0 = ImGui::GetCursorScreenPos();
  ImGui::Dummy(size);
  Texture* t = find(name);
  if (!t) return;
  auto draw = std::make_unique<Draw>(Draw{this, t, p0, ImVec2(p0.x + size.x, p0.y + size.y), uv0, uv1});
  ImDrawList* list = ImGui::GetWindowDrawList();
  list->AddCallback(draw_callback, draw.get());
  list->AddCallback(ImDrawCallback_ResetRenderState, nullptr);
  draws_.push_back(std::move(draw));
}

void TextureSystem::begin_draw(VkCommandBuffer cmd, ImDrawData* draw_data) {
  cmd_ = cmd;
  draw_data_ = draw_data;
}

void TextureSystem::end_frame() {
  draws_.clear();
  cmd_ = VK_NULL_HANDLE;
  draw_data_ = nullptr;
}

void TextureSystem::draw_callback(const ImDrawList*, const ImDrawCmd* pcmd) {
  auto* d = static_cast<Draw*>(pcmd->UserCallbackData);
  TextureSystem& self = *d->self;
  Texture& t = *d->texture;
  if (!self.cmd_ || !self.draw_data_ || !t.has_content || t.layout != VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL) return;
  const ImDrawData* dd = self.draw_data_;
  const ImVec2 scale = dd->FramebufferScale;
  const float fb_w = dd->DisplaySize.x * scale.x, fb_h = dd->DisplaySize.y * scale.y;
  ImVec4 clip((pcmd->ClipRect.x - dd->DisplayPos.x) * scale.x, (pcmd->ClipRect.y - dd->DisplayPos.y) * scale.y,
              (pcmd->ClipRect.z - dd->DisplayPos.x) * scale.x, (pcmd->ClipRect.w - dd->DisplayPos.y) * scale.y);
  clip.x = std::max(clip.x, 0.f);
  clip.y = std::max(clip.y, 0.f);
  clip.z = std::min(clip.z, fb_w);
  clip.w = std::min(clip.w, fb_h);
  if (clip.z <= clip.x || clip.w <= clip.y) return;
  VkCommandBuffer cmd = self.cmd_;
  vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, self.pipeline_.get());
  vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, self.layout_.get(), 0, 1, &t.set, 0, nullptr);
  VkViewport viewport{0, 0, fb_w, fb_h, 0, 1};
  vkCmdSetViewport(cmd, 0, 1, &viewport);
  VkRect2D scissor{{static_cast<int32_t>(clip.x), static_cast<int32_t>(clip.y)},
                   {static_cast<uint32_t>(clip.z - clip.x), static_cast<uint32_t>(clip.w - clip.y)}};
  vkCmdSetScissor(cmd, 0, 1, &scissor);
  auto ndc_x = [&](float x) { return (x - dd->DisplayPos.x) / dd->DisplaySize.x * 2.f - 1.f; };
  auto ndc_y = [&](float y) { return (y - dd->DisplayPos.y) / dd->DisplaySize.y * 2.f - 1.f; };
  QuadConstants q{{ndc_x(d->p0.x), ndc_y(d->p0.y), ndc_x(d->p1.x), ndc_y(d->p1.y)},
                  {d->uv0.x, d->uv0.y, d->uv1.x, d->uv1.y}};
  vkCmdPushConstants(cmd, self.layout_.get(), VK_SHADER_STAGE_VERTEX_BIT, 0, sizeof q, &q);
  vkCmdDraw(cmd, 4, 1, 0, 0);
}

}  // namespace vkbnn::studio
