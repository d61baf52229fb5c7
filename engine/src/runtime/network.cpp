#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <unordered_map>

#include "ops/op.hpp"
#include "runtime/context_state.hpp"
#include "runtime/memory_plan.hpp"
#include "vkbnn/network.hpp"
#include "vulkan/buffer.hpp"
#include "vkbnn/vulkan/commands.hpp"
#include "vkbnn/vulkan/handles.hpp"
#include "vulkan/shader_registry.hpp"

namespace vkbnn {
namespace detail {
namespace {

using Clock = std::chrono::steady_clock;

double micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

// Activation offsets are aligned to at least 16 words (64 bytes): vec4 access and whole cache
// lines; staging offsets to 16 words.
constexpr uint64_t kArenaAlignment = 16;
// A dispatch's descriptor set, as shaders/common.glsl declares it: the part of the arena it
// writes; the weight page; the operand slots as storage buffers and as texel buffers of
// kOperandFormats; the weight page as texel buffers of kWeightFormats.
enum Binding : uint32_t { kDst, kWeights, kOperands, kOperandTexels, kWeightTexels = kOperandTexels + 3, kBindings = kWeightTexels + 4 };
constexpr VkFormat kOperandFormats[] = {VK_FORMAT_R32_SFLOAT, VK_FORMAT_R32G32B32A32_SFLOAT, VK_FORMAT_R32_UINT};
constexpr VkFormat kWeightFormats[] = {VK_FORMAT_R32_SFLOAT, VK_FORMAT_R32G32B32A32_SFLOAT, VK_FORMAT_R32_UINT,
                                       VK_FORMAT_R32G32B32A32_UINT};
static_assert(std::size(kOperandFormats) == kWeightTexels - kOperandTexels &&
              std::size(kWeightFormats) == kBindings - kWeightTexels);
// A smaller NetworkOptions::max_buffer_range could not hold even one small layer's weights.
constexpr uint64_t kMinBufferRange = 1024;

std::string mib(uint64_t bytes) {
  return bytes >= (uint64_t{1} << 20) ? std::to_string((bytes + (1 << 19)) >> 20) + " MiB"
                                      : std::to_string(bytes) + " bytes";
}

// Words of the arena.
struct Range {
  uint64_t begin = 0, end = 0;
  bool overlaps(const Range& o) const { return begin < o.end && o.begin < end; }
  bool operator<(const Range& o) const { return std::pair(begin, end) < std::pair(o.begin, o.end); }
};

struct PlannedDispatch {
  VkPipeline pipeline = VK_NULL_HANDLE;
  std::vector<uint32_t> push;  // push-constant words from offset 0
  std::array<uint32_t, 3> groups{};
  uint32_t weight_page = 0;
  // What its descriptor set binds of the arena: the tensors in its operand slots (none: the
  // slot holds the weight page) and the part it writes.
  std::array<std::optional<Range>, kOperandSlots> operands;
  Range written;
  VkDescriptorSet set = VK_NULL_HANDLE;
};

// Every shader's push constants fit the 128 bytes each Vulkan device offers.
constexpr uint32_t kPushConstantBytes = 128;

struct PlannedNode {
  std::string name;
  std::string op;
  Shape output_shape;
  std::vector<PlannedDispatch> dispatches;
};

struct IoSlot {
  uint32_t tensor = 0;
  uint64_t arena_offset = 0;   // words
  uint64_t staging_offset = 0; // words
  uint64_t elements = 0;
  Shape shape;
};

constexpr uint32_t kMaxInFlight = 64;

}  // namespace

// What one pending run owns, so that runs in flight never share host-visible memory or a
// command buffer the GPU may still be reading.
struct RunSlot {
  Buffer upload, readback;
  vk::UniqueFence fence;
  VkCommandBuffer plain_commands = VK_NULL_HANDLE;     // recorded on first use
  VkCommandBuffer profiled_commands = VK_NULL_HANDLE;  // recorded on first profiled use
  vk::UniqueQueryPool queries;
  uint64_t ticket = 0;  // the run it holds, 0 when free
  // Who is blocked on its fence: wait() for the ticket, or submit() freeing the slot (and
  // keeping the outputs for the ticket's wait()).
  enum class Claim { None, Wait, Submit } claim = Claim::None;
  bool timed = false;
  Profile profile;       // the host-side times of submit()
  std::chrono::steady_clock::time_point submitted_at;
};

struct NetworkState {
  ContextState* ctx = nullptr;
  Model model;
  NetworkOptions options;

  std::vector<uint64_t> tensor_offset;  // words in the arena, per tensor (activations only)
  std::vector<bool> tensor_readable;
  std::unordered_map<std::string, uint32_t> tensor_by_name;
  std::unordered_map<std::string, uint32_t> node_output_by_name;
  std::vector<PlannedNode> nodes;
  std::vector<LayerInfo> layer_infos;
  std::vector<IoSlot> inputs, outputs;
  MemoryReport memory;

  vk::UniqueDescriptorSetLayout set_layout;
  vk::UniquePipelineLayout pipeline_layout;
  std::map<std::pair<ShaderId, std::vector<uint32_t>>, vk::UniquePipeline> pipelines;
  // One descriptor set per dispatch (PlannedDispatch::set).
  vk::UniqueDescriptorPool descriptor_pool;
  Buffer arena;
  std::vector<Buffer> weight_pages;
  std::vector<vk::UniqueBufferView> texel_views;
  // One-off work (the weight upload, tap read-backs); the run slots' command buffers come from
  // its pool too, which `mutex` guards.
  vk::Submitter submitter;
  uint32_t query_count = 0;
  std::vector<RunSlot> run_slots;
  uint64_t submitted = 0;  // tickets issued
  // Outputs of runs whose slot submit() needed before their wait(), by ticket. `slot_freed` is
  // notified whenever a slot becomes free, and with it whenever an entry is added here.
  std::map<uint64_t, std::pair<std::vector<Tensor>, Profile>> collected;
  bool profiling = false;
  bool has_run = false;
  Profile last;
  LoadReport load;
  // Serializes what a run touches (the command buffers, the submitter's pool and fence, the slots,
  // `collected`, `last`): see the threading note on Network.
  mutable std::mutex mutex;
  std::condition_variable slot_freed;

  static Model sized(const Model& m, const std::vector<std::vector<int64_t>>& sizes) {
    return sizes.empty() ? m : m.with_input_sizes(sizes);
  }

