// The micro-benchmarks behind measure_limits(): the fp32 rate (shaders/peak_fp32.comp), the
// packed int8 dot-product rate where the int8 kernels use it (shaders/peak_int8_dot.comp) and the
// memory bandwidth (shaders/memory_bandwidth.comp), each timed with GPU timestamps where the
// queue has them (else around the fence) and taken as the best of a few runs.

#include <algorithm>
#include <chrono>
#include <limits>

#include "runtime/context_state.hpp"
#include "vkbnn/device.hpp"
#include "vulkan/buffer.hpp"
#include "vkbnn/vulkan/commands.hpp"
#include "vulkan/shader_registry.hpp"

namespace vkbnn {
namespace {

constexpr uint32_t kLocalSize = 64;
constexpr uint32_t kPeakGroups = 512;
constexpr uint32_t kPeakIterations = 8192;
constexpr double kPeakFlopPerRound = 2 * 4 * 2;  // CHAINS = 2 vec4 FMAs in peak_fp32.comp
constexpr double kPeakInt8OpsPerRound = 2 * 4 * 4 * 2;  // CHAINS = 2 ivec4s of 4-wide dot products
constexpr uint64_t kCopyBytes = 64ull << 20;
constexpr int kRepeats = 3;

class Bench {
 public:
  explicit Bench(detail::ContextState& ctx)
      : ctx_(ctx), submitter_(ctx.device.get(), ctx.queue_family, ctx.queue, ctx.queue_mutex) {
    const VkDescriptorSetLayoutBinding bindings[2] = {
        {0, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, nullptr},
        {1, VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, nullptr}};
    set_layout_ = vk::create_descriptor_set_layout(device(), bindings, "the micro-benchmark descriptor layout");
    pipeline_layout_ =
        vk::create_pipeline_layout(device(), set_layout_.get(), 0, 0, "the micro-benchmark pipeline layout");
    const VkDescriptorPoolSize sizes[2] = {{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 2},
                                           {VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, 2}};
    descriptor_pool_ = vk::create_descriptor_pool(device(), 2, sizes, 0, "a descriptor pool");
    if (ctx_.info.timestamps) {
      VkQueryPoolCreateInfo query_info{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
      query_info.queryType = VK_QUERY_TYPE_TIMESTAMP;
      query_info.queryCount = 2;
      VkQueryPool queries = VK_NULL_HANDLE;
      vk::check(vkCreateQueryPool(device(), &query_info, nullptr, &queries), "creating a query pool");
      queries_ = vk::UniqueQueryPool(device(), queries);
    }
  }

  // Best seconds of one dispatch of shader S over `groups` workgroups.
  template <typename S>
  double time(const typename S::Spec& spec, VkBuffer destination, VkBufferView source, uint32_t groups) {
    static_assert(S::push_size == 0, "the micro-benchmarks take no push constants");
    VkPipeline pipeline = make_pipeline(S::id, S::spec_entries, &spec, S::spec_entries.size() * sizeof(uint32_t));
    VkDescriptorSet set = make_set(destination, source);
    VkCommandBuffer cmd = submitter_.allocate("a micro-benchmark");
    VkCommandBufferBeginInfo begin{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    vk::check(vkBeginCommandBuffer(cmd, &begin), "recording a micro-benchmark");
    if (queries_) vkCmdResetQueryPool(cmd, queries_.get(), 0, 2);
    vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline);
    vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline_layout_.get(), 0, 1, &set, 0, nullptr);
    if (queries_) vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, queries_.get(), 0);
    vkCmdDispatch(cmd, groups, 1, 1);
    if (queries_) vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, queries_.get(), 1);
    vk::check(vkEndCommandBuffer(cmd), "recording a micro-benchmark");

    double best = std::numeric_limits<double>::max();
    for (int r = 0; r < kRepeats + 1; ++r) {
      const auto times = submitter_.submit_and_wait(cmd, "a micro-benchmark");
      double seconds = (times.submit_us + times.wait_us) * 1e-6;
      if (queries_) {
        uint64_t stamps[2] = {};
        vk::check(vkGetQueryPoolResults(device(), queries_.get(), 0, 2, sizeof stamps, stamps, 8,
                                            VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT),
                      "reading timestamps");
        seconds = static_cast<double>(stamps[1] - stamps[0]) * ctx_.info.timestamp_period_ns * 1e-9;
      }
      if (r > 0) best = std::min(best, seconds);  // the first run warms caches and clocks up
    }
    return best;
  }

  VkDevice device() const { return ctx_.device.get(); }

