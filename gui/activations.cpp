#include "activations.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "spv/activation_heatmap_comp.h"
#include "vkbnn/error.hpp"

namespace vkbnn::studio {

namespace {

// As Params in activation_heatmap.comp.
struct HeatmapParams {
  uint32_t offset, channels, height, width, packing, columns;
  float scale;
  int32_t zero_point;
};

// Storage codes of activation_heatmap.comp.
constexpr uint32_t kFloat32 = 0, kPackedBits = 1, kPackedInt8 = 2;

constexpr VkDescriptorType kBindings[] = {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, VK_DESCRIPTOR_TYPE_STORAGE_IMAGE, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER};

}  // namespace

ActivationView::ActivationView(Context& context, TextureSystem& textures)
    : context_(context), textures_(textures), device_(context.vk_device()),
      pass_(context, kBindings, sizeof(HeatmapParams), studio_spirv_activation_heatmap_comp, "heatmap"),
      range_buffer_(context, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, 4096, "the heatmap range buffer") {}

ActivationView::~ActivationView() = default;

std::pair<ImVec2, ImVec2> ActivationView::tile_uv(uint32_t c) const {
  const float tex_w = static_cast<float>(columns_ * (width_ + 1)), tex_h = static_cast<float>(rows() * (height_ + 1));
  const float x = static_cast<float>((c % columns_) * (width_ + 1)), y = static_cast<float>((c / columns_) * (height_ + 1));
  return {ImVec2(x / tex_w, y / tex_h), ImVec2((x + width_) / tex_w, (y + height_) / tex_h)};
}

void ActivationView::update(const DeviceTensor& tensor, const std::function<void()>& wait_all_frames) {
  const auto& shape = tensor.shape;
  if (shape.size() < 2 || shape[0] != 1) throw Error("only tensors with batch 1 and channels are shown");
  const uint32_t c = static_cast<uint32_t>(shape[1]);
  const uint32_t h = shape.size() >= 3 ? static_cast<uint32_t>(shape[2]) : 1;
  uint32_t w = 1;
  for (size_t i = 3; i < shape.size(); ++i) w *= static_cast<uint32_t>(shape[i]);
  uint32_t columns = std::max(1u, static_cast<uint32_t>(std::ceil(std::sqrt(double(c) * (h + 1) / (w + 1)))));
  columns = std::min(columns, c);
  const uint32_t rows = (c + columns - 1) / columns;
  const uint32_t tex_w = columns * (w + 1), tex_h = rows * (h + 1);
  if (tex_w > 8192 || tex_h > 8192) throw Error("the tensor is too large to show");
  Texture& texture = textures_.storage_texture("activations", tex_w, tex_h, wait_all_frames);
  range_buffer_.ensure(VkDeviceSize{c} * 4 * sizeof(float));

  // Bind from an aligned offset; the shader adds the rest in words.
  VkPhysicalDeviceProperties props{};
  vkGetPhysicalDeviceProperties(context_.physical_device(), &props);
  const VkDeviceSize align = std::max<VkDeviceSize>(props.limits.minStorageBufferOffsetAlignment, 4);
  const VkDeviceSize base = tensor.offset / align * align;
  VkDescriptorBufferInfo arena{tensor.buffer, base, tensor.offset + tensor.bytes - base};
  VkDescriptorImageInfo image{VK_NULL_HANDLE, texture.view.get(), VK_IMAGE_LAYOUT_GENERAL};
  VkDescriptorBufferInfo ranges{range_buffer_.buffer(), 0, VK_WHOLE_SIZE};
  VkWriteDescriptorSet writes[3]{};
  for (int i = 0; i < 3; ++i) {
    writes[i] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
    writes[i].dstSet = pass_.set;
    writes[i].dstBinding = static_cast<uint32_t>(i);
    writes[i].descriptorCount = 1;
  }
  writes[0].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
  writes[0].pBufferInfo = &arena;
  writes[1].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_IMAGE;
  writes[1].pImageInfo = &image;
  writes[2].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
  writes[2].pBufferInfo = &ranges;
  vkUpdateDescriptorSets(device_, 3, writes, 0, nullptr);

  pass_.run(texture.image.get(), "the heatmaps", [&](VkCommandBuffer cmd) {
    // The engine's writes to the arena (earlier submissions) before this pass reads them.
    VkMemoryBarrier engine_writes{VK_STRUCTURE_TYPE_MEMORY_BARRIER, nullptr,
                                  VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT, VK_ACCESS_SHADER_READ_BIT};
    // Earlier frames may still sample the texture: it changes layout only after them.
    VkImageMemoryBarrier to_general{VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER};
    to_general.srcAccessMask = 0;
    to_general.dstAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
    to_general.oldLayout = VK_IMAGE_LAYOUT_UNDEFINED;
    to_general.newLayout = VK_IMAGE_LAYOUT_GENERAL;
    to_general.srcQueueFamilyIndex = to_general.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
    to_general.image = texture.image.get();
    to_general.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
    vkCmdPipelineBarrier(cmd,
                         VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT |
                             VK_PIPELINE_STAGE_FRAGMENT_SHADER_BIT,
                         VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &engine_writes, 0,
                         nullptr, 1, &to_general);
    VkClearColorValue background{{0.16f, 0.16f, 0.18f, 1.0f}};
    VkImageSubresourceRange all{VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
    vkCmdClearColorImage(cmd, texture.image.get(), VK_IMAGE_LAYOUT_GENERAL, &background, 1, &all);
    VkImageMemoryBarrier cleared = to_general;
    cleared.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
    cleared.dstAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
    cleared.oldLayout = VK_IMAGE_LAYOUT_GENERAL;
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 0, nullptr, 0,
                         nullptr, 1, &cleared);
    vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pass_.pipeline.get());
    vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pass_.layout.get(), 0, 1, &pass_.set, 0, nullptr);
    HeatmapParams params{static_cast<uint32_t>((tensor.offset - base) / 4),
                         c,
                         h,
                         w,
                         tensor.packed_bits ? kPackedBits : tensor.packed_int8 ? kPackedInt8 : kFloat32,
                         columns,
                         tensor.scale,
                         tensor.zero_point};
    vkCmdPushConstants(cmd, pass_.layout.get(), VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof params, &params);
    vkCmdDispatch(cmd, c, 1, 1);
  });
  texture.layout = VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL;
  texture.has_content = true;

  channels_ = c;
  height_ = h;
  width_ = w;
  columns_ = columns;
  packed_ = tensor.packed_bits;
  int8_ = tensor.packed_int8;
  ranges_.resize(c);
  const auto* values = static_cast<const float*>(range_buffer_.mapped());
  for (uint32_t i = 0; i < c; ++i) ranges_[i] = {values[4 * i], values[4 * i + 1], values[4 * i + 2]};
}

}  // namespace vkbnn::studio
