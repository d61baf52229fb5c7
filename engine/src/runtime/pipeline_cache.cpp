// The on-disk pipeline cache. The file wraps the driver's cache data in a header of our own
// (magic, format version, payload length, FNV-1a hash of the payload), and the payload must
// start with the Vulkan pipeline cache header of this very device: vendor, device and
// pipelineCacheUUID. Anything else, a truncated write or a file from another GPU or driver, is
// ignored and rebuilt, since a driver handed foreign or corrupt data may crash.

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <random>
#include <sstream>
#include <vector>

#include "runtime/context_state.hpp"
#include "vkbnn/vulkan/handles.hpp"
#include "vkbnn/error.hpp"

namespace vkbnn::detail {
namespace {

constexpr char kMagic[8] = {'V', 'K', 'B', 'N', 'P', 'C', 'A', 'C'};
constexpr uint32_t kFormatVersion = 1;
constexpr size_t kHeaderBytes = 32;  // magic, version, reserved, payload bytes, hash
// VkPipelineCacheHeaderVersionOne: headerSize, headerVersion, vendorID, deviceID, UUID.
constexpr size_t kVulkanHeaderBytes = 16 + VK_UUID_SIZE;

uint64_t fnv1a(const uint8_t* data, size_t size) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < size; ++i) hash = (hash ^ data[i]) * 0x100000001b3ull;
  return hash;
}

template <typename T>
T read_at(const std::vector<uint8_t>& bytes, size_t offset) {
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

std::filesystem::path default_dir() {
  for (const char* name : {"VKBNN_CACHE_DIR", "XDG_CACHE_HOME"})
    if (const char* dir = std::getenv(name); dir && *dir)
      return std::string(name) == "XDG_CACHE_HOME" ? std::filesystem::path(dir) / "vkbnn" : std::filesystem::path(dir);
  if (const char* home = std::getenv("HOME"); home && *home) return std::filesystem::path(home) / ".cache" / "vkbnn";
  return {};
}

std::string hex(const uint8_t* data, size_t size) {
  std::ostringstream out;
  for (size_t i = 0; i < size; ++i) out << std::hex << std::setw(2) << std::setfill('0') << int(data[i]);
  return out.str();
}

// The payload of a valid file for this device, or nothing.
std::vector<uint8_t> read_valid(const std::filesystem::path& file, const DeviceInfo& info) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return {};
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < kHeaderBytes + kVulkanHeaderBytes || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0 ||
      read_at<uint32_t>(bytes, 8) != kFormatVersion || read_at<uint64_t>(bytes, 16) != bytes.size() - kHeaderBytes ||
      read_at<uint64_t>(bytes, 24) != fnv1a(bytes.data() + kHeaderBytes, bytes.size() - kHeaderBytes))
    return {};
  std::vector<uint8_t> payload(bytes.begin() + kHeaderBytes, bytes.end());
  const bool same_device = read_at<uint32_t>(payload, 0) >= kVulkanHeaderBytes &&
                           read_at<uint32_t>(payload, 4) == VK_PIPELINE_CACHE_HEADER_VERSION_ONE &&
                           read_at<uint32_t>(payload, 8) == info.vendor_id &&
                           read_at<uint32_t>(payload, 12) == info.device_id &&
                           std::memcmp(payload.data() + 16, info.pipeline_cache_uuid.data(), VK_UUID_SIZE) == 0;
  return same_device ? payload : std::vector<uint8_t>{};
}

}  // namespace

void ContextState::open_pipeline_cache(const ContextOptions& options) {
  const char* env = std::getenv("VKBNN_PIPELINE_CACHE");
  const bool enabled = options.pipeline_cache && !(env && std::string(env) == "0");
  const std::filesystem::path dir = options.pipeline_cache_dir.empty() ? default_dir() : options.pipeline_cache_dir;
  if (enabled && !dir.empty()) {
    std::ostringstream name;
    name << "pipelines-" << hex(info.device_uuid.data(), info.device_uuid.size()) << '-' << std::hex
         << info.driver_version << ".bin";
    pipeline_cache_file = dir / name.str();
  }
  std::vector<uint8_t> initial;
  if (!pipeline_cache_file.empty()) initial = read_valid(pipeline_cache_file, info);
  pipeline_cache_loaded = !initial.empty();
  VkPipelineCacheCreateInfo create{VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
  create.initialDataSize = initial.size();
  create.pInitialData = initial.empty() ? nullptr : initial.data();
  VkPipelineCache cache = VK_NULL_HANDLE;
  vk::check(vkCreatePipelineCache(device.get(), &create, nullptr, &cache), "creating the pipeline cache");
  pipeline_cache = vk::UniquePipelineCache(device.get(), cache);
}

void ContextState::save_pipeline_cache() {
  if (pipeline_cache_file.empty()) return;
  std::lock_guard lock(pipeline_cache_mutex);
  size_t size = 0;
  if (vkGetPipelineCacheData(device.get(), pipeline_cache.get(), &size, nullptr) != VK_SUCCESS || size == 0) return;
  std::vector<uint8_t> bytes(kHeaderBytes + size);
  if (vkGetPipelineCacheData(device.get(), pipeline_cache.get(), &size, bytes.data() + kHeaderBytes) != VK_SUCCESS) return;
  bytes.resize(kHeaderBytes + size);
  const uint64_t payload = size, hash = fnv1a(bytes.data() + kHeaderBytes, size);
  std::memcpy(bytes.data(), kMagic, sizeof(kMagic));
  std::memcpy(bytes.data() + 8, &kFormatVersion, 4);
  std::memcpy(bytes.data() + 16, &payload, 8);
  std::memcpy(bytes.data() + 24, &hash, 8);
  // Written aside and renamed, so a reader never sees half a file.
  std::error_code ec;
  std::filesystem::create_directories(pipeline_cache_file.parent_path(), ec);
  auto temporary = pipeline_cache_file;
  temporary += ".tmp" + std::to_string(std::random_device{}());
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()))) {
      std::filesystem::remove(temporary, ec);
      return;
    }
  }
  std::filesystem::rename(temporary, pipeline_cache_file, ec);
  if (ec) std::filesystem::remove(temporary, ec);
}

}  // namespace vkbnn::detail