 private:
  VkPipeline make_pipeline(detail::ShaderId id, std::span<const detail::SpecEntry> spec_entries, const void* spec,
                           size_t spec_bytes) {
    std::vector<VkSpecializationMapEntry> entries;
    for (const auto& e : spec_entries) entries.push_back({e.constant_id, e.offset, sizeof(uint32_t)});
    VkSpecializationInfo spec_info{static_cast<uint32_t>(entries.size()), entries.data(), spec_bytes, spec};
    pipelines_.push_back(vk::create_compute_pipeline(device(), detail::shader_spirv(id), pipeline_layout_.get(),
                                                     &spec_info, ctx_.pipeline_cache.get(),
                                                     std::string("the pipeline for ") + detail::shader_name(id)));
    return pipelines_.back().get();
  }

  VkDescriptorSet make_set(VkBuffer destination, VkBufferView source) {
    VkDescriptorSetLayout layout = set_layout_.get();
    VkDescriptorSetAllocateInfo alloc{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
    alloc.descriptorPool = descriptor_pool_.get();
    alloc.descriptorSetCount = 1;
    alloc.pSetLayouts = &layout;
    VkDescriptorSet set = VK_NULL_HANDLE;
    vk::check(vkAllocateDescriptorSets(device(), &alloc, &set), "allocating a descriptor set");
    VkDescriptorBufferInfo buffer_info{destination, 0, VK_WHOLE_SIZE};
    VkWriteDescriptorSet writes[2] = {{VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET}, {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET}};
    writes[0].dstSet = set;
    writes[0].dstBinding = 0;
    writes[0].descriptorCount = 1;
    writes[0].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    writes[0].pBufferInfo = &buffer_info;
    writes[1].dstSet = set;
    writes[1].dstBinding = 1;
    writes[1].descriptorCount = 1;
    writes[1].descriptorType = VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER;
    writes[1].pTexelBufferView = &source;
    vkUpdateDescriptorSets(device(), 2, writes, 0, nullptr);
    return set;
  }

  detail::ContextState& ctx_;
  vk::UniqueDescriptorSetLayout set_layout_;
  vk::UniquePipelineLayout pipeline_layout_;
  vk::UniqueDescriptorPool descriptor_pool_;
  vk::Submitter submitter_;
  vk::UniqueQueryPool queries_;
  std::vector<vk::UniquePipeline> pipelines_;
};

}  // namespace

DeviceLimits measure_limits(Context& context) {
  detail::ContextState& ctx = context.state();
  Bench bench(ctx);
  const auto usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT;
  const uint64_t copy_bytes =
      std::min<uint64_t>({kCopyBytes, ctx.info.max_storage_buffer_range, ctx.info.max_texel_buffer_elements * 16}) / 16 * 16;
  detail::Buffer source(ctx, copy_bytes, usage, detail::MemoryUse::Device, "the bandwidth benchmark's source");
  detail::Buffer destination(ctx, copy_bytes, usage, detail::MemoryUse::Device, "the bandwidth benchmark's destination");
  detail::Buffer result(ctx, uint64_t{kPeakGroups} * kLocalSize * 16, usage, detail::MemoryUse::Device,
                        "the fp32 benchmark's result");
  VkBufferViewCreateInfo view_info{VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO};
  view_info.buffer = source.get();
  view_info.format = VK_FORMAT_R32G32B32A32_SFLOAT;
  view_info.range = VK_WHOLE_SIZE;
  VkBufferView view = VK_NULL_HANDLE;
  vk::check(vkCreateBufferView(ctx.device.get(), &view_info, nullptr, &view), "creating a texel buffer view");
  vk::UniqueBufferView owned_view(ctx.device.get(), view);

  DeviceLimits limits;
  const double peak_seconds = bench.time<detail::shader::peak_fp32>({.ITERATIONS = kPeakIterations}, result.get(), view,
                                                                  kPeakGroups);
  limits.fp32_gflops =
      double(kPeakGroups) * kLocalSize * kPeakIterations * kPeakFlopPerRound / peak_seconds / 1e9;
  if (ctx.info.integer_dot_product) {
    const double int8_seconds = bench.time<detail::shader::peak_int8_dot>({.ITERATIONS = kPeakIterations}, result.get(),
                                                                           view, kPeakGroups);
    limits.int8_gops = double(kPeakGroups) * kLocalSize * kPeakIterations * kPeakInt8OpsPerRound / int8_seconds / 1e9;
  }
  const uint32_t vec4s = static_cast<uint32_t>(copy_bytes / 16);
  const uint32_t groups = std::min<uint32_t>(4096, (vec4s + kLocalSize - 1) / kLocalSize);
  const double copy_seconds =
      bench.time<detail::shader::memory_bandwidth>({.COUNT = vec4s, .STRIDE = groups * kLocalSize}, destination.get(),
                                                   view, groups);
  limits.bandwidth_gbps = 2.0 * static_cast<double>(copy_bytes) / copy_seconds / 1e9;
  return limits;
}

}  // namespace vkbnn
