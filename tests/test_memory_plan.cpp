#include <gtest/gtest.h>

#include "runtime/memory_plan.hpp"

namespace vkbnn::detail {
namespace {

bool overlap(uint64_t a, uint64_t as, uint64_t b, uint64_t bs) { return a < b + bs && b < a + as; }

TEST(MemoryPlan, BuffersAliveTogetherNeverOverlap) {
  // A chain with a skip connection: 0 -> 1 -> 2 -> 3, and 0 is read again by step 3.
  std::vector<Lifetime> lifetimes = {{1000, 0, 3}, {800, 1, 2}, {800, 2, 3}, {500, 3, 4}, {300, 4, 4}};
  auto plan = plan_memory(lifetimes, 16);
  for (size_t i = 0; i < lifetimes.size(); ++i) {
    EXPECT_EQ(plan.offsets[i] % 16, 0u);
    for (size_t j = i + 1; j < lifetimes.size(); ++j) {
      bool alive_together = lifetimes[i].first <= lifetimes[j].last && lifetimes[j].first <= lifetimes[i].last;
      if (alive_together) {
        EXPECT_FALSE(overlap(plan.offsets[i], lifetimes[i].size, plan.offsets[j], lifetimes[j].size))
            << i << " and " << j;
      }
    }
  }
  EXPECT_LT(plan.total, plan.naive);
  EXPECT_GE(plan.total, 1000u + 800u + 800u);  // steps 2 and 3 hold three buffers at once
}

TEST(MemoryPlan, SequentialBuffersReuseOneRegion) {
  std::vector<Lifetime> lifetimes;
  for (int i = 0; i < 10; ++i) lifetimes.push_back({64, i, i + 1});
  auto plan = plan_memory(lifetimes, 16);
  EXPECT_EQ(plan.total, 128u);
  EXPECT_EQ(plan.naive, 640u);
}

}  // namespace
}  // namespace vkbnn::detail
