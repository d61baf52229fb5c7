#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vkbnn/memory.hpp"
#include "vkbnn/network.hpp"

namespace vkbnn::tools {

// "512 B", "12.3 KiB", "4.0 MiB", "7.50 GiB"
std::string bytes_string(uint64_t bytes);

// The most memory this process has held resident (VmHWM / ru_maxrss), in bytes; 0 where the
// platform does not say.
uint64_t host_peak_rss_bytes();

// What a Network allocates on the device: weights + arena + staging.
uint64_t network_bytes(const MemoryReport& memory);

// Where a Network's memory goes: weights and arena on the largest device-local heap, staging on
// the largest host-visible one (the same heap on unified-memory devices and lavapipe).
struct HeapNeed {
  uint32_t heap = 0;
  uint64_t bytes = 0;
};
std::vector<HeapNeed> place_on_heaps(const MemoryReport& memory, const std::vector<MemoryHeap>& heaps);

// One line per heap: its size and flags, and the budget and usage where VK_EXT_memory_budget
// reports them ("budget: not reported by the device" elsewhere). Each line starts with `indent`.
std::string format_heaps(const DeviceMemory& memory, const std::string& indent);
// The model's need (weights + arena + staging) and, per heap, its share of the budget or, where
// there is none, of the heap's size.
std::string format_need(const MemoryReport& need, const DeviceMemory& memory, const std::string& indent);

nlohmann::ordered_json heaps_json(const DeviceMemory& memory);
nlohmann::ordered_json need_json(const MemoryReport& need, const DeviceMemory& memory);

}  // namespace vkbnn::tools
