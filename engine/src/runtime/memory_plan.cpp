#include "runtime/memory_plan.hpp"

#include <algorithm>
#include <numeric>

namespace vkbnn::detail {

MemoryPlan plan_memory(const std::vector<Lifetime>& lifetimes, uint64_t alignment) {
  auto align = [&](uint64_t v) { return (v + alignment - 1) / alignment * alignment; };
  MemoryPlan plan;
  plan.offsets.assign(lifetimes.size(), 0);
  std::vector<size_t> order(lifetimes.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return lifetimes[a].size > lifetimes[b].size; });

  std::vector<size_t> placed;
  for (size_t i : order) {
    const auto& me = lifetimes[i];
    uint64_t size = align(std::max<uint64_t>(me.size, 1));
    plan.naive += size;
    // Address ranges of already placed buffers whose lifetimes overlap this one, by offset.
    std::vector<std::pair<uint64_t, uint64_t>> busy;
    for (size_t j : placed) {
      const auto& other = lifetimes[j];
      if (other.first <= me.last && me.first <= other.last)
        busy.emplace_back(plan.offsets[j], plan.offsets[j] + align(std::max<uint64_t>(other.size, 1)));
    }
    std::sort(busy.begin(), busy.end());
    uint64_t offset = 0;
    for (const auto& [begin, end] : busy) {
      if (begin >= offset + size) break;
      offset = std::max(offset, end);
    }
    plan.offsets[i] = offset;
    plan.total = std::max(plan.total, offset + size);
    placed.push_back(i);
  }
  return plan;
}

}  // namespace vkbnn::detail
