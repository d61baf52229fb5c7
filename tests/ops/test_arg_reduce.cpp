// ArgReduce (ArgMax/ArgMin on any axis, ties to the first or last index, NaN) and GatherIndexed
// (Gather at indices computed at run time, negative and out-of-range ones) against the CPU
// references; indices and copies are exact.

#include <cmath>
#include <limits>

#include "ops/single_node.hpp"
#include "reference/arg_reduce_reference.hpp"

namespace vkbnn::test {
namespace {

using Shape = std::vector<int64_t>;

std::vector<uint8_t> arg_model(const Shape& in, fb::ArgKind kind, int32_t axis, bool keep, bool last,
                               const Shape& out) {
  return single_node_model(
      fb::OpParams::ArgReduce, [&](auto& b) { return fb::CreateArgReduce(b, kind, axis, keep, last).Union(); },
      {{in, {}}}, out);
}

Shape reduced_shape(Shape in, size_t axis, bool keep) {
  if (keep) in[axis] = 1;
  else in.erase(in.begin() + static_cast<ptrdiff_t>(axis));
  if (in.empty()) in.push_back(1);
  return in;
}

// Values from a few levels, so that lines hold ties.
std::vector<float> coarse(size_t count, uint32_t seed) {
  auto v = random_vector(count, seed, 0.0f, 4.0f);
  for (float& x : v) x = std::floor(x);
  return v;
}

TEST(ArgReduce, EveryAxisKindAndTieRule) {
  const std::vector<Shape> shapes = {{7}, {3, 5}, {2, 3, 4, 5}, {1, 21, 6, 7}, {2, 1, 3, 1, 2, 4}, {2, 300, 3}};
  uint32_t seed = 8100;
  for (const auto& in : shapes)
    for (size_t axis = 0; axis < in.size(); ++axis)
      for (bool keep : {true, false})
        for (bool last : {false, true})
          for (fb::ArgKind kind : {fb::ArgKind::Max, fb::ArgKind::Min}) {
            SCOPED_TRACE(::testing::PrintToString(in) + " axis " + std::to_string(axis) + (keep ? " keep" : "") +
                         (last ? " last" : "") + (kind == fb::ArgKind::Max ? " max" : " min"));
            const auto model = arg_model(in, kind, static_cast<int32_t>(axis), keep, last,
                                         reduced_shape(in, axis, keep));
            // Distinct random values, then values with ties.
            for (const auto& x : {random_vector(count_of(in), ++seed), coarse(count_of(in), ++seed)}) {
              const auto expected = ref::arg_reduce(x, in, static_cast<int64_t>(axis), kind == fb::ArgKind::Max, last);
              EXPECT_TRUE(all_close(run_single(model, {x}), expected, 0.0f, 0.0f));
            }
          }
}

TEST(ArgReduce, NanWinsAsInNumpy) {
  const Shape in{4, 6};
  auto x = random_vector(24, 8200);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  x[2] = nan;               // row 0: one NaN
  x[6] = x[11] = nan;       // row 1: first and last
  x[12] = nan;              // row 2: at the start
  for (bool last : {false, true})
    for (fb::ArgKind kind : {fb::ArgKind::Max, fb::ArgKind::Min}) {
      const auto expected = ref::arg_reduce(x, in, 1, kind == fb::ArgKind::Max, last);
      EXPECT_TRUE(all_close(run_single(arg_model(in, kind, 1, false, last, {4}), {x}), expected, 0.0f, 0.0f));
    }
}

TEST(ArgReduce, RejectsBadParameters) {
  EXPECT_NO_THROW(Model::from_bytes(arg_model({2, 3}, fb::ArgKind::Max, 1, true, false, {2, 1})));
  EXPECT_TRUE(rejected(arg_model({2, 3}, fb::ArgKind::Max, 2, true, false, {2, 1}), "axis 2 is out of range"));
  EXPECT_TRUE(rejected(arg_model({2, 3}, fb::ArgKind::Max, -1, true, false, {2, 1}), "axis -1 is out of range"));
  EXPECT_TRUE(rejected(arg_model({2, 3}, fb::ArgKind::Min, 1, false, false, {2, 1}), "should be 2"));
  EXPECT_TRUE(rejected(arg_model({2, 3}, static_cast<fb::ArgKind>(7), 1, true, false, {2, 1}), "unknown kind"));
  EXPECT_TRUE(rejected(arg_model({2, (int64_t{1} << 24) + 1}, fb::ArgKind::Max, 1, true, false, {2, 1}), "2^24"));
}

std::vector<uint8_t> gather_indexed_model(const NodeInput& x, const Shape& indices, int32_t axis, const Shape& out) {
  return single_node_model(
      fb::OpParams::GatherIndexed, [&](auto& b) { return fb::CreateGatherIndexed(b, axis).Union(); },
      {x, {indices, {}}}, out);
}

Shape gathered_shape(const Shape& in, const Shape& indices, size_t axis) {
  Shape out(in.begin(), in.begin() + static_cast<ptrdiff_t>(axis));
  out.insert(out.end(), indices.begin(), indices.end());
  out.insert(out.end(), in.begin() + static_cast<ptrdiff_t>(axis) + 1, in.end());
  return out;
}

struct IndexedCase {
  Shape in;
  size_t axis;
  Shape index_shape;
  std::vector<float> indices;
};

TEST(GatherIndexed, ComputedIndicesWrappedAndClamped) {
  const std::vector<IndexedCase> cases = {
      {{2, 5, 3}, 1, {2}, {4, 0}},
      {{6, 4}, 0, {2, 3}, {5, -1, 0, 2, -6, 3}},              // negative ones count from the end
      {{2, 3, 4, 5}, 3, {1}, {7}},                            // past the end: clamped to 4
      {{2, 3, 4, 5}, 2, {4}, {-9, 100, 1e20f, -1e20f}},       // clamped at both ends
      {{9}, 0, {3}, {8, 4, 0}},
      {{3, 70, 11}, 1, {2, 2}, {69, 0, 35, 1}},
  };
  uint32_t seed = 8300;
  for (const auto& c : cases) {
    SCOPED_TRACE(::testing::PrintToString(c.in) + " axis " + std::to_string(c.axis) + " indices " +
                 ::testing::PrintToString(c.indices));
    const auto x = random_vector(count_of(c.in), ++seed);
    const auto expected = ref::gather_clamped(x, c.in, static_cast<int64_t>(c.axis), c.indices);
    const Shape out = gathered_shape(c.in, c.index_shape, c.axis);
    const auto axis = static_cast<int32_t>(c.axis);
    EXPECT_TRUE(all_close(run_single(gather_indexed_model({c.in, {}}, c.index_shape, axis, out), {x, c.indices}),
                          expected, 0.0f, 0.0f));
    // The data may be a constant table.
    EXPECT_TRUE(all_close(run_single(gather_indexed_model({c.in, x}, c.index_shape, axis, out), {c.indices}),
                          expected, 0.0f, 0.0f));
  }
}

TEST(GatherIndexed, RejectsBadParameters) {
  EXPECT_NO_THROW(Model::from_bytes(gather_indexed_model({{2, 3}, {}}, {4}, 1, {2, 4})));
  EXPECT_TRUE(rejected(gather_indexed_model({{2, 3}, {}}, {4}, 2, {2, 4}), "axis 2 is outside"));
  EXPECT_TRUE(rejected(gather_indexed_model({{2, 3}, {}}, {4}, 1, {2, 3}), "should be 2x4"));
  EXPECT_TRUE(rejected(gather_indexed_model({{(int64_t{1} << 24) + 1}, {}}, {1}, 0, {1}), "2^24"));
  EXPECT_TRUE(rejected(single_node_model(
                           fb::OpParams::GatherIndexed, [](auto& b) { return fb::CreateGatherIndexed(b, 0).Union(); },
                           {{{3}, {}}, {{1}, std::vector<float>{0}}}, {1}),
                       "Indices must not be a constant"));
}

}  // namespace
}  // namespace vkbnn::test
