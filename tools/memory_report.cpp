#include "memory_report.hpp"

#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>

#if defined(__unix__) || defined(__APPLE__)
#include <sys/resource.h>
#endif

namespace vkbnn::tools {

std::string bytes_string(uint64_t bytes) {
  char buffer[32];
  const double b = static_cast<double>(bytes);
  if (bytes < 1024)
    std::snprintf(buffer, sizeof buffer, "%llu B", static_cast<unsigned long long>(bytes));
  else if (bytes < (uint64_t{1} << 20))
    std::snprintf(buffer, sizeof buffer, "%.1f KiB", b / 1024);
  else if (bytes < (uint64_t{1} << 30))
    std::snprintf(buffer, sizeof buffer, "%.1f MiB", b / (1 << 20));
  else
    std::snprintf(buffer, sizeof buffer, "%.2f GiB", b / (1 << 30));
  return buffer;
}

uint64_t host_peak_rss_bytes() {
  // Linux keeps the high-water mark in /proc; ru_maxrss is the portable fallback.
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmHWM:", 0) == 0) {
      unsigned long long kib = 0;
      if (std::sscanf(line.c_str() + 6, "%llu", &kib) == 1) return kib * 1024;
    }
#if defined(__unix__) || defined(__APPLE__)
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) == 0) {
#if defined(__APPLE__)
    return static_cast<uint64_t>(usage.ru_maxrss);  // bytes on macOS
#else
    return static_cast<uint64_t>(usage.ru_maxrss) * 1024;  // KiB elsewhere
#endif
  }
#endif
  return 0;
}

uint64_t network_bytes(const MemoryReport& memory) {
  return memory.weight_bytes + memory.arena_bytes + memory.staging_bytes;
}

namespace {

// The largest heap with the flag, else the largest heap.
std::optional<uint32_t> largest(const std::vector<MemoryHeap>& heaps, bool MemoryHeap::*flag) {
  std::optional<uint32_t> best;
  for (uint32_t i = 0; i < heaps.size(); ++i)
    if (heaps[i].*flag && (!best || heaps[i].size > heaps[*best].size)) best = i;
  if (!best)
    for (uint32_t i = 0; i < heaps.size(); ++i)
      if (!best || heaps[i].size > heaps[*best].size) best = i;
  return best;
}

double percent(uint64_t part, uint64_t whole) {
  return whole ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0;
}

}  // namespace

std::vector<HeapNeed> place_on_heaps(const MemoryReport& memory, const std::vector<MemoryHeap>& heaps) {
  std::vector<HeapNeed> needs;
  auto add = [&](std::optional<uint32_t> heap, uint64_t bytes) {
    if (!heap) return;
    for (HeapNeed& n : needs)
      if (n.heap == *heap) {
        n.bytes += bytes;
        return;
      }
    needs.push_back({*heap, bytes});
  };
  add(largest(heaps, &MemoryHeap::device_local), memory.weight_bytes + memory.arena_bytes);
  add(largest(heaps, &MemoryHeap::host_visible), memory.staging_bytes);
  return needs;
}

std::string format_heaps(const DeviceMemory& memory, const std::string& indent) {
  const std::vector<MemoryHeap>& heaps = memory.heaps;
  const bool budget = memory.budget;
  std::ostringstream out;
  for (size_t i = 0; i < heaps.size(); ++i) {
    const MemoryHeap& h = heaps[i];
    out << indent << "heap " << i << "  " << bytes_string(h.size);
    if (h.device_local) out << ", device-local";
    if (h.host_visible) out << ", host-visible";
    if (budget)
      out << "; budget " << bytes_string(h.budget) << ", in use " << bytes_string(h.usage);
    else
      out << "; budget: not reported by the device";
    out << '\n';
  }
  return out.str();
}

std::string format_need(const MemoryReport& need, const DeviceMemory& memory, const std::string& indent) {
  const std::vector<MemoryHeap>& heaps = memory.heaps;
  const bool budget = memory.budget;
  std::ostringstream out;
  out << indent << "model needs " << bytes_string(network_bytes(need)) << " (" << network_bytes(need)
      << " bytes): weights " << bytes_string(need.weight_bytes) << " + arena " << bytes_string(need.arena_bytes)
      << " + staging " << bytes_string(need.staging_bytes) << '\n';
  char share[32];
  for (const HeapNeed& n : place_on_heaps(need, heaps)) {
    const MemoryHeap& h = heaps[n.heap];
    const uint64_t against = budget ? h.budget : h.size;
    std::snprintf(share, sizeof share, "%.3g%%", percent(n.bytes, against));
    out << indent << "  on heap " << n.heap << ": " << bytes_string(n.bytes) << ", " << share << " of its "
        << (budget ? "budget " : "size ") << bytes_string(against) << '\n';
  }
  return out.str();
}

nlohmann::ordered_json heaps_json(const DeviceMemory& memory) {
  const std::vector<MemoryHeap>& heaps = memory.heaps;
  const bool budget = memory.budget;
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (size_t i = 0; i < heaps.size(); ++i) {
    const MemoryHeap& h = heaps[i];
    nlohmann::ordered_json heap = {
        {"index", i}, {"size_bytes", h.size}, {"device_local", h.device_local}, {"host_visible", h.host_visible}};
    if (budget) heap["budget_bytes"] = h.budget, heap["usage_bytes"] = h.usage;
    out.push_back(heap);
  }
  return out;
}

nlohmann::ordered_json need_json(const MemoryReport& need, const DeviceMemory& memory) {
  const std::vector<MemoryHeap>& heaps = memory.heaps;
  const bool budget = memory.budget;
  nlohmann::ordered_json per_heap = nlohmann::ordered_json::array();
  for (const HeapNeed& n : place_on_heaps(need, heaps)) {
    const MemoryHeap& h = heaps[n.heap];
    per_heap.push_back({{"heap", n.heap},
                        {"bytes", n.bytes},
                        {"against", budget ? "budget" : "size"},
                        {"fraction", percent(n.bytes, budget ? h.budget : h.size) / 100.0}});
  }
  return {{"weight_bytes", need.weight_bytes},
          {"arena_bytes", need.arena_bytes},
          {"staging_bytes", need.staging_bytes},
          {"total_bytes", network_bytes(need)},
          {"heaps", per_heap}};
}

}  // namespace vkbnn::tools
