#pragma once

#include <cstdint>
#include <vector>

namespace vkbnn::detail {

// A buffer that must exist from step `first` to step `last` (inclusive).
struct Lifetime {
  uint64_t size = 0;
  int first = 0;
  int last = 0;
};

struct MemoryPlan {
  std::vector<uint64_t> offsets;  // one per lifetime, aligned to `alignment`
  uint64_t total = 0;             // arena size
  uint64_t naive = 0;             // sum of all sizes (aligned)
};

// Places buffers in one arena so that buffers alive at the same time never overlap: largest
// first, each at the lowest offset that fits between the ones already placed.
MemoryPlan plan_memory(const std::vector<Lifetime>& lifetimes, uint64_t alignment);

}  // namespace vkbnn::detail
