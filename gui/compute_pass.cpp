#include "compute_pass.hpp"

#include <limits>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace vkbnn::studio {
namespace {

void check(VkResult result, const std::string& what) {
  if (result != VK_SUCCESS) throw VulkanError(result, what);
}

}  // namespace

ComputePass::ComputePass(Context& context, std::span<const VkDescriptorType> bindings, uint32_t push_bytes,
                         std::span<const uint32_t> spirv, const char* what)
    : device(context.vk_device()) {
  const std::string name(what);
  std::vector<VkDescriptorSetLayoutBinding> layout_bindings;
  std::map<VkDescriptorType, uint32_t> counts;
  for (uint32_t i = 0; i < bindings.size(); ++i) {
    layout_bindings.push_back({i, bindings[i], 1, VK_SHADER_STAGE_COMPUTE_BIT, nullptr});
    ++counts[bindings[i]];
  }
  VkDescriptorSetLayoutCreateInfo sl{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
  sl.bindingCount = static_cast<uint32_t>(layout_bindings.size());
  sl.pBindings = layout_bindings.data();
  check(vkCreateDescriptorSetLayout(device, &sl, nullptr, &set_layout), "creating the " + name + " layout");
  VkPushConstantRange push{VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes};
  VkPipelineLayoutCreateInfo pl{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  pl.setLayoutCount = 1;
  pl.pSetLayouts = &set_layout;
  pl.pushConstantRangeCount = 1;
  pl.pPushConstantRanges = &push;
  check(vkCreatePipelineLayout(device, &pl, nullptr, &layout), "creating the " + name + " pipeline layout");
  VkShaderModuleCreateInfo sm{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  sm.codeSize = spirv.size_bytes();
  sm.pCode = spirv.data();
  VkShaderModule module = VK_NULL_HANDLE;
  check(vkCreateShaderModule(device, &sm, nullptr, &module), "creating the " + name + " shader");
  VkComputePipelineCreateInfo cp{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
  cp.stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, nullptr, 0, VK_SHADER_STAGE_COMPUTE_BIT, module, "main", nullptr};
  cp.layout = layout;
  VkResult r = vkCreateComputePipelines(device, VK_NULL_HANDLE, 1, &cp, nullptr, &pipeline);
  vkDestroyShaderModule(device, module, nullptr);
  check(r, "creating the " + name + " pipeline");

  std::vector<VkDescriptorPoolSize> sizes;
  for (auto [type, count] : counts) sizes.push_back({type, count});
  VkDescriptorPoolCreateInfo dp{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
  dp.maxSets = 1;
  dp.poolSizeCount = static_cast<uint32_t>(sizes.size());
  dp.pPoolSizes = sizes.data();
  check(vkCreateDescriptorPool(device, &dp, nullptr, &pool), "creating the " + name + " descriptor pool");
  VkDescriptorSetAllocateInfo ds{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
  ds.descriptorPool = pool;
  ds.descriptorSetCount = 1;
  ds.pSetLayouts = &set_layout;
  check(vkAllocateDescriptorSets(device, &ds, &set), "allocating the " + name + " descriptors");

  VkCommandPoolCreateInfo cpi{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  cpi.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  cpi.queueFamilyIndex = context.queue_family();
  check(vkCreateCommandPool(device, &cpi, nullptr, &command_pool), "creating a command pool");
  VkCommandBufferAllocateInfo alloc{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  alloc.commandPool = command_pool;
  alloc.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  alloc.commandBufferCount = 1;
  check(vkAllocateCommandBuffers(device, &alloc, &cmd), "allocating a command buffer");
  VkFenceCreateInfo fence_info{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  check(vkCreateFence(device, &fence_info, nullptr, &fence), "creating a fence");
}

void ComputePass::finish_and_wait(Context& context, VkImage image, const std::string& doing) {
  VkImageMemoryBarrier to_read{VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER};
  to_read.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
  to_read.dstAccessMask = VK_ACCESS_SHADER_READ_BIT;
  to_read.oldLayout = VK_IMAGE_LAYOUT_GENERAL;
  to_read.newLayout = VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL;
  to_read.srcQueueFamilyIndex = to_read.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
  to_read.image = image;
  to_read.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
  VkMemoryBarrier host{VK_STRUCTURE_TYPE_MEMORY_BARRIER, nullptr, VK_ACCESS_SHADER_WRITE_BIT, VK_ACCESS_HOST_READ_BIT};
  vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                       VK_PIPELINE_STAGE_FRAGMENT_SHADER_BIT | VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &host, 0, nullptr, 1,
                       &to_read);
  check(vkEndCommandBuffer(cmd), "recording " + doing);
  VkSubmitInfo submit{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  submit.commandBufferCount = 1;
  submit.pCommandBuffers = &cmd;
  {
    std::lock_guard lock(context.queue_mutex());
    check(vkQueueSubmit(context.queue(), 1, &submit, fence), "submitting " + doing);
  }
  check(vkWaitForFences(device, 1, &fence, VK_TRUE, std::numeric_limits<uint64_t>::max()), "waiting for " + doing);
  check(vkResetFences(device, 1, &fence), "resetting a fence");
}

ComputePass::~ComputePass() {
  vkDestroyFence(device, fence, nullptr);
  vkDestroyCommandPool(device, command_pool, nullptr);
  vkDestroyDescriptorPool(device, pool, nullptr);
  vkDestroyPipeline(device, pipeline, nullptr);
  vkDestroyPipelineLayout(device, layout, nullptr);
  vkDestroyDescriptorSetLayout(device, set_layout, nullptr);
}

}  // namespace vkbnn::studio
