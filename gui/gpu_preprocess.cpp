#include "gpu_preprocess.hpp"

#include <cstring>

#include "spv/camera_preprocess_comp.h"
#include "vkbnn/error.hpp"

namespace vkbnn::studio {

namespace {

struct Params {
  uint32_t pass, src_width, src_height, src_stride, dst_width, dst_height, channels, bgr;
  uint32_t rgb;  // 1: the frame is 3-byte RGB (decoded MJPEG), 0: YUYV
  uint32_t pad[3];  // the shader's vec4s start on 16 bytes
  float mean[4];
  float inv_std[4];
};

constexpr VkDescriptorType kBindings[] = {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, VK_DESCRIPTOR_TYPE_STORAGE_IMAGE};

}  // namespace

GpuPreprocess::GpuPreprocess(Context& context, TextureSystem& textures)
    : context_(context), textures_(textures), device_(context.vk_device()),
      pass_(context, kBindings, sizeof(Params), studio_spirv_camera_preprocess_comp, "camera"),
      frame_(context, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, 256, "a camera frame buffer"),
      tensor_(context, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, 256, "a camera tensor buffer") {}

std::vector<float> GpuPreprocess::process(const CameraFrame& frame, const io::InputLayout& layout,
                                          const std::function<void()>& wait_all_frames) {
  const int bytes_per_pixel = frame.format == PixelFormat::RGB ? 3 : 2;
  if (frame.width <= 0 || frame.height <= 0 || frame.stride < frame.width * bytes_per_pixel ||
      frame.bytes.size() < size_t(frame.stride) * frame.height)
    throw Error("a camera frame of the wrong size");
  if (layout.channels != 1 && layout.channels != 3) throw Error("the model does not take 1 or 3 channels");
  const VkDeviceSize frame_bytes = VkDeviceSize(frame.stride) * frame.height;
  const VkDeviceSize tensor_bytes = layout.image_elements() * sizeof(float);
  frame_.ensure(frame_bytes);
  tensor_.ensure(tensor_bytes);
  std::memcpy(frame_.mapped(), frame.bytes.data(), frame_bytes);
  Texture& display = textures_.storage_texture("input", static_cast<uint32_t>(frame.width),
                                               static_cast<uint32_t>(frame.height), wait_all_frames);

  VkDescriptorBufferInfo in{frame_.buffer(), 0, VK_WHOLE_SIZE};
  VkDescriptorBufferInfo out{tensor_.buffer(), 0, VK_WHOLE_SIZE};
  VkDescriptorImageInfo image{VK_NULL_HANDLE, display.view.get(), VK_IMAGE_LAYOUT_GENERAL};
  VkWriteDescriptorSet writes[3]{};
  for (uint32_t i = 0; i < 3; ++i) {
    writes[i] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
    writes[i].dstSet = pass_.set;
    writes[i].dstBinding = i;
    writes[i].descriptorCount = 1;
    writes[i].descriptorType = i == 2 ? VK_DESCRIPTOR_TYPE_STORAGE_IMAGE : VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
  }
  writes[0].pBufferInfo = &in;
  writes[1].pBufferInfo = &out;
  writes[2].pImageInfo = &image;
  vkUpdateDescriptorSets(device_, 3, writes, 0, nullptr);

  Params params{};
  params.src_width = static_cast<uint32_t>(frame.width);
  params.src_height = static_cast<uint32_t>(frame.height);
  params.src_stride = static_cast<uint32_t>(frame.stride);
  params.dst_width = static_cast<uint32_t>(layout.width);
  params.dst_height = static_cast<uint32_t>(layout.height);
  params.channels = static_cast<uint32_t>(layout.channels);
  params.bgr = layout.order == ChannelOrder::BGR ? 1u : 0u;
  params.rgb = frame.format == PixelFormat::RGB ? 1u : 0u;
  for (int c = 0; c < 4; ++c) {
    params.mean[c] = c < static_cast<int>(layout.mean.size()) ? layout.mean[c] : 0.f;
    float sd = c < static_cast<int>(layout.std.size()) ? layout.std[c] : 1.f;
    params.inv_std[c] = sd != 0 ? 1.f / sd : 1.f;
  }

  pass_.run(display.image.get(), "the camera conversion", [&](VkCommandBuffer cmd) {
    VkImageMemoryBarrier to_general{VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER};
    to_general.dstAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
    to_general.oldLayout = VK_IMAGE_LAYOUT_UNDEFINED;
    to_general.newLayout = VK_IMAGE_LAYOUT_GENERAL;
    to_general.srcQueueFamilyIndex = to_general.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
    to_general.image = display.image.get();
    to_general.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_FRAGMENT_SHADER_BIT | VK_PIPELINE_STAGE_HOST_BIT,
                         VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 0, nullptr, 0, nullptr, 1, &to_general);
    vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pass_.pipeline.get());
    vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pass_.layout.get(), 0, 1, &pass_.set, 0, nullptr);
    params.pass = 0;
    vkCmdPushConstants(cmd, pass_.layout.get(), VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof params, &params);
    vkCmdDispatch(cmd, (params.src_width + 7) / 8, (params.src_height + 7) / 8, 1);
    params.pass = 1;
    vkCmdPushConstants(cmd, pass_.layout.get(), VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof params, &params);
    vkCmdDispatch(cmd, (params.dst_width + 7) / 8, (params.dst_height + 7) / 8, 1);
  });
  display.layout = VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL;
  display.has_content = true;
  const auto* values = static_cast<const float*>(tensor_.mapped());
  return {values, values + layout.image_elements()};
}

}  // namespace vkbnn::studio
