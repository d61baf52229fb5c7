#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "vkbnn/device.hpp"
#include "vkbnn/model.hpp"

namespace vkbnn {

struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> data;
};

// How a 3x3 convolution with stride 1, dilation 1 and one group is computed (see Conv2D in the
// README's performance section). Auto: Winograd F(2x2, 3x3) where the device and the layer's
// shape were measured to gain by it, else the direct tiled convolution. Direct and Winograd force
// one for every such layer (others always run direct), for comparisons and tests.
enum class ConvAlgorithm { Auto, Direct, Winograd };

struct NetworkOptions {
  // Tensors to keep readable after a run (see Network::read_tensor). Their memory is not
  // reused by later layers.
  std::vector<std::string> taps;
  bool tap_all = false;
  bool profiling = false;
  // Fill the activation arena with NaN before every run, so a layer that leaves part of its
  // output unwritten cannot pass a comparison by accident. For tests.
  bool poison_arena = false;
  // Runs that may be pending at once (see Network::submit). Each has its own staging buffers,
  // command buffers and fence, so the host fills the inputs of run k+1, and reads the outputs of
  // run k-1, while the GPU works on run k. The runs share the activation arena: their GPU work
  // still executes one after another, in submission order. 1 to 64.
  uint32_t in_flight = 2;
  // The batch (first input dimension) to build the network for; 0 keeps the model's. Another
  // batch than the model's needs a model converted with --dynamic-batch (see
  // Model::with_batch); inputs, outputs and every activation then scale with it.
  int64_t batch = 0;
  // The input size to build the network for: per model input, in order, the lengths of its axes
  // after N and C (H and W of an NCHW image); empty keeps the model's, as does an empty entry
  // that input's. Another size than the model's needs a model converted with --dynamic-size (see
  // Model::with_input_sizes): every activation's shape is derived anew, the arena planned for
  // them and the pipelines specialized for them (the pipeline cache keeps each size's). A size
  // too small for a layer's window, or one that a layer pins (a fully connected layer on the
  // flattened image), fails with ModelError naming the layer.
  std::vector<std::vector<int64_t>> input_sizes;
  // The most bytes one buffer binding may span; 0 keeps the device's limit, the least of
  // maxStorageBufferRange, maxTexelBufferElements * 4 and maxMemoryAllocationSize, and a value
  // can only lower it. Weights beyond it go into several buffers (MemoryReport::weight_buffers),
  // Conv2D and FullyConnected layers whose weights alone exceed it run as several dispatches over
  // ranges of output channels; activations beyond it fail with MemoryLimitError. For testing
  // those paths on small models, and for devices that report more than they handle.
  uint64_t max_buffer_range = 0;
  // The most device memory the network may allocate (weights, activations and staging); 0 keeps
  // what the device allows: the heap's budget left (VK_EXT_memory_budget) or else its size. A
  // network that needs more fails with MemoryLimitError before it allocates anything.
  uint64_t max_device_memory = 0;
  ConvAlgorithm conv_algorithm = ConvAlgorithm::Auto;
};

// What a layer computes in.
enum class Precision {
  None,    // a view of its input (Reshape): no work of its own
  Fp32,
  Int8,    // reads or writes int8 tensors (Quantize and Dequantize count: they are the price of int8 layers)
  Binary,  // XNOR/popcount
  Bits,    // packs or moves signs
};
// "-", "fp32", "int8", "binary", "bits": the names tables and JSON reports print.
const char* to_string(Precision precision) noexcept;

struct LayerInfo {
  std::string name;
  std::string op;
  std::vector<int64_t> output_shape;
  uint32_t dispatches = 0;
  Precision precision = Precision::Fp32;
  uint64_t macs = 0;      // multiply-accumulates per run (binary ones for binary layers); 0 for the rest
  uint64_t bytes = 0;     // its input, weight and output tensors' sizes: the least memory it must move
  uint64_t weight_bytes = 0;  // its constant inputs (weights, biases, scales) as the model file stores them
  // The compute shaders its dispatches run, in order (names of shaders/*.comp without the
  // extension): shows which kernel variant the device's features selected, e.g. conv2d_subgroup
  // or conv2d, int8_conv2d_dot or int8_conv2d. Empty for layers that are views (Reshape).
  std::vector<std::string> shaders;
};

struct LayerTiming {
  std::string name;
  std::string op;
  std::vector<int64_t> output_shape;
  double gpu_us = 0;
  double start_us = 0;  // GPU time from the start of the run to the layer's start
};

// One inference, timed. upload + submit + gpu-side wait + readback add up to total_us (for a
// run made with submit() and wait(), total_us also holds what the caller did in between, and
// wait_us only the time wait() blocked); layers' gpu_us sum to at most gpu_us (the GPU time
// between the first and last timestamp).
struct Profile {
  std::vector<LayerTiming> layers;
  double upload_us = 0;    // host copy of inputs into staging memory
  double submit_us = 0;    // vkQueueSubmit
  double wait_us = 0;      // waiting for the fence: the GPU doing the work
  double readback_us = 0;  // host copy of outputs from staging memory
  double total_us = 0;     // end to end, as a caller of run() sees it
  double gpu_us = 0;       // timestamp span of the whole command buffer
  double gpu_upload_us = 0;    // in-command-buffer copy from staging to the arena
  double gpu_readback_us = 0;  // in-command-buffer copy from the arena to staging
};

