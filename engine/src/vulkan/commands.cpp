#include "vkbnn/vulkan/commands.hpp"

#include <chrono>
#include <limits>
#include <string>

#include "vkbnn/device.hpp"

namespace vkbnn::vk {
namespace {

using Clock = std::chrono::steady_clock;

double micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

}  // namespace

Submitter::Submitter(VkDevice device, uint32_t queue_family, VkQueue queue, std::mutex& queue_mutex)
    : device_(device), queue_(queue), queue_mutex_(&queue_mutex) {
  VkCommandPoolCreateInfo pool_info{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pool_info.queueFamilyIndex = queue_family;
  VkCommandPool pool = VK_NULL_HANDLE;
  check(vkCreateCommandPool(device, &pool_info, nullptr, &pool), "creating a command pool");
  pool_ = UniqueCommandPool(device, pool);
  VkFenceCreateInfo fence_info{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  VkFence fence = VK_NULL_HANDLE;
  check(vkCreateFence(device, &fence_info, nullptr, &fence), "creating a fence");
  fence_ = UniqueFence(device, fence);
}

Submitter::Submitter(const Context& context)
    : Submitter(context.vk_device(), context.queue_family(), context.queue(), context.queue_mutex()) {}

VkCommandBuffer Submitter::allocate(std::string_view doing) {
  VkCommandBufferAllocateInfo alloc{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  alloc.commandPool = pool_.get();
  alloc.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  alloc.commandBufferCount = 1;
  VkCommandBuffer commands = VK_NULL_HANDLE;
  check(vkAllocateCommandBuffers(device_, &alloc, &commands), "allocating a command buffer for " + std::string(doing));
  return commands;
}

SubmitTimes Submitter::submit_and_wait(VkCommandBuffer commands, std::string_view doing) {
  VkSubmitInfo submit{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  submit.commandBufferCount = 1;
  submit.pCommandBuffers = &commands;
  VkFence fence = fence_.get();
  const auto t0 = Clock::now();
  {
    std::lock_guard lock(*queue_mutex_);
    check(vkQueueSubmit(queue_, 1, &submit, fence), "submitting " + std::string(doing));
  }
  const auto t1 = Clock::now();
  check(vkWaitForFences(device_, 1, &fence, VK_TRUE, std::numeric_limits<uint64_t>::max()),
        "waiting for " + std::string(doing));
  const auto t2 = Clock::now();
  check(vkResetFences(device_, 1, &fence), "resetting a fence");
  return {micros(t1 - t0), micros(t2 - t1)};
}

void Submitter::run(std::string_view doing, const std::function<void(VkCommandBuffer)>& record) {
  VkCommandBuffer commands = allocate(doing);
  struct Free {
    VkDevice device;
    VkCommandPool pool;
    VkCommandBuffer commands;
    ~Free() { vkFreeCommandBuffers(device, pool, 1, &commands); }
  } free_after{device_, pool_.get(), commands};
  VkCommandBufferBeginInfo begin{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  check(vkBeginCommandBuffer(commands, &begin), "recording " + std::string(doing));
  record(commands);
  check(vkEndCommandBuffer(commands), "recording " + std::string(doing));
  submit_and_wait(commands, doing);
}

UniqueDescriptorSetLayout create_descriptor_set_layout(VkDevice device,
                                                       std::span<const VkDescriptorSetLayoutBinding> bindings,
                                                       std::string_view what) {
  VkDescriptorSetLayoutCreateInfo info{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
  info.bindingCount = static_cast<uint32_t>(bindings.size());
  info.pBindings = bindings.data();
  VkDescriptorSetLayout layout = VK_NULL_HANDLE;
  check(vkCreateDescriptorSetLayout(device, &info, nullptr, &layout), "creating " + std::string(what));
  return UniqueDescriptorSetLayout(device, layout);
}

UniquePipelineLayout create_pipeline_layout(VkDevice device, VkDescriptorSetLayout set_layout, uint32_t push_bytes,
                                            VkShaderStageFlags push_stages, std::string_view what) {
  const VkPushConstantRange push{push_stages, 0, push_bytes};
  VkPipelineLayoutCreateInfo info{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  info.setLayoutCount = 1;
  info.pSetLayouts = &set_layout;
  info.pushConstantRangeCount = push_bytes > 0 ? 1 : 0;
  info.pPushConstantRanges = push_bytes > 0 ? &push : nullptr;
  VkPipelineLayout layout = VK_NULL_HANDLE;
  check(vkCreatePipelineLayout(device, &info, nullptr, &layout), "creating " + std::string(what));
  return UniquePipelineLayout(device, layout);
}

UniqueDescriptorPool create_descriptor_pool(VkDevice device, uint32_t max_sets,
                                            std::span<const VkDescriptorPoolSize> sizes,
                                            VkDescriptorPoolCreateFlags flags, std::string_view what) {
  VkDescriptorPoolCreateInfo info{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
  info.flags = flags;
  info.maxSets = max_sets;
  info.poolSizeCount = static_cast<uint32_t>(sizes.size());
  info.pPoolSizes = sizes.data();
  VkDescriptorPool pool = VK_NULL_HANDLE;
  check(vkCreateDescriptorPool(device, &info, nullptr, &pool), "creating " + std::string(what));
  return UniqueDescriptorPool(device, pool);
}

UniquePipeline create_compute_pipeline(VkDevice device, std::span<const uint32_t> spirv, VkPipelineLayout layout,
                                       const VkSpecializationInfo* spec, VkPipelineCache cache,
                                       std::string_view what) {
  VkShaderModuleCreateInfo module_info{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  module_info.codeSize = spirv.size_bytes();
  module_info.pCode = spirv.data();
  VkShaderModule module = VK_NULL_HANDLE;
  check(vkCreateShaderModule(device, &module_info, nullptr, &module), "creating the shader module of " + std::string(what));
  // Only the pipeline needs the module, and it keeps what it needs of it.
  const UniqueShaderModule owned_module(device, module);
  VkComputePipelineCreateInfo info{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
  info.stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
  info.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  info.stage.module = module;
  info.stage.pName = "main";
  info.stage.pSpecializationInfo = spec;
  info.layout = layout;
  VkPipeline pipeline = VK_NULL_HANDLE;
  check(vkCreateComputePipelines(device, cache, 1, &info, nullptr, &pipeline), "building " + std::string(what));
  return UniquePipeline(device, pipeline);
}

}  // namespace vkbnn::vk
