#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <vulkan/vulkan.h>

namespace vkbnn {

// What a physical device offers that matters for inference.
struct DeviceInfo {
  uint32_t index = 0;
  std::string name;
  std::string type;  // "discrete", "integrated", "virtual", "cpu", "other"
  std::string driver;
  uint32_t api_version = 0;
  uint32_t vendor_id = 0;
  uint32_t device_id = 0;
  bool timestamps = false;           // compute queue supports timestamps
  double timestamp_period_ns = 0;
  bool storage_int8 = false;         // storageBuffer8BitAccess
  bool integer_dot_product = false;  // shaderIntegerDotProduct (Vulkan 1.3 or the KHR extension), if enabled
  bool integer_dot_product_accelerated = false;  // packed signed 4x8-bit dot products run in hardware
  bool float16 = false;              // shaderFloat16
  bool debug_utils = false;          // VK_EXT_debug_utils on the instance
  uint32_t subgroup_size = 0;
  bool subgroup_broadcast = false;   // subgroup ballot operations in compute shaders, if enabled
  // On a CPU device (lavapipe), the vector registers of the host CPU that runs the shaders: each
  // of a shader's values takes one, for as many invocations as its lanes hold (16 with AVX2, 32
  // with AVX-512 or on AArch64). 0 on other devices.
  uint32_t cpu_vector_registers = 0;
  uint64_t max_storage_buffer_range = 0;
  uint64_t max_texel_buffer_elements = 0;
  uint64_t max_memory_allocation_size = 0;  // maxMemoryAllocationSize: the largest single allocation
  uint32_t max_shared_memory = 0;
  uint64_t device_local_bytes = 0;
  uint32_t driver_version = 0;
  std::array<uint8_t, VK_UUID_SIZE> device_uuid{};
  std::array<uint8_t, VK_UUID_SIZE> pipeline_cache_uuid{};
};

struct ContextOptions {
  // Device choice: an index, or a case-insensitive substring of the device name. When neither
  // is set, VKBNN_DEVICE (index or name) is read, and then the first discrete GPU, then any
  // GPU, then any device wins.
  std::optional<uint32_t> device_index;
  std::string device_name;
  // Enable VK_LAYER_KHRONOS_validation; also on when VKBNN_VALIDATION=1.
  bool validation = false;
  // Validation with its synchronization checks (also VKBNN_VALIDATION=sync): a missing barrier
  // between dispatches whose bound ranges meet is reported (each dispatch binds only the tensors
  // it touches). The test suite runs with them on.
  bool synchronization_validation = false;
  // Use kernels built on subgroup operations where the device has them; off forces the
  // portable kernels (for comparison and testing).
  bool subgroup_operations = true;
  // Run int8 kernels on packed 4x8-bit dot products where the device has them; off forces the
  // portable int8 kernels (for comparison and testing).
  bool integer_dot_product = true;
  // Keep compiled pipelines on disk, so that a model loads without compiling its shaders again:
  // one file per device (UUID) and driver version in pipeline_cache_dir, or, when that is empty,
  // in VKBNN_CACHE_DIR, $XDG_CACHE_HOME/vkbnn or ~/.cache/vkbnn. VKBNN_PIPELINE_CACHE=0 turns it
  // off. A file that is corrupt or made for another device or driver is ignored.
  bool pipeline_cache = true;
  std::filesystem::path pipeline_cache_dir;
  // For applications that also draw with this device (a GUI sharing the VkDevice): extra
  // instance extensions (e.g. what glfwGetRequiredInstanceExtensions returns) and device
  // extensions (e.g. VK_KHR_swapchain) to enable. One that is not available throws Error.
  std::vector<std::string> instance_extensions;
  std::vector<std::string> device_extensions;
};

std::string to_string(const DeviceInfo& info);

// What the device reaches in two micro-benchmarks, to judge kernels against.
struct DeviceLimits {
  double fp32_gflops = 0;     // fused multiply-adds, each 2 FLOP, in independent chains
  // Packed 4x8-bit dot products, each 8 ops (4 multiplies, 4 adds), where the int8 kernels use
  // them (DeviceInfo::integer_dot_product); 0 elsewhere, where int8 layers run on fp32 arithmetic.
  double int8_gops = 0;
  double bandwidth_gbps = 0;  // bytes read plus bytes written per second, copying 64 MiB
};

namespace detail {
struct ContextState;
}

// A Vulkan instance and one logical device with a compute queue. Networks borrow it.
//
// Threads: one Context may be shared by any number of threads, each building, running and
// destroying its own Networks at the same time as the others: submissions to the queue take
// queue_mutex(), the pipeline cache is synchronized, and the validation message count is
// atomic. The Context must outlive its Networks, and creating, moving or destroying it must not
// race with its use.
class Context {
 public:
  explicit Context(const ContextOptions& options = {});
  ~Context();
  Context(Context&&) noexcept;
  Context& operator=(Context&&) noexcept;
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  static std::vector<DeviceInfo> list_devices();

  const DeviceInfo& device() const;
  // Validation messages seen so far (warnings and errors); tests require none.
  uint32_t validation_message_count() const;
  // The pipeline cache file in use (empty when off) and whether it held valid data at start.
  const std::filesystem::path& pipeline_cache_file() const;
  bool pipeline_cache_loaded() const;

  VkInstance instance() const;
  VkPhysicalDevice physical_device() const;
  VkDevice vk_device() const;
  VkQueue queue() const;
  uint32_t queue_family() const;
  // queue() is shared: whoever else submits to or presents on it (from any thread) must hold
  // this mutex meanwhile; the engine holds it around its own vkQueueSubmit calls.
  std::mutex& queue_mutex() const;

  detail::ContextState& state() const { return *state_; }

 private:
  std::unique_ptr<detail::ContextState> state_;
};

// Runs the micro-benchmarks on the context's device (well under a second on a GPU).
DeviceLimits measure_limits(Context& context);

}  // namespace vkbnn
