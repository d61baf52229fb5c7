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
  set_layout = vk::create_descriptor_set_layout(device, layout_bindings, "the " + name + " layout");
  layout = vk::create_pipeline_layout(device, set_layout.get(), push_bytes, VK_SHADER_STAGE_COMPUTE_BIT,
                                      "the " + name + " pipeline layout");
  pipeline = vk::create_compute_pipeline(device, spirv, layout.get(), nullptr, VK_NULL_HANDLE, "the " + name + " pipeline");

  std::vector<VkDescriptorPoolSize> sizes;
  for (auto [type, count] : counts) sizes.push_back({type, count});
  pool = vk::create_descriptor_pool(device, 1, sizes, 0, "the " + name + " descriptor pool");
  VkDescriptorSetAllocateInfo ds{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
  ds.descriptorPool = pool.get();
  ds.descriptorSetCount = 1;
  const VkDescriptorSetLayout set_layout_handle = set_layout.get();
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
