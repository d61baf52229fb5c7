// Reduce, LayerNorm and GroupNorm against the CPU references.

#include <algorithm>

#include "ops/single_node.hpp"
#include "reference/reduce_reference.hpp"

namespace vkbnn::test {
namespace {

using Shape = std::vector<int64_t>;

std::vector<uint8_t> reduce_model(fb::ReduceKind kind, const Shape& in, const std::vector<int32_t>& axes, bool keep,
                                  const Shape& out) {
  return single_node_model(
      fb::OpParams::Reduce, [&](auto& b) { return fb::CreateReduce(b, kind, b.CreateVector(axes), keep).Union(); },
      {{in, {}}}, out);
}

Shape reduced_shape(const Shape& in, const std::vector<int32_t>& axes, bool keep) {
  Shape out;
  for (size_t d = 0; d < in.size(); ++d) {
    const bool r = std::count(axes.begin(), axes.end(), static_cast<int32_t>(d)) > 0;
    if (!r) out.push_back(in[d]);
    else if (keep) out.push_back(1);
  }
  return out.empty() ? Shape{1} : out;
}

TEST(Reduce, EveryKindOverAnyAxes) {
  struct Kind {
    fb::ReduceKind kind;
    const char* onnx;
  };
  const std::vector<Kind> kinds = {{fb::ReduceKind::Mean, "ReduceMean"}, {fb::ReduceKind::Sum, "ReduceSum"},
                                   {fb::ReduceKind::Max, "ReduceMax"},   {fb::ReduceKind::Min, "ReduceMin"},
                                   {fb::ReduceKind::L1, "ReduceL1"},     {fb::ReduceKind::L2, "ReduceL2"},
                                   {fb::ReduceKind::SumSquare, "ReduceSumSquare"}};
  struct Case {
    Shape shape;
    std::vector<int32_t> axes;
  };
  const std::vector<Case> cases = {
      {{2, 10}, {1}},          {{2, 10}, {0}},          {{2, 10}, {0, 1}},       {{2, 5, 7, 3}, {1}},
      {{2, 5, 7, 3}, {0, 2}},  {{2, 5, 7, 3}, {1, 3}},  {{2, 5, 7, 3}, {2, 3}},  {{2, 5, 7, 3}, {0, 1, 2, 3}},
      {{3, 1, 4, 1, 5}, {1, 2}}, {{2, 3, 2, 3, 2, 3}, {0, 2, 4}}, {{1, 300}, {1}}, {{4, 1}, {1}},
  };
  uint32_t seed = 1200;
  for (const auto& k : kinds)
    for (const auto& c : cases)
      for (bool keep : {true, false}) {
        SCOPED_TRACE(std::string(k.onnx) + " " + ::testing::PrintToString(c.shape) + " axes " +
                     ::testing::PrintToString(c.axes) + (keep ? " keepdims" : ""));
        auto x = random_vector(count_of(c.shape), ++seed, -2.0f, 2.0f);
        const auto expected = ref::reduce(k.onnx, x, c.shape, Shape(c.axes.begin(), c.axes.end()));
        const auto model = reduce_model(k.kind, c.shape, c.axes, keep, reduced_shape(c.shape, c.axes, keep));
        // Float sums over up to a few hundred terms of magnitude <= 4.
        EXPECT_TRUE(all_close(run_single(model, {x}), expected, 1e-5f, 2e-5f));
      }
}

TEST(Reduce, RejectsBadAxesOrShape) {
  EXPECT_TRUE(rejected(reduce_model(fb::ReduceKind::Sum, {2, 10}, {2}, true, {2, 10}), "axis 2 is out of range"));
  EXPECT_TRUE(rejected(reduce_model(fb::ReduceKind::Sum, {2, 10}, {1, 0}, true, {1, 1}), "sorted and distinct"));
  EXPECT_TRUE(rejected(reduce_model(fb::ReduceKind::Sum, {2, 10}, {}, true, {2, 10}), "reduces no axes"));
  EXPECT_TRUE(rejected(reduce_model(fb::ReduceKind::Mean, {2, 10}, {1}, true, {2}), "is not 2x1"));
  EXPECT_TRUE(rejected(reduce_model(static_cast<fb::ReduceKind>(40), {2, 10}, {1}, true, {2, 1}), "unknown"));
  EXPECT_TRUE(rejected(reduce_model(fb::ReduceKind::Mean, {2, 2, 2, 2, 2, 2, 2, 2}, {0, 2, 4, 6}, true,
                                    {1, 2, 1, 2, 1, 2, 1, 2}),
                       "alternate"));
}

std::vector<uint8_t> layer_norm_model(const Shape& in, int32_t axis, float epsilon, const std::vector<float>& scale,
                                      const std::vector<float>& bias, const Shape& norm_shape) {
  return single_node_model(
      fb::OpParams::LayerNorm, [&](auto& b) { return fb::CreateLayerNorm(b, axis, epsilon).Union(); },
      {{in, {}}, {norm_shape, scale}, {norm_shape, bias}}, in);
}

TEST(LayerNorm, OverTrailingAxes) {
  struct Case {
    Shape shape;
    int32_t axis;
    float epsilon;
    float offset;  // inputs far from zero test that the variance does not cancel
  };
  const std::vector<Case> cases = {
      {{2, 10}, -1, 1e-5f, 0.0f},   {{2, 7, 16}, 2, 1e-5f, 0.0f}, {{2, 7, 16}, 1, 1e-6f, 0.0f},
      {{3, 5, 4, 4}, -3, 1e-3f, 0.0f}, {{1, 197, 64}, -1, 1e-6f, 0.0f}, {{4, 33}, -1, 1e-5f, 100.0f},
      {{6}, 0, 1e-5f, 0.0f},
  };
  uint32_t seed = 1300;
  for (const auto& c : cases) {
    SCOPED_TRACE(::testing::PrintToString(c.shape) + " axis " + std::to_string(c.axis));
    const auto axis = static_cast<size_t>(c.axis < 0 ? c.axis + static_cast<int32_t>(c.shape.size()) : c.axis);
    const Shape norm(c.shape.begin() + static_cast<ptrdiff_t>(axis), c.shape.end());
    auto x = random_vector(count_of(c.shape), ++seed, c.offset - 3.0f, c.offset + 3.0f);
    auto scale = random_vector(count_of(norm), ++seed, -2.0f, 2.0f);
    auto bias = random_vector(count_of(norm), ++seed, -1.0f, 1.0f);
    const auto expected = ref::layer_norm(x, c.shape, axis, scale, bias, c.epsilon);
    EXPECT_TRUE(all_close(run_single(layer_norm_model(c.shape, c.axis, c.epsilon, scale, bias, norm), {x}), expected,
                          1e-4f, 2e-5f));
  }
}

TEST(LayerNorm, RejectsBadAxisOrShape) {
  const std::vector<float> ten(10, 1.0f);
  EXPECT_TRUE(rejected(layer_norm_model({2, 10}, 2, 1e-5f, ten, ten, {10}), "axis 2 is out of range"));
  EXPECT_TRUE(rejected(layer_norm_model({2, 10}, 0, 1e-5f, ten, ten, {10}), "scale must have shape 2x10"));
  EXPECT_TRUE(rejected(layer_norm_model({2, 10}, -1, -1.0f, ten, ten, {10}), "epsilon"));
}

std::vector<uint8_t> group_norm_model(const Shape& in, int32_t groups, float epsilon, const std::vector<float>& scale,
                                      const std::vector<float>& bias) {
  const Shape per_channel{static_cast<int64_t>(scale.size())};
  return single_node_model(
      fb::OpParams::GroupNorm, [&](auto& b) { return fb::CreateGroupNorm(b, groups, epsilon).Union(); },
      {{in, {}}, {per_channel, scale}, {per_channel, bias}}, in);
}

TEST(GroupNorm, GroupsAndInstances) {
  struct Case {
    Shape shape;
    int32_t groups;  // = C: InstanceNormalization
    float epsilon;
    float offset;
  };
  const std::vector<Case> cases = {
      {{2, 6, 5, 7}, 3, 1e-5f, 0.0f},  {{2, 6, 5, 7}, 6, 1e-5f, 0.0f},  {{2, 6, 5, 7}, 1, 1e-3f, 0.0f},
      {{1, 32, 9, 9}, 8, 1e-5f, 50.0f}, {{3, 4, 20}, 2, 1e-6f, 0.0f},   {{2, 5, 2, 3, 4}, 5, 1e-5f, 0.0f},
      {{1, 3, 1, 1}, 3, 1e-2f, 0.0f},
  };
  uint32_t seed = 1400;
  for (const auto& c : cases) {
    SCOPED_TRACE(::testing::PrintToString(c.shape) + " groups " + std::to_string(c.groups));
    const auto channels = static_cast<size_t>(c.shape[1]);
    auto x = random_vector(count_of(c.shape), ++seed, c.offset - 3.0f, c.offset + 3.0f);
    auto scale = random_vector(channels, ++seed, -2.0f, 2.0f);
    auto bias = random_vector(channels, ++seed, -1.0f, 1.0f);
    const auto expected = ref::group_norm(x, c.shape, static_cast<size_t>(c.groups), scale, bias, c.epsilon);
    // x - mean at an offset of 50 loses ~2.5e-5 absolute (observed).
    EXPECT_TRUE(all_close(run_single(group_norm_model(c.shape, c.groups, c.epsilon, scale, bias), {x}), expected,
                          1e-4f, 5e-5f));
  }
}

TEST(GroupNorm, RejectsBadGroupsOrShape) {
  const std::vector<float> six(6, 1.0f), four(4, 1.0f);
  EXPECT_TRUE(rejected(group_norm_model({2, 6, 3, 3}, 4, 1e-5f, six, six), "4 groups do not divide 6 channels"));
  EXPECT_TRUE(rejected(group_norm_model({2, 6, 3, 3}, 0, 1e-5f, six, six), "0 groups"));
  EXPECT_TRUE(rejected(group_norm_model({2, 6, 3, 3}, 2, 1e-5f, four, four), "scale must have shape 6, has 4"));
  EXPECT_TRUE(rejected(group_norm_model({2, 6, 3, 3}, 2, -1.0f, six, six), "epsilon"));
  EXPECT_TRUE(rejected(group_norm_model({6}, 1, 1e-5f, six, six), "no channel axis"));
}

}  // namespace
}  // namespace vkbnn::test