// Where a tapped tensor lives on the device, for applications that use it on the GPU without a
// read-back (see Network::device_tensor). Valid until the next run() or submit() or the
// Network's end.
struct DeviceTensor {
  VkBuffer buffer = VK_NULL_HANDLE;  // the activation arena (a storage buffer)
  VkDeviceSize offset = 0;           // bytes from the buffer's start
  VkDeviceSize bytes = 0;
  std::vector<int64_t> shape;        // the logical shape, NCHW for images
  // false: float32 values in shape order. true (DataType::Bit): signs packed 32 to a uint32 word
  // along axis 1, stored N x ceil(C/32) x H x W words; bit c % 32 set means -1, clear +1.
  bool packed_bits = false;
  // true (DataType::Int8): signed bytes packed 4 to a word along axis 1, N x ceil(C/4) x H x W
  // words, byte c % 4 for channel c; the value is scale * (byte - zero_point).
  bool packed_int8 = false;
  float scale = 0;
  int32_t zero_point = 0;
};

struct MemoryReport {
  uint64_t weight_bytes = 0;
  uint32_t weight_buffers = 0;     // buffers the weights are split over (see NetworkOptions::max_buffer_range)
  uint64_t arena_bytes = 0;        // activations as planned
  uint64_t naive_arena_bytes = 0;  // every activation in its own buffer
  uint64_t staging_bytes = 0;
};

// Where the time of building a Network went. With a warm pipeline cache (ContextOptions)
// pipelines_ms is the driver finding them, not compiling them.
struct LoadReport {
  double total_ms = 0;      // the Network constructor, end to end
  double pipelines_ms = 0;  // building pipelines: their shader modules and vkCreateComputePipelines
  uint32_t pipelines = 0;   // distinct pipelines (shader and specialization)
};

namespace detail {
struct NetworkState;
}

// A run started by Network::submit, to be collected once with Network::wait.
class Ticket {
 public:
  Ticket() = default;
  // 1, 2, 3, ... in the order the network's runs were submitted; 0 for a Ticket not from submit().
  uint64_t id() const { return id_; }

 private:
  friend class Network;
  Ticket(const detail::NetworkState* owner, uint64_t id) : owner_(owner), id_(id) {}
  const detail::NetworkState* owner_ = nullptr;
  uint64_t id_ = 0;
};

// A model placed on a device: weights uploaded, memory planned, pipelines built and the whole
// graph recorded into a command buffer (one per NetworkOptions::in_flight slot) that every run
// replays.
//
// Threads: one Network may be called from several threads. run(), submit(), wait(),
// read_tensor(), set_profiling(), profiling() and last_profile() hold the network's lock, so
// concurrent calls run one after another and each run() returns the outputs of its own inputs.
// wait() lets go of the lock while it blocks on the GPU, so one thread may submit while another
// waits. A ticket belongs to no thread: any thread may wait for it, once; a second wait() for it,
// from any thread, throws. What a run leaves behind (read_tensor(), device_tensor()) is the
// latest submitted run's, and last_profile() the latest waited one's, whichever thread made it:
// a thread that reads a run's intermediates or profile must keep other threads from running in
// between (its own lock, or a Network of its own). layers(), memory(),
// load_report() and model() describe what the constructor built and never change. Runs of one
// Network never overlap on the GPU; for parallel inference give each thread its own Network, on
// one shared Context (see Context). Moving or destroying a Network must not race with its use.
class Network {
 public:
  Network(Context& context, const Model& model, const NetworkOptions& options = {});
  ~Network();
  Network(Network&&) noexcept;
  Network& operator=(Network&&) noexcept;
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  // One input tensor per model input, in the model's input order, NCHW float32.
  // Blocks until the outputs are back: submit() then wait().
  std::vector<Tensor> run(const std::vector<std::span<const float>>& inputs);
  Tensor run(std::span<const float> input);

  // Starts a run and returns once its inputs are copied into the run's staging memory and the
  // work is queued; the inputs may be reused at once. With NetworkOptions::in_flight runs pending
  // already, it first waits for the oldest one that no wait() is blocked on and keeps its
  // outputs for its wait(). Inputs as for run().
  Ticket submit(const std::vector<std::span<const float>>& inputs);
  Ticket submit(std::span<const float> input);
  // The outputs of a submitted run, blocking until the GPU has done it. Tickets may be waited in
  // any order. Throws for a ticket already waited for (or being waited for by another thread),
  // an empty one, or one from another Network; the run is then unaffected. Runs not waited for
  // are finished and dropped when the Network is destroyed.
  std::vector<Tensor> wait(const Ticket& ticket);

  // Per-layer GPU timestamps are recorded when enabled; switching re-records nothing after the
  // first time each variant is used.
  void set_profiling(bool enabled);
  bool profiling() const;
  // The profile of the latest run collected by run() or wait() (empty layers when profiling was off), copied.
  Profile last_profile() const;

  // An intermediate tensor from the latest submitted run (waiting for it on the GPU), by tensor
  // or layer (node) name. The tensor must have been requested in NetworkOptions::taps (or
  // tap_all), or be a model output. Binarized
  // (packed) tensors are returned as their -1/+1 values, int8 ones dequantized.
  Tensor read_tensor(const std::string& name) const;
  // The same tensor where it lies in device memory, for drawing it straight from the GPU. The
  // engine's writes are complete when run() (or the latest submit()'s wait()) returns; a reader
  // in a later submission on the context's queue needs only a barrier from shader/transfer writes to its own reads.
  DeviceTensor device_tensor(const std::string& name) const;

  const std::vector<LayerInfo>& layers() const;
  MemoryReport memory() const;
  const LoadReport& load_report() const;
  const Model& model() const;

 private:
  std::unique_ptr<detail::NetworkState> state_;
};

}  // namespace vkbnn
