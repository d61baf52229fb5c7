#include "gpu_preprocess.hpp"

#include <cstring>
#include <limits>
#include <mutex>

#include "spv/camera_preprocess_comp.h"
#include "vkbnn/error.hpp"

namespace vkbnn::studio {

namespace {

void check(VkResult result, const char* what) {
  if (result != VK_SUCCESS) throw VulkanError(result, what);
}

struct Params {
  uint32_t pass, src_width, src_height, src_stride, dst_width, dst_height, channels, bgr;
  float mean[4];
  float inv_std[4];
};

}  // namespace

GpuPreprocess::GpuPreprocess(Context& context, TextureSystem& textures)
    : context_(context), textures_(textures), device_(context.vk_device()) {
  VkDescriptorSetLayoutBinding bindings[3]{};
  bindings[0] = {0, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, nullptr};
  bindings[1] = {1, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, nullptr};
  bindings[2] = {2, VK_DESCRIPTOR_TYPE_STORAGE_IMAGE, 1, VK_SHADER_STAGE_COMPUTE_BIT, nullptr};
  VkDescriptorSetLayoutCreateInfo sl{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
  sl.bindingCount = 3;
  sl.pBindings = bindings;
  check(vkCreateDescriptorSetLayout(device_, &sl, nullptr, &set_layout_), "creating the camera layout");
  VkPushConstantRange push{VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof(Params)};
  VkPipelineLayoutCreateInfo pl{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  pl.setLayoutCount = 1;
  pl.pSetLayouts = &set_layout_;
  pl.pushConstantRangeCount = 1;
  pl.pPushConstantRanges = &push;
  check(vkCreatePipelineLayout(device_, &pl, nullptr, &layout_), "creating the camera pipeline layout");
  VkShaderModuleCreateInfo sm{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  sm.codeSize = sizeof(studio_spirv_camera_preprocess_comp);
  sm.pCode = studio_spirv_camera_preprocess_comp;
  VkShaderModule module = VK_NULL_HANDLE;
  check(vkCreateShaderModule(device_, &sm, nullptr, &module), "creating the camera shader");
  VkComputePipelineCreateInfo cp{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
  cp.stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, nullptr, 0, VK_SHADER_STAGE_COMPUTE_BIT, module, "main", nullptr};
  cp.layout = layout_;
  VkResult r = vkCreateComputePipelines(device_, VK_NULL_HANDLE, 1, &cp, nullptr, &pipeline_);
  vkDestroyShaderModule(device_, module, nullptr);
  check(r, "creating the camera pipeline");
  VkDescriptorPoolSize sizes[] = {{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 2}, {VK_DESCRIPTOR_TYPE_STORAGE_IMAGE, 1}};
  VkDescriptorPoolCreateInfo dp{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
  dp.maxSets = 1;
  dp.poolSizeCount = 2;
  dp.pPoolSizes = sizes;
  check(vkCreateDescriptorPool(device_, &dp, nullptr, &pool_), "creating the camera descriptor pool");
  VkDescriptorSetAllocateInfo ds{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
  ds.descriptorPool = pool_;
  ds.descriptorSetCount = 1;
  ds.pSetLayouts = &set_layout_;
  check(vkAllocateDescriptorSets(device_, &ds, &set_), "allocating the camera descriptors");
  VkCommandPoolCreateInfo cpi{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  cpi.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  cpi.queueFamilyIndex = context.queue_family();
  check(vkCreateCommandPool(device_, &cpi, nullptr, &command_pool_), "creating a command pool");
  VkCommandBufferAllocateInfo alloc{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  alloc.commandPool = command_pool_;
  alloc.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  alloc.commandBufferCount = 1;
  check(vkAllocateCommandBuffers(device_, &alloc, &cmd_), "allocating a command buffer");
  VkFenceCreateInfo fence{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  check(vkCreateFence(device_, &fence, nullptr, &fence_), "creating a fence");
}

GpuPreprocess::~GpuPreprocess() {
  release(frame_);
  release(tensor_);
  vkDestroyFence(device_, fence_, nullptr);
  vkDestroyCommandPool(device_, command_pool_, nullptr);
  vkDestroyDescriptorPool(device_, pool_, nullptr);
  vkDestroyPipeline(device_, pipeline_, nullptr);
  vkDestroyPipelineLayout(device_, layout_, nullptr);
  vkDestroyDescriptorSetLayout(device_, set_layout_, nullptr);
}

void GpuPreprocess::release(HostBuffer& b) {
  if (b.buffer) vkDestroyBuffer(device_, b.buffer, nullptr);
  if (b.memory) vkFreeMemory(device_, b.memory, nullptr);
  b = {};
}

void GpuPreprocess::ensure(HostBuffer& b, VkDeviceSize bytes) {
  if (b.size >= bytes) return;
  release(b);
  VkBufferCreateInfo bi{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  bi.size = (bytes + 255) & ~VkDeviceSize{255};
  bi.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;
  check(vkCreateBuffer(device_, &bi, nullptr, &b.buffer), "creating a camera buffer");
  VkMemoryRequirements req{};
  vkGetBufferMemoryRequirements(device_, b.buffer, &req);
  VkMemoryAllocateInfo alloc{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  alloc.allocationSize = req.size;
  alloc.memoryTypeIndex = textures_.memory_type(
      req.memoryTypeBits, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
  check(vkAllocateMemory(device_, &alloc, nullptr, &b.memory), "allocating a camera buffer");
  check(vkBindBufferMemory(device_, b.buffer, b.memory, 0), "binding a camera buffer");
  check(vkMapMemory(device_, b.memory, 0, VK_WHOLE_SIZE, 0, &b.mapped), "mapping a camera buffer");
  b.size = bi.size;
}

std::vector<float> GpuPreprocess::process(const CameraFrame& frame, const tools::InputLayout& layout,
                                          const std::function<void()>& wait_all_frames) {
  if (frame.width <= 0 || frame.height <= 0 || frame.stride < frame.width * 2 ||
      frame.bytes.size() < size_t(frame.stride) * frame.height)
    throw Error("a camera frame of the wrong size");
  if (layout.channels != 1 && layout.channels != 3) throw Error("the model does not take 1 or 3 channels");
  const VkDeviceSize frame_bytes = VkDeviceSize(frame.stride) * frame.height;
  const VkDeviceSize tensor_bytes = layout.image_elements() * sizeof(float);
  ensure(frame_, frame_bytes);
  ensure(tensor_, tensor_bytes);
  std::memcpy(frame_.mapped, frame.bytes.data(), frame_bytes);
  Texture& display = textures_.storage_texture("input", static_cast<uint32_t>(frame.width),
                                               static_cast<uint32_t>(frame.height), wait_all_frames);

  VkDescriptorBufferInfo in{frame_.buffer, 0, VK_WHOLE_SIZE};
  VkDescriptorBufferInfo out{tensor_.buffer, 0, VK_WHOLE_SIZE};
  VkDescriptorImageInfo image{VK_NULL_HANDLE, display.view, VK_IMAGE_LAYOUT_GENERAL};
  VkWriteDescriptorSet writes[3]{};
  for (uint32_t i = 0; i < 3; ++i) {
    writes[i] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
    writes[i].dstSet = set_;
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
  for (int c = 0; c < 4; ++c) {
    params.mean[c] = c < static_cast<int>(layout.mean.size()) ? layout.mean[c] : 0.f;
    float sd = c < static_cast<int>(layout.std.size()) ? layout.std[c] : 1.f;
    params.inv_std[c] = sd != 0 ? 1.f / sd : 1.f;
  }

  check(vkResetCommandBuffer(cmd_, 0), "resetting a command buffer");
  VkCommandBufferBeginInfo begin{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  check(vkBeginCommandBuffer(cmd_, &begin), "recording the camera conversion");
  VkImageMemoryBarrier to_general{VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER};
  to_general.dstAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
  to_general.oldLayout = VK_IMAGE_LAYOUT_UNDEFINED;
  to_general.newLayout = VK_IMAGE_LAYOUT_GENERAL;
  to_general.srcQueueFamilyIndex = to_general.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
  to_general.image = display.image;
  to_general.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
  vkCmdPipelineBarrier(cmd_, VK_PIPELINE_STAGE_FRAGMENT_SHADER_BIT | VK_PIPELINE_STAGE_HOST_BIT,
                       VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 0, nullptr, 0, nullptr, 1, &to_general);
  vkCmdBindPipeline(cmd_, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline_);
  vkCmdBindDescriptorSets(cmd_, VK_PIPELINE_BIND_POINT_COMPUTE, layout_, 0, 1, &set_, 0, nullptr);
  params.pass = 0;
  vkCmdPushConstants(cmd_, layout_, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof params, &params);
  vkCmdDispatch(cmd_, (params.src_width + 7) / 8, (params.src_height + 7) / 8, 1);
  params.pass = 1;
  vkCmdPushConstants(cmd_, layout_, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof params, &params);
  vkCmdDispatch(cmd_, (params.dst_width + 7) / 8, (params.dst_height + 7) / 8, 1);
  VkImageMemoryBarrier to_read = to_general;
  to_read.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
  to_read.dstAccessMask = VK_ACCESS_SHADER_READ_BIT;
  to_read.oldLayout = VK_IMAGE_LAYOUT_GENERAL;
  to_read.newLayout = VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL;
  VkMemoryBarrier host{VK_STRUCTURE_TYPE_MEMORY_BARRIER, nullptr, VK_ACCESS_SHADER_WRITE_BIT, VK_ACCESS_HOST_READ_BIT};
  vkCmdPipelineBarrier(cmd_, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                       VK_PIPELINE_STAGE_FRAGMENT_SHADER_BIT | VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &host, 0, nullptr, 1,
                       &to_read);
  check(vkEndCommandBuffer(cmd_), "recording the camera conversion");
  VkSubmitInfo submit{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  submit.commandBufferCount = 1;
  submit.pCommandBuffers = &cmd_;
  {
    std::lock_guard lock(context_.queue_mutex());
    check(vkQueueSubmit(context_.queue(), 1, &submit, fence_), "submitting the camera conversion");
  }
  check(vkWaitForFences(device_, 1, &fence_, VK_TRUE, std::numeric_limits<uint64_t>::max()), "converting a frame");
  check(vkResetFences(device_, 1, &fence_), "resetting a fence");
  display.layout = VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL;
  display.has_content = true;
  const auto* values = static_cast<const float*>(tensor_.mapped);
  return {values, values + layout.image_elements()};
}

}  // namespace vkbnn::studio
