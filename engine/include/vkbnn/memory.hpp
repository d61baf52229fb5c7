#pragma once

#include <cstdint>
#include <vector>

#include "vkbnn/device.hpp"

namespace vkbnn {

// One memory heap of a device.
struct MemoryHeap {
  uint64_t size = 0;
  bool device_local = false;
  bool host_visible = false;  // a host-visible memory type lives on it (where staging buffers go)
  // From VK_EXT_memory_budget where the device has it (DeviceMemory::budget), else 0: what this
  // process can allocate on the heap before the driver starts to degrade or fail, and what it
  // holds there now.
  uint64_t budget = 0;
  uint64_t usage = 0;
};

struct DeviceMemory {
  bool budget = false;  // VK_EXT_memory_budget: the heaps carry budget and usage
  std::vector<MemoryHeap> heaps;
};

// The context's device's heaps now: budgets and usage change as this and other processes allocate.
DeviceMemory memory_heaps(const Context& context);
// Every device's heaps, in the order of Context::list_devices().
std::vector<DeviceMemory> list_memory_heaps();

}  // namespace vkbnn
