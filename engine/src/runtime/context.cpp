#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>
#include <utility>
#include <vector>

#include "runtime/context_state.hpp"
#include "vkbnn/device.hpp"
#include "vkbnn/memory.hpp"
#include "vkbnn/vulkan/handles.hpp"

namespace vkbnn {
namespace detail {
namespace {

bool has_extension(const std::vector<VkExtensionProperties>& list, const char* name) {
  return std::any_of(list.begin(), list.end(),
                     [&](const VkExtensionProperties& e) { return std::strcmp(e.extensionName, name) == 0; });
}

std::vector<VkExtensionProperties> instance_extensions() {
  uint32_t count = 0;
  vk::check(vkEnumerateInstanceExtensionProperties(nullptr, &count, nullptr), "listing instance extensions");
  std::vector<VkExtensionProperties> list(count);
  vk::check(vkEnumerateInstanceExtensionProperties(nullptr, &count, list.data()), "listing instance extensions");
  return list;
}

std::vector<VkExtensionProperties> device_extensions(VkPhysicalDevice device) {
  uint32_t count = 0;
  vk::check(vkEnumerateDeviceExtensionProperties(device, nullptr, &count, nullptr), "listing device extensions");
  std::vector<VkExtensionProperties> list(count);
  vk::check(vkEnumerateDeviceExtensionProperties(device, nullptr, &count, list.data()),
            "listing device extensions");
  return list;
}

bool layer_has_extension(const char* layer, const char* name) {
  uint32_t count = 0;
  if (vkEnumerateInstanceExtensionProperties(layer, &count, nullptr) != VK_SUCCESS) return false;
  std::vector<VkExtensionProperties> list(count);
  if (vkEnumerateInstanceExtensionProperties(layer, &count, list.data()) != VK_SUCCESS) return false;
  return has_extension(list, name);
}

bool validation_layer_available() {
  uint32_t count = 0;
  vkEnumerateInstanceLayerProperties(&count, nullptr);
  std::vector<VkLayerProperties> layers(count);
  vkEnumerateInstanceLayerProperties(&count, layers.data());
  return std::any_of(layers.begin(), layers.end(), [](const VkLayerProperties& l) {
    return std::strcmp(l.layerName, "VK_LAYER_KHRONOS_validation") == 0;
  });
}

VKAPI_ATTR VkBool32 VKAPI_CALL on_validation_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                     VkDebugUtilsMessageTypeFlagsEXT,
                                                     const VkDebugUtilsMessengerCallbackDataEXT* data,
                                                     void* user) {
  if (severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) {
    static_cast<ContextState*>(user)->validation_messages++;
    std::cerr << "vkbnn: Vulkan validation: " << (data->pMessage ? data->pMessage : "") << '\n';
  }
  return VK_FALSE;
}

// The instance every Context and list_devices() start from.
struct InstanceSetup {
  VkInstance instance = VK_NULL_HANDLE;
  bool debug_utils = false;
};

InstanceSetup create_instance(bool validation, bool synchronization, const std::vector<std::string>& requested = {}) {
  auto available = instance_extensions();
  std::vector<const char*> extensions;
  VkInstanceCreateFlags flags = 0;
  // MoltenVK on macOS is only enumerated when the application opts into portability devices.
  if (has_extension(available, VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME)) {
    extensions.push_back(VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME);
    flags |= VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR;
  }
  bool debug_utils = has_extension(available, VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
  if (debug_utils) extensions.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
  if (has_extension(available, VK_KHR_GET_PHYSICAL_DEVICE_PROPERTIES_2_EXTENSION_NAME))
    extensions.push_back(VK_KHR_GET_PHYSICAL_DEVICE_PROPERTIES_2_EXTENSION_NAME);
  for (const auto& name : requested) {
    if (!has_extension(available, name.c_str()))
      throw Error("the Vulkan instance extension " + name + " was requested but is not available");
    if (std::none_of(extensions.begin(), extensions.end(), [&](const char* e) { return name == e; }))
      extensions.push_back(name.c_str());
  }

  std::vector<const char*> layers;
  // On lavapipe (and many GPUs) a missing barrier does not show as a wrong result; only the
  // synchronization checks see one (VKBNN_VALIDATION=sync). They take each descriptor's range
  // as accessed, which is why every dispatch binds only the tensors it touches.
  const VkValidationFeatureEnableEXT enabled_checks[] = {VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT};
  VkValidationFeaturesEXT features{VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT};
  features.enabledValidationFeatureCount = 1;
  features.pEnabledValidationFeatures = enabled_checks;
  if (validation) {
    if (!validation_layer_available())
      throw Error("validation was requested but VK_LAYER_KHRONOS_validation is not installed "
                  "(Debian: apt-get install vulkan-validationlayers)");
    layers.push_back("VK_LAYER_KHRONOS_validation");
  }
  if (validation && synchronization) {
    if (!layer_has_extension("VK_LAYER_KHRONOS_validation", VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME))
      throw Error("the installed VK_LAYER_KHRONOS_validation lacks " VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME
                  ", needed for synchronization validation");
    extensions.push_back(VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME);
  }

  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "vkbnn";
  app.pEngineName = "vkbnn";
  // 1.2 where the device has it: conv2d_subgroup is SPIR-V 1.5. Devices stay usable from 1.1.
  app.apiVersion = VK_API_VERSION_1_2;
  VkInstanceCreateInfo info{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  info.flags = flags;
  info.pApplicationInfo = &app;
  info.enabledExtensionCount = static_cast<uint32_t>(extensions.size());
  info.ppEnabledExtensionNames = extensions.data();
  info.enabledLayerCount = static_cast<uint32_t>(layers.size());
  info.ppEnabledLayerNames = layers.data();
  if (validation && synchronization) info.pNext = &features;
  VkInstance instance = VK_NULL_HANDLE;
  VkResult result = vkCreateInstance(&info, nullptr, &instance);
  if (result == VK_ERROR_INCOMPATIBLE_DRIVER)
    throw VulkanError(result, "creating the Vulkan instance (no Vulkan 1.1 driver found; on Debian "
                              "without a GPU install mesa-vulkan-drivers for lavapipe)");
  vk::check(result, "creating the Vulkan instance");
  return {instance, debug_utils};
}

std::vector<VkPhysicalDevice> physical_devices(VkInstance instance) {
  uint32_t count = 0;
  vk::check(vkEnumeratePhysicalDevices(instance, &count, nullptr), "listing Vulkan devices");
  std::vector<VkPhysicalDevice> devices(count);
  vk::check(vkEnumeratePhysicalDevices(instance, &count, devices.data()), "listing Vulkan devices");
  return devices;
}

std::optional<uint32_t> compute_queue_family(VkPhysicalDevice device, uint32_t* timestamp_bits) {
  uint32_t count = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(device, &count, nullptr);
  std::vector<VkQueueFamilyProperties> families(count);
  vkGetPhysicalDeviceQueueFamilyProperties(device, &count, families.data());
  // A graphics+compute family works everywhere and keeps the device shareable with a renderer;
  // a compute-only family (an asynchronous compute engine) is the fallback.
  std::optional<uint32_t> chosen;
  for (uint32_t i = 0; i < count && !chosen; ++i)
    if ((families[i].queueFlags & VK_QUEUE_COMPUTE_BIT) && (families[i].queueFlags & VK_QUEUE_GRAPHICS_BIT))
      chosen = i;
  for (uint32_t i = 0; i < count && !chosen; ++i)
    if (families[i].queueFlags & VK_QUEUE_COMPUTE_BIT) chosen = i;
  if (chosen && timestamp_bits) *timestamp_bits = families[*chosen].timestampValidBits;
  return chosen;
}

// The vector registers a CPU implementation's shader code can use: LLVM (lavapipe) targets the
// host, where AVX-512VL adds ymm16-31 to AVX2's 16.
uint32_t host_vector_registers() {
#if defined(__x86_64__) || defined(__i386__)
  return __builtin_cpu_supports("avx512vl") ? 32 : 16;
#elif defined(__aarch64__)
  return 32;
#else
  return 16;
#endif
}

const char* type_name(VkPhysicalDeviceType type) {
  switch (type) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
    default: return "other";
  }
}

DeviceInfo describe(VkPhysicalDevice device, uint32_t index, bool debug_utils) {
  VkPhysicalDeviceIDProperties ids{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ID_PROPERTIES};
  VkPhysicalDeviceMaintenance3Properties maintenance3{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
  ids.pNext = &maintenance3;
  VkPhysicalDeviceDriverProperties driver{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
  driver.pNext = &ids;
  VkPhysicalDeviceSubgroupProperties subgroup{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
  subgroup.pNext = &driver;
  VkPhysicalDeviceProperties2 props{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
  props.pNext = &subgroup;
  // The instance asks for Vulkan 1.2, so integer dot products (core only from 1.3) come from the
  // KHR extension, and its structures may only be chained where the device has it.
  auto extensions = device_extensions(device);
  const bool dot_product_known = has_extension(extensions, VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME);
  VkPhysicalDeviceShaderIntegerDotProductProperties dot_props{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_PROPERTIES};
  if (dot_product_known) {
    dot_props.pNext = props.pNext;
    props.pNext = &dot_props;
  }
  vkGetPhysicalDeviceProperties2(device, &props);

  VkPhysicalDevice8BitStorageFeatures storage8{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_8BIT_STORAGE_FEATURES};
  VkPhysicalDeviceShaderFloat16Int8Features f16{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
  f16.pNext = &storage8;
  VkPhysicalDeviceShaderIntegerDotProductFeatures dot{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES};
  if (dot_product_known) {
    dot.pNext = f16.pNext;
    f16.pNext = &dot;
  }
  VkPhysicalDeviceFeatures2 features{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  features.pNext = &f16;
  vkGetPhysicalDeviceFeatures2(device, &features);

  VkPhysicalDeviceMemoryProperties memory;
  vkGetPhysicalDeviceMemoryProperties(device, &memory);

  DeviceInfo info;
  info.index = index;
  info.name = props.properties.deviceName;
  info.type = type_name(props.properties.deviceType);
  info.driver = std::string(driver.driverName) + " " + driver.driverInfo;
  info.api_version = props.properties.apiVersion;
  info.vendor_id = props.properties.vendorID;
  info.device_id = props.properties.deviceID;
  info.driver_version = props.properties.driverVersion;
  std::copy_n(ids.deviceUUID, VK_UUID_SIZE, info.device_uuid.begin());
  std::copy_n(props.properties.pipelineCacheUUID, VK_UUID_SIZE, info.pipeline_cache_uuid.begin());
  uint32_t timestamp_bits = 0;
  compute_queue_family(device, &timestamp_bits);
  info.timestamps = timestamp_bits > 0 && props.properties.limits.timestampPeriod > 0;
  info.timestamp_period_ns = props.properties.limits.timestampPeriod;
  info.storage_int8 = storage8.storageBuffer8BitAccess;
  info.integer_dot_product = dot.shaderIntegerDotProduct;
  info.integer_dot_product_accelerated = dot_props.integerDotProduct4x8BitPackedSignedAccelerated;
  info.float16 = f16.shaderFloat16;
  info.debug_utils = debug_utils;
  info.subgroup_size = subgroup.subgroupSize;
  info.subgroup_broadcast = (subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
                            (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_BALLOT_BIT);
  if (props.properties.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU) info.cpu_vector_registers = host_vector_registers();
  info.max_storage_buffer_range = props.properties.limits.maxStorageBufferRange;
  info.max_texel_buffer_elements = props.properties.limits.maxTexelBufferElements;
  info.max_memory_allocation_size = maintenance3.maxMemoryAllocationSize;
  info.max_shared_memory = props.properties.limits.maxComputeSharedMemorySize;
  for (uint32_t i = 0; i < memory.memoryHeapCount; ++i)
    if (memory.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)
      info.device_local_bytes = std::max<uint64_t>(info.device_local_bytes, memory.memoryHeaps[i].size);
  return info;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Picks by index or name; otherwise discrete GPU, then any GPU, then whatever there is.
uint32_t choose_device(const std::vector<DeviceInfo>& devices, const ContextOptions& options) {
  std::optional<uint32_t> index = options.device_index;
  std::string name = options.device_name;
  if (!index && name.empty()) {
    if (const char* env = std::getenv("VKBNN_DEVICE"); env && *env) {
      std::string value = env;
      if (std::all_of(value.begin(), value.end(), [](unsigned char c) { return std::isdigit(c); }))
        index = static_cast<uint32_t>(std::stoul(value));
      else
        name = value;
    }
  }
  if (index) {
    if (*index >= devices.size())
      throw Error("device index " + std::to_string(*index) + " does not exist (" +
                  std::to_string(devices.size()) + " Vulkan device(s); see vkbnn-info)");
    return *index;
  }
  if (!name.empty()) {
    for (const auto& d : devices)
      if (lower(d.name).find(lower(name)) != std::string::npos) return d.index;
    throw Error("no Vulkan device matches '" + name + "' (see vkbnn-info)");
  }
  for (const char* type : {"discrete", "integrated", "virtual"})
    for (const auto& d : devices)
      if (d.type == type) return d.index;
  return 0;
}

}  // namespace

DeviceMemory describe_memory(VkPhysicalDevice device) {
  DeviceMemory result;
  result.budget = has_extension(device_extensions(device), VK_EXT_MEMORY_BUDGET_EXTENSION_NAME);
  VkPhysicalDeviceMemoryBudgetPropertiesEXT budgets{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT};
  VkPhysicalDeviceMemoryProperties2 properties{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2};
  if (result.budget) properties.pNext = &budgets;
  vkGetPhysicalDeviceMemoryProperties2(device, &properties);
  const VkPhysicalDeviceMemoryProperties& memory = properties.memoryProperties;
  std::vector<MemoryHeap>& heaps = result.heaps;
  heaps.resize(memory.memoryHeapCount);
  for (uint32_t i = 0; i < memory.memoryHeapCount; ++i) {
    heaps[i].size = memory.memoryHeaps[i].size;
    heaps[i].device_local = memory.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT;
    if (result.budget) heaps[i].budget = budgets.heapBudget[i], heaps[i].usage = budgets.heapUsage[i];
  }
  for (uint32_t t = 0; t < memory.memoryTypeCount; ++t)
    if (memory.memoryTypes[t].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT)
      heaps[memory.memoryTypes[t].heapIndex].host_visible = true;
  return result;
}

UniqueDebugMessenger::UniqueDebugMessenger(VkInstance instance, VkDebugUtilsMessengerEXT messenger)
    : instance_(instance),
      messenger_(messenger),
      destroy_(reinterpret_cast<PFN_vkDestroyDebugUtilsMessengerEXT>(
          vkGetInstanceProcAddr(instance, "vkDestroyDebugUtilsMessengerEXT"))) {}

UniqueDebugMessenger::~UniqueDebugMessenger() {
  if (messenger_ && destroy_) destroy_(instance_, messenger_, nullptr);
}

UniqueDebugMessenger::UniqueDebugMessenger(UniqueDebugMessenger&& other) noexcept
    : instance_(other.instance_), messenger_(std::exchange(other.messenger_, VK_NULL_HANDLE)), destroy_(other.destroy_) {}

UniqueDebugMessenger& UniqueDebugMessenger::operator=(UniqueDebugMessenger&& other) noexcept {
  std::swap(instance_, other.instance_);
  std::swap(messenger_, other.messenger_);
  std::swap(destroy_, other.destroy_);
  return *this;
}

uint32_t ContextState::find_memory_type(uint32_t type_bits, VkMemoryPropertyFlags required,
                                        VkMemoryPropertyFlags preferred) const {
  std::optional<uint32_t> fallback;
  for (uint32_t i = 0; i < memory.memoryTypeCount; ++i) {
    if (!(type_bits & (1u << i))) continue;
    VkMemoryPropertyFlags flags = memory.memoryTypes[i].propertyFlags;
    if ((flags & required) != required) continue;
    if ((flags & preferred) == preferred) return i;
    if (!fallback) fallback = i;
  }
  if (!fallback) throw Error("the device has no suitable memory type");
  return *fallback;
}

}  // namespace detail

std::vector<DeviceInfo> Context::list_devices() {
  auto setup = detail::create_instance(false, false);
  const vk::UniqueInstance instance(setup.instance);
  std::vector<DeviceInfo> result;
  auto devices = detail::physical_devices(instance.get());
  for (uint32_t i = 0; i < devices.size(); ++i) result.push_back(detail::describe(devices[i], i, setup.debug_utils));
  return result;
}

Context::Context(const ContextOptions& options) : state_(std::make_unique<detail::ContextState>()) {
  auto& s = *state_;
  const char* env_validation = std::getenv("VKBNN_VALIDATION");
  const std::string env = env_validation ? env_validation : "";
  const bool synchronization = options.synchronization_validation || env == "sync";
  const bool validation = options.validation || synchronization || env == "1";
  auto setup = detail::create_instance(validation, synchronization, options.instance_extensions);
  s.instance = vk::UniqueInstance(setup.instance);

  if (setup.debug_utils) {
    auto create = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(s.instance.get(), "vkCreateDebugUtilsMessengerEXT"));
    VkDebugUtilsMessengerCreateInfoEXT info{VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
    info.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                           VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
    info.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
    info.pfnUserCallback = detail::on_validation_message;
    info.pUserData = &s;
    VkDebugUtilsMessengerEXT messenger = VK_NULL_HANDLE;
    if (create) vk::check(create(s.instance.get(), &info, nullptr, &messenger), "creating the debug messenger");
    s.messenger = detail::UniqueDebugMessenger(s.instance.get(), messenger);
    s.begin_label = reinterpret_cast<PFN_vkCmdBeginDebugUtilsLabelEXT>(
        vkGetInstanceProcAddr(s.instance.get(), "vkCmdBeginDebugUtilsLabelEXT"));
    s.end_label = reinterpret_cast<PFN_vkCmdEndDebugUtilsLabelEXT>(
        vkGetInstanceProcAddr(s.instance.get(), "vkCmdEndDebugUtilsLabelEXT"));
  }

  auto devices = detail::physical_devices(s.instance.get());
  if (devices.empty())
    throw Error("no Vulkan device found (on Debian without a GPU install mesa-vulkan-drivers for lavapipe)");
  std::vector<DeviceInfo> infos;
  for (uint32_t i = 0; i < devices.size(); ++i)
    infos.push_back(detail::describe(devices[i], i, setup.debug_utils));
  uint32_t chosen = detail::choose_device(infos, options);
  s.physical_device = devices[chosen];
  s.info = infos[chosen];
  s.info.subgroup_broadcast = s.info.subgroup_broadcast && options.subgroup_operations;
  s.info.integer_dot_product = s.info.integer_dot_product && options.integer_dot_product;
  if (VK_API_VERSION_MINOR(s.info.api_version) < 1 && VK_API_VERSION_MAJOR(s.info.api_version) == 1)
    throw Error("device '" + s.info.name + "' supports only Vulkan 1.0; vkbnn needs 1.1");
  vkGetPhysicalDeviceMemoryProperties(s.physical_device, &s.memory);

  auto family = detail::compute_queue_family(s.physical_device, nullptr);
  if (!family) throw Error("device '" + s.info.name + "' has no compute queue");
  s.queue_family = *family;

  auto extensions = detail::device_extensions(s.physical_device);
  std::vector<const char*> enabled;
  // Required wherever it is offered (MoltenVK): the device is a portability subset.
  if (detail::has_extension(extensions, "VK_KHR_portability_subset"))
    enabled.push_back("VK_KHR_portability_subset");
  if (s.info.integer_dot_product)
    enabled.push_back(VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME);
  // Enabled where offered, so that budgets are tracked for this device (see memory_heaps).
  if (detail::has_extension(extensions, VK_EXT_MEMORY_BUDGET_EXTENSION_NAME))
    enabled.push_back(VK_EXT_MEMORY_BUDGET_EXTENSION_NAME);
  for (const auto& name : options.device_extensions) {
    if (!detail::has_extension(extensions, name.c_str()))
      throw Error("device '" + s.info.name + "' lacks the requested extension " + name);
    if (std::none_of(enabled.begin(), enabled.end(), [&](const char* e) { return name == e; }))
      enabled.push_back(name.c_str());
  }

  float priority = 1.0f;
  VkDeviceQueueCreateInfo queue_info{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  queue_info.queueFamilyIndex = s.queue_family;
  queue_info.queueCount = 1;
  queue_info.pQueuePriorities = &priority;
  VkDeviceCreateInfo device_info{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  device_info.queueCreateInfoCount = 1;
  device_info.pQueueCreateInfos = &queue_info;
  device_info.enabledExtensionCount = static_cast<uint32_t>(enabled.size());
  device_info.ppEnabledExtensionNames = enabled.data();
  VkPhysicalDeviceShaderIntegerDotProductFeatures dot{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES};
  dot.shaderIntegerDotProduct = VK_TRUE;
  if (s.info.integer_dot_product) device_info.pNext = &dot;
  VkDevice device = VK_NULL_HANDLE;
  vk::check(vkCreateDevice(s.physical_device, &device_info, nullptr, &device),
            "creating the logical device on '" + s.info.name + "'");
  s.device = vk::UniqueDevice(device);
  vkGetDeviceQueue(device, s.queue_family, 0, &s.queue);
  s.open_pipeline_cache(options);
}

Context::~Context() = default;
Context::Context(Context&&) noexcept = default;
Context& Context::operator=(Context&&) noexcept = default;

const DeviceInfo& Context::device() const { return state_->info; }
uint32_t Context::validation_message_count() const { return state_->validation_messages.load(); }

const std::filesystem::path& Context::pipeline_cache_file() const { return state_->pipeline_cache_file; }
bool Context::pipeline_cache_loaded() const { return state_->pipeline_cache_loaded; }
VkInstance Context::instance() const { return state_->instance.get(); }
VkPhysicalDevice Context::physical_device() const { return state_->physical_device; }
VkDevice Context::vk_device() const { return state_->device.get(); }
VkQueue Context::queue() const { return state_->queue; }
uint32_t Context::queue_family() const { return state_->queue_family; }
std::mutex& Context::queue_mutex() const { return state_->queue_mutex; }

DeviceMemory memory_heaps(const Context& context) { return detail::describe_memory(context.physical_device()); }

std::vector<DeviceMemory> list_memory_heaps() {
  const vk::UniqueInstance instance(detail::create_instance(false, false).instance);
  std::vector<DeviceMemory> result;
  for (VkPhysicalDevice device : detail::physical_devices(instance.get())) result.push_back(detail::describe_memory(device));
  return result;
}

std::string to_string(const DeviceInfo& d) {
  std::ostringstream out;
  out << '[' << d.index << "] " << d.name << " (" << d.type << ", Vulkan " << VK_API_VERSION_MAJOR(d.api_version)
      << '.' << VK_API_VERSION_MINOR(d.api_version) << '.' << VK_API_VERSION_PATCH(d.api_version) << ", "
      << d.driver << ")";
  return out.str();
}

}  // namespace vkbnn
