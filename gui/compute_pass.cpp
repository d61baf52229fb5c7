#include "compute_pass.hpp"

#include <map>
#include <string>
#include <vector>

namespace vkbnn::studio {

ComputePass::ComputePass(Context& context, std::span<const VkDescriptorType> bindings, uint32_t push_bytes,
                         std::span<const uint32_t> spirv, const char* what)
    : device(context.vk_device()), submitter(context) {
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
  VkDescriptorSetLayout set_layout_handle = VK_NULL_HANDLE;
  vk::check(vkCreateDescriptorSetLayout(device, &sl, nullptr, &set_layout_handle), "creating the " + name + " layout");
  set_layout = vk::UniqueDescriptorSetLayout(device, set_layout_handle);
  VkPushConstantRange push{VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes};
  VkPipelineLayoutCreateInfo pl{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  pl.setLayoutCount = 1;
  pl.pSetLayouts = &set_layout_handle;
  pl.pushConstantRangeCount = 1;
  pl.pPushConstantRanges = &push;
  VkPipelineLayout layout_handle = VK_NULL_HANDLE;
  vk::check(vkCreatePipelineLayout(device, &pl, nullptr, &layout_handle), "creating the " + name + " pipeline layout");
  layout = vk::UniquePipelineLayout(device, layout_handle);
  pipeline = vk::create_compute_pipeline(device, spirv, layout_handle, nullptr, VK_NULL_HANDLE, "the " + name + " pipeline");

  std::vector<VkDescriptorPoolSize> sizes;
  for (auto [type, count] : counts) sizes.push_back({type, count});
  VkDescriptorPoolCreateInfo dp{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
  dp.maxSets = 1;
  dp.poolSizeCount = static_cast<uint32_t>(sizes.size());
  dp.pPoolSizes = sizes.data();
  VkDescriptorPool pool_handle = VK_NULL_HANDLE;
  vk::check(vkCreateDescriptorPool(device, &dp, nullptr, &pool_handle), "creating the " + name + " descriptor pool");
  pool = vk::UniqueDescriptorPool(device, pool_handle);
  VkDescriptorSetAllocateInfo ds{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
  ds.descriptorPool = pool_handle;
  ds.descriptorSetCount = 1;
  ds.pSetLayouts = &set_layout_handle;
  vk::check(vkAllocateDescriptorSets(device, &ds, &set), "allocating the " + name + " descriptors");
}

void ComputePass::run(VkImage image, const std::string& doing, const std::function<void(VkCommandBuffer)>& record) {
  submitter.run(doing, [&](VkCommandBuffer cmd) {
    record(cmd);
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
                         VK_PIPELINE_STAGE_FRAGMENT_SHADER_BIT | VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &host, 0, nullptr,
                         1, &to_read);
  });
}

}  // namespace vkbnn::studio