  NetworkState(ContextState& context, const Model& m, const NetworkOptions& opts)
      : ctx(&context),
        model(sized(opts.batch ? m.with_batch(opts.batch) : m, opts.input_sizes)),
        options(opts),
        submitter(context.device.get(), context.queue_family, context.queue, context.queue_mutex) {}
  // The GPU may still be working on runs nobody waited for: their buffers must outlive that.
  ~NetworkState();

  VkDevice device() const { return ctx->device.get(); }
  // The most bytes one buffer (the arena, a weight page) may hold: both are bound as storage
  // buffers and as R32F texel buffers, each with its own allocation. A multiple of 16 bytes.
  uint64_t buffer_limit() const {
    uint64_t limit = std::min<uint64_t>(ctx->info.max_storage_buffer_range, ctx->info.max_texel_buffer_elements * 4);
    if (ctx->info.max_memory_allocation_size) limit = std::min(limit, ctx->info.max_memory_allocation_size);
    if (options.max_buffer_range) limit = std::min(limit, options.max_buffer_range);
    return limit / 16 * 16;
  }
  // "the device's buffer limit (N MiB)" or the option's, for errors.
  std::string buffer_limit_text() const;
  void build();
  void plan();
  void lower(WeightPacker& packer);
  VkPipeline pipeline_for(const Dispatch& d);
  // The arena ranges of the inputs `d` of `node` reads, by operand slot.
  std::array<std::optional<Range>, kOperandSlots> bind_operands(const fb::Node& node, const Dispatch& d) const;
  void create_layouts();
  // Fails with MemoryLimitError before anything is allocated when the network's buffers cannot
  // fit the device's memory.
  void check_memory(const WeightPacker& packer, uint64_t arena_bytes, uint64_t staging_bytes) const;
  void upload_weights(const WeightPacker& packer);
  void create_descriptor_sets();
  VkCommandBuffer record(const RunSlot& slot, bool with_timestamps);
  void submit_to_queue(VkCommandBuffer commands, VkFence fence);
  // Takes a free slot for a new run, waiting for a pending one if none is free; the lock is
  // let go meanwhile.
  RunSlot& acquire_slot(std::unique_lock<std::mutex>& lock);
  // Blocks, without the lock, until the GPU has done the run in `slot` (claimed by the caller).
  void wait_for_slot(RunSlot& slot, std::unique_lock<std::mutex>& lock);
  // The outputs and profile of the finished run in `slot`, which is free afterwards.
  std::pair<std::vector<Tensor>, Profile> collect(RunSlot& slot);
  Range range_of(uint32_t tensor) const;
  // The words a descriptor binds for `tensor`: its range, rounded up to whole RGBA texels.
  Range bound_range(uint32_t tensor) const;
  // Where a binding may start in the arena, in words: a multiple of kArenaAlignment and of the
  // device's storage and texel buffer offset alignments (set by plan()).
  uint64_t binding_alignment = kArenaAlignment;
  // The tensor a tensor or layer name refers to, when it was tapped (else an Error).
  uint32_t tapped_tensor(const std::string& name) const;
  uint64_t bytes_of(const fb::Node& node) const;
};

uint64_t NetworkState::bytes_of(const fb::Node& node) const {
  if (op_kind(node.params_type()).alias) return 0;
  const auto& tensors = *model.schema().tensors();
  uint64_t words = 0;
  for (const auto* list : {node.inputs(), node.outputs()})
    for (uint32_t t : *list) {
      const auto* tensor = tensors.Get(t);
      words += storage_words(Shape(tensor->shape()->begin(), tensor->shape()->end()), tensor->type());
    }
  return words * sizeof(float);
}

uint32_t NetworkState::tapped_tensor(const std::string& name) const {
  auto it = tensor_by_name.find(name);
  if (it == tensor_by_name.end()) {
    auto node = node_output_by_name.find(name);
    if (node == node_output_by_name.end()) throw Error("the model has no tensor or layer named '" + name + "'");
    it = tensor_by_name.find(model.schema().tensors()->Get(node->second)->name()->str());
  }
  if (!tensor_readable[it->second])
    throw Error("tensor '" + name + "' was not tapped: list it in NetworkOptions::taps when creating the network");
  return it->second;
}

Range NetworkState::range_of(uint32_t tensor) const {
  const auto* t = model.schema().tensors()->Get(tensor);
  std::vector<int64_t> shape(t->shape()->begin(), t->shape()->end());
  return {tensor_offset[tensor], tensor_offset[tensor] + storage_words(shape, t->type())};
}

Range NetworkState::bound_range(uint32_t tensor) const {
  const Range r = range_of(tensor);
  return {r.begin, r.begin + std::max<uint64_t>((r.end - r.begin + 3) / 4 * 4, 4)};
}

void NetworkState::plan() {
  VkPhysicalDeviceProperties props{};
  vkGetPhysicalDeviceProperties(ctx->physical_device, &props);
  // Vulkan's alignments are powers of two, so the largest is a multiple of the others.
  binding_alignment = (std::max({kArenaAlignment * 4, props.limits.minStorageBufferOffsetAlignment,
                                 props.limits.minTexelBufferOffsetAlignment}) + 3) / 4;
  const auto& m = model.schema();
  const auto& tensors = *m.tensors();
  const int n_nodes = static_cast<int>(m.nodes()->size());
  // Reshape-like nodes share their input's storage: plan per storage root.
  std::vector<uint32_t> root(tensors.size());
  for (uint32_t i = 0; i < tensors.size(); ++i) {
    root[i] = i;
    tensor_by_name[tensors.Get(i)->name()->str()] = i;
  }
  std::vector<int> first(tensors.size(), std::numeric_limits<int>::max()), last_use(tensors.size(), -1);
  for (uint32_t in : *m.inputs()) first[in] = 0, last_use[in] = 0;
  for (int n = 0; n < n_nodes; ++n) {
    const auto& node = *m.nodes()->Get(n);
    node_output_by_name[node.name()->str()] = node.outputs()->Get(0);
    bool alias = op_kind(node.params_type()).alias;
    for (uint32_t in : *node.inputs())
      if (!tensors.Get(in)->data()) last_use[root[in]] = std::max(last_use[root[in]], n);
    for (uint32_t out : *node.outputs()) {
      if (alias) root[out] = root[node.inputs()->Get(0)];
      first[root[out]] = std::min(first[root[out]], n);
      last_use[root[out]] = std::max(last_use[root[out]], n);
    }
  }
  tensor_readable.assign(tensors.size(), options.tap_all);
  for (uint32_t out : *m.outputs()) tensor_readable[out] = true;
  for (const auto& name : options.taps) {
    auto it = tensor_by_name.find(name);
    if (it == tensor_by_name.end()) {
      auto node = node_output_by_name.find(name);
      if (node == node_output_by_name.end())
        throw Error("cannot tap '" + name + "': the model has no tensor or layer of that name");
      it = tensor_by_name.find(tensors.Get(node->second)->name()->str());
    }
    if (tensors.Get(it->second)->data()) throw Error("cannot tap '" + name + "': it is a constant");
    tensor_readable[it->second] = true;
  }
  for (uint32_t i = 0; i < tensors.size(); ++i)
    if (tensor_readable[i] && !tensors.Get(i)->data()) last_use[root[i]] = n_nodes;

  std::vector<uint32_t> planned;
  std::vector<Lifetime> lifetimes;
  for (uint32_t i = 0; i < tensors.size(); ++i) {
    if (root[i] != i || tensors.Get(i)->data() || last_use[i] < 0) continue;
    std::vector<int64_t> shape(tensors.Get(i)->shape()->begin(), tensors.Get(i)->shape()->end());
    planned.push_back(i);
    lifetimes.push_back({storage_words(shape, tensors.Get(i)->type()), first[i], last_use[i]});
  }
  // Each tensor is bound from its start; the planner's rounding of sizes to the alignment leaves
  // room for bound_range()'s.
  auto result = plan_memory(lifetimes, binding_alignment);
  tensor_offset.assign(tensors.size(), 0);
  for (size_t k = 0; k < planned.size(); ++k) tensor_offset[planned[k]] = result.offsets[k];
  for (uint32_t i = 0; i < tensors.size(); ++i) tensor_offset[i] = tensor_offset[root[i]];
  memory.arena_bytes = result.total * sizeof(float);
  memory.naive_arena_bytes = result.naive * sizeof(float);
}

VkPipeline NetworkState::pipeline_for(const Dispatch& d) {
  auto key = std::make_pair(d.shader, d.spec);
  if (auto it = pipelines.find(key); it != pipelines.end()) return it->second.get();
  std::vector<VkSpecializationMapEntry> entries;
  for (const auto& e : d.spec_entries) entries.push_back({e.constant_id, e.offset, sizeof(uint32_t)});
  VkSpecializationInfo spec{static_cast<uint32_t>(entries.size()), entries.data(), d.spec.size() * 4,
                            d.spec.data()};
  const auto start = Clock::now();
  auto pipeline = vk::create_compute_pipeline(device(), shader_spirv(d.shader), pipeline_layout.get(),
                                              d.spec.empty() ? nullptr : &spec, ctx->pipeline_cache.get(),
                                              std::string("the pipeline for shader ") + shader_name(d.shader));
  load.pipelines_ms += micros(Clock::now() - start) / 1000.0;
  ++load.pipelines;
  return pipelines.emplace(std::move(key), std::move(pipeline)).first->second.get();
}

std::array<std::optional<Range>, kOperandSlots> NetworkState::bind_operands(const fb::Node& node,
                                                                           const Dispatch& d) const {
  std::vector<uint32_t> read = d.operands.value_or(std::vector<uint32_t>{});
  if (!d.operands)
    for (uint32_t k = 0; k < std::min<uint32_t>(node.inputs()->size(), kOperandSlots); ++k) read.push_back(k);
  if (read.size() > kOperandSlots)
    throw std::logic_error(std::string("shader ") + shader_name(d.shader) + " reads more operands than there are slots");
  std::array<std::optional<Range>, kOperandSlots> slots;
  for (size_t k = 0; k < read.size(); ++k) {
    if (read[k] >= node.inputs()->size())
      throw std::logic_error(std::string("shader ") + shader_name(d.shader) + " reads an input its node lacks");
    const uint32_t tensor = node.inputs()->Get(read[k]);
    if (!model.schema().tensors()->Get(tensor)->data()) slots[k] = bound_range(tensor);
  }
  return slots;
}

void NetworkState::lower(WeightPacker& packer) {
  const auto& m = model.schema();
  const auto& tensors = *m.tensors();
  for (const auto* node : *m.nodes()) {
    const auto& kind = op_kind(node->params_type());
    PlannedNode planned;
    planned.name = node->name()->str();
    planned.op = fb::EnumNameOpParams(node->params_type());
    const auto* out0 = tensors.Get(node->outputs()->Get(0));
    planned.output_shape.assign(out0->shape()->begin(), out0->shape()->end());
    NodeLowering lowering{*node, {}, {}, {}, packer, ctx->info, binding_alignment, options.conv_algorithm};
    for (uint32_t in : *node->inputs()) {
      const auto* t = tensors.Get(in);
      Shape shape(t->shape()->begin(), t->shape()->end());
      lowering.inputs.push_back({0, shape, t->type(), quant_of(*t)});
      if (t->data()) {
        lowering.constants.emplace_back(std::span<const float>(
            reinterpret_cast<const float*>(t->data()->data()), t->data()->size() / sizeof(float)));
      } else {
        lowering.constants.emplace_back(std::nullopt);
      }
    }
    for (uint32_t out : *node->outputs()) {
      const auto* t = tensors.Get(out);
      lowering.outputs.push_back({0, Shape(t->shape()->begin(), t->shape()->end()), t->type(), quant_of(*t)});
    }
    std::vector<std::string> shaders;
    if (!kind.alias) {
      auto fail = [&](const std::string& what) -> void {
        throw MemoryLimitError("node '" + planned.name + "' (" + planned.op + "): " + what);
      };
      std::vector<Dispatch> dispatches;
      try {
        // Lowering is pure: an op whose weights overran the page they started in is lowered
        // again onto a page of its own.
        const auto mark = packer.mark();
        dispatches = kind.lower(lowering);
        if (packer.overfull() && mark.words > 0) {
          packer.rollback(mark);
          packer.new_page();
          dispatches = kind.lower(lowering);
        }
      } catch (const MemoryLimitError& e) {
        fail(e.what() + (" (" + buffer_limit_text() + ")"));
      }
      if (packer.overfull())
        fail("its weights (" + mib(packer.pages().back().size() * 4) + ") exceed " + buffer_limit_text() +
             ", and only FullyConnected, MatMul and non-depthwise Conv2D layers split theirs");
      for (const auto& d : dispatches) {
        if (d.groups[0] == 0 || d.groups[1] == 0 || d.groups[2] == 0) continue;
        if (d.push.size() * sizeof(uint32_t) > kPushConstantBytes)
          throw std::logic_error(std::string("shader ") + shader_name(d.shader) + " has too many push constants");
        planned.dispatches.push_back(
            {pipeline_for(d), d.push, d.groups, d.weight_page.value_or(packer.page()), bind_operands(*node, d), {}});
        const uint32_t out = node->outputs()->Get(0);
        if (d.written && (d.written->begin % binding_alignment || d.written->begin >= d.written->end ||
                          d.written->end > bound_range(out).end - tensor_offset[out]))
          throw std::logic_error(std::string("shader ") + shader_name(d.shader) + " writes a misplaced part of its output");
        planned.dispatches.back().written =
            d.written ? Range{tensor_offset[out] + d.written->begin, tensor_offset[out] + d.written->end} : bound_range(out);
        shaders.push_back(shader_name(d.shader));
      }
    }
    const NodeDesc desc = describe_node(m, *node);
    uint64_t weight_bytes = 0;
    for (const auto& data : desc.input_data) weight_bytes += data.size();
    layer_infos.push_back({planned.name, planned.op, planned.output_shape,
                           static_cast<uint32_t>(planned.dispatches.size()), kind.precision(desc),
                           kind.macs ? kind.macs(desc) : 0, bytes_of(*node), weight_bytes, std::move(shaders)});
    nodes.push_back(std::move(planned));
  }
}

std::string NetworkState::buffer_limit_text() const {
  const bool option = options.max_buffer_range && options.max_buffer_range / 16 * 16 == buffer_limit();
  return (option ? "NetworkOptions::max_buffer_range (" : "the device's buffer limit (") + mib(buffer_limit()) + ")";
}

void NetworkState::create_layouts() {
  // Vulkan guarantees 4 storage buffers per stage; the operand slots need 2 + kOperandSlots.
  VkPhysicalDeviceProperties props{};
  vkGetPhysicalDeviceProperties(ctx->physical_device, &props);
  const uint32_t storage_needed = kOperands + kOperandSlots,
                 texels_needed = (kWeightTexels - kOperandTexels) * kOperandSlots + (kBindings - kWeightTexels);
  if (props.limits.maxPerStageDescriptorStorageBuffers < storage_needed ||
      props.limits.maxPerStageDescriptorSampledImages < texels_needed)
    throw Error("the device binds " + std::to_string(props.limits.maxPerStageDescriptorStorageBuffers) +
                " storage buffers and " + std::to_string(props.limits.maxPerStageDescriptorSampledImages) +
                " texel buffers per shader stage; vkbnn's shaders need " + std::to_string(storage_needed) + " and " +
                std::to_string(texels_needed));
  VkDescriptorSetLayoutBinding bindings[kBindings];
  for (uint32_t i = 0; i < kBindings; ++i) {
    const bool storage = i <= kOperands;
    bindings[i] = {i, storage ? VK_DESCRIPTOR_TYPE_STORAGE_BUFFER : VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER,
                   i == kOperands || (i >= kOperandTexels && i < kWeightTexels) ? kOperandSlots : 1,
                   VK_SHADER_STAGE_COMPUTE_BIT, nullptr};
  }
  set_layout = vk::create_descriptor_set_layout(device(), bindings, "the descriptor set layout");
  pipeline_layout = vk::create_pipeline_layout(device(), set_layout.get(), kPushConstantBytes,
                                               VK_SHADER_STAGE_COMPUTE_BIT, "the pipeline layout");
}

void NetworkState::create_descriptor_sets() {
  uint32_t sets = 0;
  for (const auto& node : nodes) sets += static_cast<uint32_t>(node.dispatches.size());
  sets = std::max(sets, 1u);
  constexpr uint32_t kStorage = 2 + kOperandSlots, kTexels = std::size(kOperandFormats) * kOperandSlots + std::size(kWeightFormats);
  const VkDescriptorPoolSize pool_sizes[2] = {{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, kStorage * sets},
                                              {VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, kTexels * sets}};
  descriptor_pool = vk::create_descriptor_pool(device(), sets, pool_sizes, 0, "the descriptor pool");

  auto view_of = [&](VkBuffer buffer, VkFormat format, uint64_t offset, uint64_t range) {
    VkBufferViewCreateInfo view_info{VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO};
    view_info.buffer = buffer;
    view_info.format = format;
    view_info.offset = offset;
    view_info.range = range;
    VkBufferView view = VK_NULL_HANDLE;
    vk::check(vkCreateBufferView(device(), &view_info, nullptr, &view), "creating a texel buffer view");
    texel_views.emplace_back(device(), view);
    return view;
  };
  // Views of the weight pages, which also fill the operand slots a dispatch leaves empty (the
  // weights are never written during a run), and of each operand tensor, by range.
  std::vector<std::array<VkBufferView, std::size(kWeightFormats)>> page_views(weight_pages.size());
  for (size_t p = 0; p < weight_pages.size(); ++p)
    for (size_t f = 0; f < std::size(kWeightFormats); ++f)
      page_views[p][f] = view_of(weight_pages[p].get(), kWeightFormats[f], 0, VK_WHOLE_SIZE);
  std::map<Range, std::array<VkBufferView, std::size(kOperandFormats)>> operand_views;

  for (auto& node : nodes)
    for (auto& d : node.dispatches) {
      VkDescriptorSetAllocateInfo set_info{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
      set_info.descriptorPool = descriptor_pool.get();
      set_info.descriptorSetCount = 1;
      const VkDescriptorSetLayout layout = set_layout.get();
      set_info.pSetLayouts = &layout;
      vk::check(vkAllocateDescriptorSets(device(), &set_info, &d.set), "allocating a descriptor set");

      const VkBuffer page = weight_pages[d.weight_page].get();
      VkDescriptorBufferInfo storage[kStorage] = {
          {arena.get(), d.written.begin * 4, (d.written.end - d.written.begin) * 4}, {page, 0, VK_WHOLE_SIZE}};
      VkBufferView texels[kTexels];
      for (uint32_t k = 0; k < kOperandSlots; ++k) {
        const auto& r = d.operands[k];
        storage[2 + k] = r ? VkDescriptorBufferInfo{arena.get(), r->begin * 4, (r->end - r->begin) * 4}
                           : VkDescriptorBufferInfo{page, 0, VK_WHOLE_SIZE};
        auto views = r ? operand_views.find(*r) : operand_views.end();
        if (r && views == operand_views.end()) {
          std::array<VkBufferView, std::size(kOperandFormats)> made{};
          for (size_t f = 0; f < made.size(); ++f)
            made[f] = view_of(arena.get(), kOperandFormats[f], r->begin * 4, (r->end - r->begin) * 4);
          views = operand_views.emplace(*r, made).first;
        }
        for (size_t f = 0; f < std::size(kOperandFormats); ++f)
          texels[f * kOperandSlots + k] = r ? views->second[f] : page_views[d.weight_page][f];
      }
      for (size_t f = 0; f < std::size(kWeightFormats); ++f)
        texels[std::size(kOperandFormats) * kOperandSlots + f] = page_views[d.weight_page][f];

      VkWriteDescriptorSet writes[kBindings];
      for (uint32_t i = 0; i < kBindings; ++i) {
        writes[i] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
        writes[i].dstSet = d.set;
        writes[i].dstBinding = i;
        if (i <= kOperands) {
          writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
          writes[i].descriptorCount = i == kOperands ? kOperandSlots : 1;
          writes[i].pBufferInfo = &storage[i];
        } else {
          const bool operand = i < kWeightTexels;
          writes[i].descriptorType = VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER;
          writes[i].descriptorCount = operand ? kOperandSlots : 1;
          writes[i].pTexelBufferView = operand ? &texels[(i - kOperandTexels) * kOperandSlots]
                                               : &texels[std::size(kOperandFormats) * kOperandSlots + i - kWeightTexels];
        }
      }
      vkUpdateDescriptorSets(device(), kBindings, writes, 0, nullptr);
    }
}

void NetworkState::check_memory(const WeightPacker& packer, uint64_t arena_bytes, uint64_t staging_bytes) const {
  uint64_t weight_bytes = 0, largest_page = 16;
  for (const auto& page : packer.pages()) {
    const uint64_t bytes = std::max<uint64_t>(WeightPacker::footprint(page.size()) * 4, 16);
    weight_bytes += bytes;
    largest_page = std::max(largest_page, bytes);
  }
  // The weights go up through a staging buffer of the largest page, which is freed afterwards.
  const uint64_t needed = weight_bytes + arena_bytes + staging_bytes + largest_page;
  const DeviceMemory heaps = describe_memory(ctx->physical_device);
  const uint32_t heap = ctx->memory.memoryTypes[ctx->find_memory_type(~0u, 0, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT)].heapIndex;
  const MemoryHeap& h = heaps.heaps.at(heap);
  uint64_t available = heaps.budget ? (h.budget > h.usage ? h.budget - h.usage : 0) : h.size;
  std::string against = heaps.budget ? "the " + mib(available) + " left of memory heap " + std::to_string(heap) +
                                           "'s budget (" + mib(h.budget) + ", " + mib(h.usage) + " in use)"
                                     : "memory heap " + std::to_string(heap) + "'s " + mib(h.size);
  if (options.max_device_memory && options.max_device_memory < available) {
    available = options.max_device_memory;
    against = "NetworkOptions::max_device_memory (" + mib(available) + ")";
  }
  if (needed > available)
    throw MemoryLimitError("the network needs " + mib(needed) + " of device memory (weights " + mib(weight_bytes) +
                           " in " + std::to_string(packer.pages().size()) + " buffer(s), activations " +
                           mib(arena_bytes) + ", staging " + mib(staging_bytes + largest_page) + "), more than " +
                           against);
}

void NetworkState::upload_weights(const WeightPacker& packer) {
  uint64_t largest = 16;
  for (const auto& page : packer.pages())
    largest = std::max<uint64_t>(largest, WeightPacker::footprint(page.size()) * 4);
  if (largest > buffer_limit()) throw std::logic_error("a weight page exceeds the buffer limit");
  Buffer staging(*ctx, largest, VK_BUFFER_USAGE_TRANSFER_SRC_BIT, MemoryUse::Upload, "weight staging");
  memory.weight_bytes = 0;
  for (const auto& page : packer.pages()) {
    const uint64_t bytes = std::max<uint64_t>(WeightPacker::footprint(page.size()) * 4, 16);
    weight_pages.emplace_back(*ctx, bytes,
                              VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT |
                                  VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                              MemoryUse::Device, "weights");
    std::memset(staging.mapped(), 0, bytes);
    // A model without constants packs no words, and memcpy from an empty vector's null data is
    // undefined even for zero bytes.
    if (!page.empty()) std::memcpy(staging.mapped(), page.data(), page.size() * sizeof(uint32_t));
    staging.flush();
    submitter.run("the weight upload", [&](VkCommandBuffer commands) {
      VkBufferCopy copy{0, 0, bytes};
      vkCmdCopyBuffer(commands, staging.get(), weight_pages.back().get(), 1, &copy);
    });
    memory.weight_bytes += bytes;
  }
  memory.weight_buffers = static_cast<uint32_t>(weight_pages.size());
}

void NetworkState::submit_to_queue(VkCommandBuffer commands, VkFence f) {
  VkSubmitInfo submit{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  submit.commandBufferCount = 1;
  submit.pCommandBuffers = &commands;
  std::lock_guard lock(ctx->queue_mutex);
  vk::check(vkQueueSubmit(ctx->queue, 1, &submit, f), "submitting work to the GPU");
}

NetworkState::~NetworkState() {
  for (auto& slot : run_slots) {
    VkFence f = slot.fence.get();
    if (slot.ticket && f) vkWaitForFences(device(), 1, &f, VK_TRUE, std::numeric_limits<uint64_t>::max());
  }
}

RunSlot& NetworkState::acquire_slot(std::unique_lock<std::mutex>& lock) {
  for (;;) {
    RunSlot* oldest = nullptr;
    for (auto& slot : run_slots) {
      if (!slot.ticket) return slot;
      if (slot.claim == RunSlot::Claim::None && (!oldest || slot.ticket < oldest->ticket)) oldest = &slot;
    }
    if (!oldest) {
      slot_freed.wait(lock);
      continue;
    }
    const uint64_t ticket = oldest->ticket;
    oldest->claim = RunSlot::Claim::Submit;
    wait_for_slot(*oldest, lock);
    auto done = collect(*oldest);
    done.second.wait_us = 0;  // submit() waited, not the ticket's owner
    collected.emplace(ticket, std::move(done));
    return *oldest;
  }
}

void NetworkState::wait_for_slot(RunSlot& slot, std::unique_lock<std::mutex>& lock) {
  VkFence f = slot.fence.get();
  const auto t0 = Clock::now();
  lock.unlock();
  // vkWaitForFences needs no external synchronization; the claim keeps every other thread off
  // the slot meanwhile.
  const VkResult waited = vkWaitForFences(device(), 1, &f, VK_TRUE, std::numeric_limits<uint64_t>::max());
  lock.lock();
  slot.claim = RunSlot::Claim::None;
  vk::check(waited, "waiting for the GPU");
  slot.profile.wait_us = micros(Clock::now() - t0);
}

std::pair<std::vector<Tensor>, Profile> NetworkState::collect(RunSlot& slot) {
  VkFence f = slot.fence.get();
  vk::check(vkResetFences(device(), 1, &f), "resetting a fence");
  Profile profile = std::move(slot.profile);
  const auto start = Clock::now();
  slot.readback.invalidate();
  std::vector<Tensor> results;
  const auto* out = static_cast<const float*>(slot.readback.mapped());
  for (const auto& o : outputs)
    results.push_back({o.shape, std::vector<float>(out + o.staging_offset, out + o.staging_offset + o.elements)});
  const auto finished = Clock::now();
  profile.readback_us = micros(finished - start);
  profile.total_us = micros(finished - slot.submitted_at);
  if (slot.timed) {
    std::vector<uint64_t> stamps(query_count);
    vk::check(vkGetQueryPoolResults(device(), slot.queries.get(), 0, query_count, stamps.size() * 8, stamps.data(), 8,
                                VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT),
          "reading GPU timestamps");
    const double ns = ctx->info.timestamp_period_ns;
    auto us = [&](uint32_t a, uint32_t b) { return stamps[b] >= stamps[a] ? (stamps[b] - stamps[a]) * ns / 1000.0 : 0.0; };
    const uint32_t end = query_count - 1;
    profile.gpu_us = us(0, end);
    profile.gpu_upload_us = us(0, 1);
    profile.gpu_readback_us = us(end - 1, end);
    for (uint32_t k = 0; k < nodes.size(); ++k)
      profile.layers.push_back(
          {nodes[k].name, nodes[k].op, nodes[k].output_shape, us(2 + 2 * k, 3 + 2 * k), us(0, 2 + 2 * k)});
  }
  slot.ticket = 0;
  slot_freed.notify_all();
  return {std::move(results), std::move(profile)};
}

VkCommandBuffer NetworkState::record(const RunSlot& slot, bool with_timestamps) {
  VkCommandBuffer cmd = submitter.allocate("the inference command buffer");
  VkCommandBufferBeginInfo begin{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  vk::check(vkBeginCommandBuffer(cmd, &begin), "recording the inference command buffer");

  // Query layout: 0 start, 1 inputs copied, 2+2k / 3+2k around node k, then outputs copied.
  const uint32_t end_query = 2 + 2 * static_cast<uint32_t>(nodes.size());
  auto stamp = [&](VkPipelineStageFlagBits stage, uint32_t query) {
    if (with_timestamps) vkCmdWriteTimestamp(cmd, stage, slot.queries.get(), query);
  };
  auto barrier = [&](VkPipelineStageFlags src, VkAccessFlags src_access, VkPipelineStageFlags dst,
                     VkAccessFlags dst_access) {
    VkMemoryBarrier b{VK_STRUCTURE_TYPE_MEMORY_BARRIER, nullptr, src_access, dst_access};
    vkCmdPipelineBarrier(cmd, src, dst, 0, 1, &b, 0, nullptr, 0, nullptr);
  };
  if (with_timestamps) vkCmdResetQueryPool(cmd, slot.queries.get(), 0, query_count);
  // Runs in flight share the arena: this run's writes wait for the previous run's shader and
  // copy accesses, which the queue's submission order puts in this barrier's first scope.
  barrier(VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
          VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
          VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
          VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT);
  stamp(VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, 0);

  if (options.poison_arena) {
    vkCmdFillBuffer(cmd, arena.get(), 0, VK_WHOLE_SIZE, 0x7FC00000u);  // quiet NaN
    barrier(VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT,
            VK_ACCESS_TRANSFER_WRITE_BIT);
  }
  std::vector<VkBufferCopy> copies;
  for (const auto& in : inputs)
    copies.push_back({in.staging_offset * 4, in.arena_offset * 4, in.elements * 4});
  vkCmdCopyBuffer(cmd, slot.upload.get(), arena.get(), static_cast<uint32_t>(copies.size()), copies.data());
  barrier(VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
          VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
  stamp(VK_PIPELINE_STAGE_TRANSFER_BIT, 1);

  // A barrier only before a dispatch whose bound ranges meet what the dispatches since the last
  // one wrote (or, for its writes, read): its descriptors bind all that it may touch.
  std::vector<Range> pending_reads, pending_writes;
  auto meets = [](const Range& r, const std::vector<Range>& list) {
    return std::any_of(list.begin(), list.end(), [&](const Range& x) { return x.overlaps(r); });
  };
  auto needs_barrier = [&](const PlannedDispatch& d) {
    if (meets(d.written, pending_writes) || meets(d.written, pending_reads)) return true;
    return std::any_of(d.operands.begin(), d.operands.end(),
                       [&](const std::optional<Range>& r) { return r && meets(*r, pending_writes); });
  };
  auto compute_barrier = [&] {
    barrier(VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
            VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
    pending_reads.clear();
    pending_writes.clear();
  };
  VkPipeline bound = VK_NULL_HANDLE;
  for (uint32_t k = 0; k < nodes.size(); ++k) {
    const auto& node = nodes[k];
    // The first dispatch's barrier goes before the node's timestamp, which then times the node alone.
    if (!node.dispatches.empty() && needs_barrier(node.dispatches.front())) compute_barrier();
    if (ctx->begin_label) {
      VkDebugUtilsLabelEXT label{VK_STRUCTURE_TYPE_DEBUG_UTILS_LABEL_EXT};
      label.pLabelName = node.name.c_str();
      ctx->begin_label(cmd, &label);
    }
    stamp(VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 2 + 2 * k);
    for (const auto& dispatch : node.dispatches) {
      if (needs_barrier(dispatch)) compute_barrier();
      if (dispatch.pipeline != bound) {
        vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, dispatch.pipeline);
        bound = dispatch.pipeline;
      }
      vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline_layout.get(), 0, 1, &dispatch.set, 0,
                              nullptr);
      if (!dispatch.push.empty())
        vkCmdPushConstants(cmd, pipeline_layout.get(), VK_SHADER_STAGE_COMPUTE_BIT, 0,
                           static_cast<uint32_t>(dispatch.push.size() * sizeof(uint32_t)), dispatch.push.data());
      vkCmdDispatch(cmd, dispatch.groups[0], dispatch.groups[1], dispatch.groups[2]);
      for (const auto& r : dispatch.operands)
        if (r) pending_reads.push_back(*r);
      pending_writes.push_back(dispatch.written);
    }
    stamp(VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 3 + 2 * k);
    if (ctx->end_label) ctx->end_label(cmd);
  }

  barrier(VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT,
          VK_ACCESS_TRANSFER_READ_BIT);
  copies.clear();
  for (const auto& out : outputs)
    copies.push_back({out.arena_offset * 4, out.staging_offset * 4, out.elements * 4});
  vkCmdCopyBuffer(cmd, arena.get(), slot.readback.get(), static_cast<uint32_t>(copies.size()), copies.data());
  barrier(VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_HOST_BIT,
          VK_ACCESS_HOST_READ_BIT);
  stamp(VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, end_query);
  vk::check(vkEndCommandBuffer(cmd), "recording the inference command buffer");
  return cmd;
}

void NetworkState::build() {
  const auto start = Clock::now();
  const auto& m = model.schema();
  if (options.in_flight < 1 || options.in_flight > kMaxInFlight)
    throw Error("NetworkOptions::in_flight is " + std::to_string(options.in_flight) + "; it must be 1 to " +
                std::to_string(kMaxInFlight));
  if (options.max_buffer_range && options.max_buffer_range < kMinBufferRange)
    throw Error("NetworkOptions::max_buffer_range is " + std::to_string(options.max_buffer_range) +
                " bytes; it must be 0 (the device's limit) or at least " + std::to_string(kMinBufferRange));
  plan();

  create_layouts();
  WeightPacker packer(buffer_limit() / sizeof(uint32_t));
  lower(packer);
  if (load.pipelines) ctx->save_pipeline_cache();

  auto io_slots = [&](const flatbuffers::Vector<uint32_t>& list) {
    std::vector<IoSlot> slots;
    uint64_t staging = 0;
    for (uint32_t t : list) {
      const auto* tensor = m.tensors()->Get(t);
      Shape shape(tensor->shape()->begin(), tensor->shape()->end());
      slots.push_back({t, tensor_offset[t], staging, static_cast<uint64_t>(element_count(shape)), shape});
      staging += (element_count(shape) + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment;
    }
    return std::make_pair(slots, std::max<uint64_t>(staging, 16) * sizeof(float));
  };
  auto [in_slots, in_bytes] = io_slots(*m.inputs());
  auto [out_slots, out_bytes] = io_slots(*m.outputs());
  inputs = std::move(in_slots);
  outputs = std::move(out_slots);

  uint64_t arena_bytes = std::max<uint64_t>(memory.arena_bytes, 64);
  if (arena_bytes > buffer_limit())
    throw MemoryLimitError("the model's activations (" + mib(arena_bytes) + ") exceed " + buffer_limit_text() +
                           ": a smaller batch or input needs less");
  check_memory(packer, arena_bytes, (in_bytes + out_bytes) * options.in_flight);
  upload_weights(packer);
  arena = Buffer(*ctx, arena_bytes,
                 VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT |
                     VK_BUFFER_USAGE_TRANSFER_DST_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
                 MemoryUse::Device, "the activation arena");
  run_slots.resize(options.in_flight);
  const VkFenceCreateInfo fence_info{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  for (auto& slot : run_slots) {
    VkFence f = VK_NULL_HANDLE;
    slot.upload = Buffer(*ctx, in_bytes, VK_BUFFER_USAGE_TRANSFER_SRC_BIT, MemoryUse::Upload, "input staging");
    slot.readback = Buffer(*ctx, out_bytes, VK_BUFFER_USAGE_TRANSFER_DST_BIT, MemoryUse::Readback, "output staging");
    vk::check(vkCreateFence(device(), &fence_info, nullptr, &f), "creating a fence");
    slot.fence = vk::UniqueFence(device(), f);
  }
  memory.staging_bytes = (in_bytes + out_bytes) * options.in_flight;

  create_descriptor_sets();

  query_count = 3 + 2 * static_cast<uint32_t>(nodes.size());
  run_slots.front().plain_commands = record(run_slots.front(), false);
  profiling = options.profiling;
  load.total_ms = micros(Clock::now() - start) / 1000.0;
}

}  // namespace detail

const char* to_string(Precision precision) noexcept {
  switch (precision) {
    case Precision::None: return "-";
    case Precision::Fp32: return "fp32";
    case Precision::Int8: return "int8";
    case Precision::Binary: return "binary";
    case Precision::Bits: return "bits";
  }
  return "?";
}

Network::Network(Context& context, const Model& model, const NetworkOptions& options)
    : state_(std::make_unique<detail::NetworkState>(context.state(), model, options)) {
  state_->build();
}

Network::~Network() = default;
Network::Network(Network&&) noexcept = default;
Network& Network::operator=(Network&&) noexcept = default;

void Network::set_profiling(bool enabled) {
  std::lock_guard lock(state_->mutex);
  state_->profiling = enabled;
}
bool Network::profiling() const {
  std::lock_guard lock(state_->mutex);
  return state_->profiling;
}
Profile Network::last_profile() const {
  std::lock_guard lock(state_->mutex);
  return state_->last;
}
const std::vector<LayerInfo>& Network::layers() const { return state_->layer_infos; }
MemoryReport Network::memory() const { return state_->memory; }
const LoadReport& Network::load_report() const { return state_->load; }
const Model& Network::model() const { return state_->model; }

Tensor Network::run(std::span<const float> input) {
  if (state_->inputs.size() != 1)
    throw Error("the model has " + std::to_string(state_->inputs.size()) + " inputs; pass one tensor for each");
  auto results = run(std::vector<std::span<const float>>{input});
  return std::move(results.front());
}

std::vector<Tensor> Network::run(const std::vector<std::span<const float>>& inputs) { return wait(submit(inputs)); }

Ticket Network::submit(std::span<const float> input) {
  if (state_->inputs.size() != 1)
    throw Error("the model has " + std::to_string(state_->inputs.size()) + " inputs; pass one tensor for each");
  return submit(std::vector<std::span<const float>>{input});
}

Ticket Network::submit(const std::vector<std::span<const float>>& inputs) {
  auto& s = *state_;
  using detail::Clock;
  if (inputs.size() != s.inputs.size())
    throw Error("the model has " + std::to_string(s.inputs.size()) + " input(s) but " +
                std::to_string(inputs.size()) + " were given");
  for (size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].size() != s.inputs[i].elements)
      throw Error("input " + std::to_string(i) + " has " + std::to_string(inputs[i].size()) +
                  " values but the model expects " + shape_string(s.inputs[i].shape) + " = " +
                  std::to_string(s.inputs[i].elements));

  std::unique_lock lock(s.mutex);
  detail::RunSlot& slot = s.acquire_slot(lock);
  const bool timed = s.profiling && s.ctx->info.timestamps;
  if (timed && !slot.profiled_commands) {
    VkQueryPoolCreateInfo info{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
    info.queryType = VK_QUERY_TYPE_TIMESTAMP;
    info.queryCount = s.query_count;
    VkQueryPool pool = VK_NULL_HANDLE;
    vk::check(vkCreateQueryPool(s.device(), &info, nullptr, &pool), "creating the timestamp query pool");
    slot.queries = vk::UniqueQueryPool(s.device(), pool);
    slot.profiled_commands = s.record(slot, true);
  }
  if (!timed && !slot.plain_commands) slot.plain_commands = s.record(slot, false);

  Profile profile;
  const auto start = Clock::now();
  auto* staging = static_cast<float*>(slot.upload.mapped());
  for (size_t i = 0; i < inputs.size(); ++i)
    std::memcpy(staging + s.inputs[i].staging_offset, inputs[i].data(), inputs[i].size_bytes());
  slot.upload.flush();
  const auto uploaded = Clock::now();
  s.submit_to_queue(timed ? slot.profiled_commands : slot.plain_commands, slot.fence.get());
  profile.upload_us = detail::micros(uploaded - start);
  profile.submit_us = detail::micros(Clock::now() - uploaded);
  slot.profile = std::move(profile);
  slot.submitted_at = start;
  slot.timed = timed;
  slot.ticket = ++s.submitted;
  s.has_run = true;
  return Ticket(state_.get(), slot.ticket);
}

std::vector<Tensor> Network::wait(const Ticket& ticket) {
  auto& s = *state_;
  std::unique_lock lock(s.mutex);
  if (ticket.owner_ != state_.get())
    throw Error(ticket.id_ ? "ticket " + std::to_string(ticket.id_) + " was issued by another Network"
                           : std::string("an empty ticket: only the tickets submit() returns can be waited for"));
  std::pair<std::vector<Tensor>, Profile> outputs;
  for (;;) {
    if (auto done = s.collected.find(ticket.id_); done != s.collected.end()) {
      outputs = std::move(done->second);
      s.collected.erase(done);
      break;
    }
    auto slot = std::find_if(s.run_slots.begin(), s.run_slots.end(), [&](const auto& x) { return x.ticket == ticket.id_; });
    if (slot == s.run_slots.end())
      throw Error("ticket " + std::to_string(ticket.id_) + " was already waited for: each run's outputs are returned once");
    if (slot->claim == detail::RunSlot::Claim::Wait)
      throw Error("ticket " + std::to_string(ticket.id_) + " is being waited for by another thread");
    if (slot->claim == detail::RunSlot::Claim::Submit) {
      s.slot_freed.wait(lock);  // a submit() is collecting it
      continue;
    }
    slot->claim = detail::RunSlot::Claim::Wait;
    s.wait_for_slot(*slot, lock);
    outputs = s.collect(*slot);
    break;
  }
  s.last = std::move(outputs.second);
  return std::move(outputs.first);
}

Tensor Network::read_tensor(const std::string& name) const {
  const auto& s = *state_;
  const uint32_t t = s.tapped_tensor(name);
  std::lock_guard lock(s.mutex);
  if (!s.has_run) throw Error("tensor '" + name + "' has no value yet: run the network first");
  auto range = s.range_of(t);
  uint64_t bytes = (range.end - range.begin) * sizeof(float);
  detail::Buffer host(*s.ctx, bytes, VK_BUFFER_USAGE_TRANSFER_DST_BIT, detail::MemoryUse::Readback, "a tap readback");
  state_->submitter.run("a tap readback", [&](VkCommandBuffer cmd) {
    // The latest submitted run may still be in flight: the copy waits for its writes.
    VkMemoryBarrier after_run{VK_STRUCTURE_TYPE_MEMORY_BARRIER, nullptr,
                              VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT, VK_ACCESS_TRANSFER_READ_BIT};
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                         VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &after_run, 0, nullptr, 0, nullptr);
    VkBufferCopy copy{range.begin * 4, 0, bytes};
    vkCmdCopyBuffer(cmd, s.arena.get(), host.get(), 1, &copy);
    VkMemoryBarrier b{VK_STRUCTURE_TYPE_MEMORY_BARRIER, nullptr, VK_ACCESS_TRANSFER_WRITE_BIT, VK_ACCESS_HOST_READ_BIT};
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &b, 0, nullptr, 0,
                         nullptr);
  });
  host.invalidate();
  const auto* data = static_cast<const float*>(host.mapped());
  const auto* tensor = s.model.schema().tensors()->Get(t);
  detail::Shape shape(tensor->shape()->begin(), tensor->shape()->end());
  if (tensor->type() == fb::DataType::Float32)
    return {shape, std::vector<float>(data, data + (range.end - range.begin))};
  // Packed signs come back as the -1/+1 values they stand for, int8 as the reals it encodes.
  const auto* words = static_cast<const uint32_t*>(host.mapped());
  const bool bits = tensor->type() == fb::DataType::Bit;
  const detail::Quant quant = detail::quant_of(*tensor);
  std::vector<float> values(static_cast<size_t>(element_count(shape)));
  detail::for_each_packed(shape, bits ? 32 : 4, [&](uint64_t element, uint64_t word, uint64_t at) {
    values[element] = bits ? ((words[word] >> at) & 1u ? -1.0f : 1.0f)
                           : static_cast<float>(static_cast<int8_t>(words[word] >> (8 * at)) - quant.zero_point) *
                                 quant.scale;
  });
  return {shape, std::move(values)};
}

DeviceTensor Network::device_tensor(const std::string& name) const {
  const auto& s = *state_;
  const uint32_t t = s.tapped_tensor(name);
  auto range = s.range_of(t);
  const auto* tensor = s.model.schema().tensors()->Get(t);
  DeviceTensor d;
  d.buffer = s.arena.get();
  d.offset = range.begin * sizeof(float);
  d.bytes = (range.end - range.begin) * sizeof(float);
  d.shape.assign(tensor->shape()->begin(), tensor->shape()->end());
  d.packed_bits = tensor->type() == fb::DataType::Bit;
  d.packed_int8 = tensor->type() == fb::DataType::Int8;
  const detail::Quant quant = detail::quant_of(*tensor);
  d.scale = quant.scale;
  d.zero_point = quant.zero_point;
  return d;
}

}  // namespace vkbnn
