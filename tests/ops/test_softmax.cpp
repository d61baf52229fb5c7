// Softmax against the CPU reference.

#include "ops/single_node.hpp"
#include "reference/softmax_reference.hpp"

namespace vkbnn::test {
namespace {

using Shape = std::vector<int64_t>;
constexpr float kRtol = 1e-5f, kAtol = 1e-6f;

std::vector<uint8_t> softmax_model(const Shape& in, int32_t axis, const Shape& out) {
  return single_node_model(
      fb::OpParams::Softmax, [&](auto& b) { return fb::CreateSoftmax(b, axis).Union(); }, {{in, {}}}, out);
}

TEST(Softmax, AnyAxis) {
  struct Case {
    Shape shape;
    int32_t axis;
    float scale;  // logits range
  };
  const std::vector<Case> cases = {
      {{2, 10}, 1, 3.0f},         {{2, 10}, -1, 3.0f},     {{2, 5, 7, 3}, 1, 3.0f},    {{2, 5, 7, 3}, 2, 3.0f},
      {{2, 5, 7, 3}, 0, 3.0f},    {{1, 1000}, 1, 5.0f},    {{3, 1}, 1, 1.0f},          {{4, 33}, 1, 200.0f},
      {{1, 3, 5, 5}, -3, 3.0f},
  };
  uint32_t seed = 1100;
  for (const auto& c : cases) {
    SCOPED_TRACE(::testing::PrintToString(c.shape) + " axis " + std::to_string(c.axis));
    const auto axis = static_cast<size_t>(c.axis < 0 ? c.axis + static_cast<int32_t>(c.shape.size()) : c.axis);
    auto x = random_vector(count_of(c.shape), ++seed, -c.scale, c.scale);
    EXPECT_TRUE(all_close(run_single(softmax_model(c.shape, c.axis, c.shape), {x}), ref::softmax(x, c.shape, axis),
                          kRtol, kAtol));
  }
}

TEST(Softmax, RejectsBadAxisOrShape) {
  EXPECT_TRUE(rejected(softmax_model({2, 10}, 2, {2, 10}), "axis 2 is out of range"));
  EXPECT_TRUE(rejected(softmax_model({2, 10}, -3, {2, 10}), "axis -3 is out of range"));
  EXPECT_TRUE(rejected(softmax_model({2, 10}, 1, {2, 11}), "differs from input"));
}

}  // namespace
}  // namespace vkbnn::test
