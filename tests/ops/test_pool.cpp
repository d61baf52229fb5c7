// Pool2D and GlobalPool against the CPU references.

#include "ops/op.hpp"
#include "ops/single_node.hpp"
#include "reference/pool_reference.hpp"

namespace vkbnn::test {
namespace {

using Shape = std::vector<int64_t>;
constexpr float kRtol = 1e-5f, kAtol = 1e-6f;

struct PoolCase {
  Shape input;
  ref::Pool2D params;
  bool ceil_mode = false;
};

std::vector<uint8_t> pool_model(const Shape& in, const ref::Pool2D& p, const Shape& out) {
  return single_node_model(
      fb::OpParams::Pool2D,
      [&](auto& b) {
        return fb::CreatePool2D(b, p.average ? fb::PoolKind::Average : fb::PoolKind::Max,
                                b.CreateVector(std::vector<int32_t>{p.kernel_h, p.kernel_w}),
                                b.CreateVector(std::vector<int32_t>{p.stride_h, p.stride_w}),
                                b.CreateVector(std::vector<int32_t>{p.dilation_h, p.dilation_w}),
                                b.CreateVector(std::vector<int32_t>{p.pad_top, p.pad_left, p.pad_bottom, p.pad_right}),
                                p.count_include_pad)
            .Union();
      },
      {{in, {}}}, out);
}

Shape pool_output(const PoolCase& c) {
  const auto& p = c.params;
  return {c.input[0], c.input[1],
          ref::pool_output_length(c.input[2], p.kernel_h, p.stride_h, p.dilation_h, p.pad_top, p.pad_bottom,
                                  c.ceil_mode),
          ref::pool_output_length(c.input[3], p.kernel_w, p.stride_w, p.dilation_w, p.pad_left, p.pad_right,
                                  c.ceil_mode)};
}

std::vector<PoolCase> pool_cases(bool average) {
  auto p = [&](int k_h, int k_w, int s_h, int s_w, int d_h, int d_w, int pt, int pl, int pb, int pr) {
    ref::Pool2D params;
    params.average = average;
    params.kernel_h = k_h, params.kernel_w = k_w, params.stride_h = s_h, params.stride_w = s_w;
    params.dilation_h = d_h, params.dilation_w = d_w;
    params.pad_top = pt, params.pad_left = pl, params.pad_bottom = pb, params.pad_right = pr;
    return params;
  };
  std::vector<PoolCase> cases = {
      {{1, 5, 8, 8}, p(2, 2, 2, 2, 1, 1, 0, 0, 0, 0)},
      {{2, 3, 7, 13}, p(3, 3, 2, 2, 1, 1, 1, 0, 2, 1)},          // asymmetric pads
      {{2, 3, 7, 13}, p(3, 3, 2, 2, 1, 1, 1, 0, 2, 1), true},    // ... in ceil mode
      {{1, 33, 9, 9}, p(3, 3, 1, 1, 1, 1, 1, 1, 1, 1)},
      {{1, 1, 8, 8}, p(3, 3, 2, 2, 1, 1, 0, 0, 0, 0), true},     // ceil-mode windows run past the input
      {{1, 3, 8, 7}, p(3, 2, 2, 3, 1, 1, 1, 1, 1, 0), true},     // ... and past the end padding
      {{2, 5, 7, 13}, p(1, 5, 1, 2, 1, 1, 0, 2, 0, 2)},
      {{1, 3, 5, 5}, p(5, 5, 1, 1, 1, 1, 2, 2, 2, 2)},
  };
  cases.push_back({{1, 4, 11, 10}, p(3, 2, 2, 1, 2, 3, 2, 1, 1, 2), true});  // dilated
  // Widths that are multiples of 4 take the vec4 row path.
  cases.push_back({{1, 3, 12, 16}, p(3, 3, 2, 2, 1, 1, 1, 1, 1, 1)});
  cases.push_back({{2, 3, 7, 12}, p(3, 3, 2, 2, 1, 1, 1, 0, 2, 1), true});
  cases.push_back({{1, 2, 9, 12}, p(3, 3, 1, 1, 1, 1, 1, 1, 1, 1)});
  cases.push_back({{1, 4, 11, 12}, p(3, 2, 2, 1, 2, 3, 2, 1, 1, 2), true});
  cases.push_back({{1, 3, 8, 12}, p(5, 5, 1, 1, 1, 1, 2, 2, 2, 2)});
  cases.push_back({{1, 2, 6, 8}, p(1, 5, 1, 1, 1, 2, 0, 5, 0, 5)});
  cases.push_back({{1, 2, 6, 8}, p(2, 7, 2, 3, 1, 1, 0, 3, 1, 4), true});  // too wide for the row path
  return cases;
}

TEST(Pool2D, MaxPooling) {
  uint32_t seed = 700;
  for (const auto& c : pool_cases(false)) {
    const Shape out = pool_output(c);
    SCOPED_TRACE(::testing::PrintToString(c.input) + " -> " + ::testing::PrintToString(out));
    auto x = random_vector(count_of(c.input), ++seed);
    EXPECT_TRUE(all_close(run_single(pool_model(c.input, c.params, out), {x}),
                          ref::pool2d(x, c.input, c.params, out[2], out[3]), kRtol, kAtol));
  }
}

TEST(Pool2D, AveragePoolingWithAndWithoutPadCounting) {
  uint32_t seed = 800;
  for (bool include_pad : {false, true})
    for (auto c : pool_cases(true)) {
      c.params.count_include_pad = include_pad;
      const Shape out = pool_output(c);
      SCOPED_TRACE(::testing::PrintToString(c.input) + " -> " + ::testing::PrintToString(out) +
                   (include_pad ? " counting pads" : ""));
      auto x = random_vector(count_of(c.input), ++seed);
      EXPECT_TRUE(all_close(run_single(pool_model(c.input, c.params, out), {x}),
                            ref::pool2d(x, c.input, c.params, out[2], out[3]), kRtol, kAtol));
    }
}

TEST(Pool2D, RejectsBadParameters) {
  ref::Pool2D p;
  p.kernel_h = p.kernel_w = 2;
  p.stride_h = p.stride_w = 2;
  EXPECT_TRUE(rejected(pool_model({1, 3, 8, 8}, p, {1, 3, 3, 4}), "output length 3 along H should be 4"));
  EXPECT_TRUE(rejected(pool_model({1, 3, 8, 8}, p, {1, 4, 4, 4}), "keep the batch and channels"));
  EXPECT_TRUE(rejected(pool_model({3, 8, 8}, p, {3, 4, 4}), "rank 4"));
  auto bad = p;
  bad.pad_top = -1;
  EXPECT_TRUE(rejected(pool_model({1, 3, 8, 8}, bad, {1, 3, 4, 4}), "negative"));
  bad = p;
  bad.stride_w = 0;
  EXPECT_TRUE(rejected(pool_model({1, 3, 8, 8}, bad, {1, 3, 4, 4}), "must be positive"));
  bad = p;
  bad.pad_left = 2;
  EXPECT_TRUE(rejected(pool_model({1, 3, 8, 8}, bad, {1, 3, 4, 5}), "entirely in padding"));
  bad = p;
  bad.kernel_h = 9;
  EXPECT_TRUE(rejected(pool_model({1, 3, 8, 8}, bad, {1, 3, 1, 4}), "larger than the padded input"));
  auto three_pads = single_node_model(
      fb::OpParams::Pool2D,
      [](auto& b) {
        std::vector<int32_t> two{2, 2}, one{1, 1}, pads{0, 0, 0};
        return fb::CreatePool2D(b, fb::PoolKind::Max, b.CreateVector(two), b.CreateVector(two), b.CreateVector(one),
                                b.CreateVector(pads))
            .Union();
      },
      {{{1, 3, 8, 8}, {}}}, {1, 3, 4, 4});
  EXPECT_TRUE(rejected(three_pads, "4 pads"));
}

TEST(Pool2D, ResNetStemPoolTakesTheRowPath) {
  ref::Pool2D p;
  p.kernel_h = p.kernel_w = 3;
  p.stride_h = p.stride_w = 2;
  p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = 1;
  auto bytes = pool_model({1, 64, 112, 112}, p, {1, 64, 56, 56});
  const fb::Node& node = *fb::GetModel(bytes.data())->nodes()->Get(0);
  detail::WeightPacker packer;
  DeviceInfo device;
  detail::NodeLowering lowering{node, {{0, {1, 64, 112, 112}}}, {std::nullopt}, {{802816, {1, 64, 56, 56}}}, packer,
                                device};
  auto dispatches = detail::op_kind(fb::OpParams::Pool2D).lower(lowering);
  ASSERT_EQ(dispatches.size(), 1u);
  const auto spec = detail::spec_of<detail::shader::pool2d>(dispatches[0]);
  EXPECT_EQ(spec.ROWS4, 1u);
  EXPECT_EQ(spec.BLOCKS, 3u);
  EXPECT_EQ(spec.LEAD, 3);
  EXPECT_EQ(spec.OUT_VEC4, 1u);
  EXPECT_EQ(spec.COUNT, 64u * 56 * 14);  // four outputs per item
}

std::vector<uint8_t> global_pool_model(const Shape& in, bool average, const Shape& out) {
  return single_node_model(
      fb::OpParams::GlobalPool,
      [&](auto& b) { return fb::CreateGlobalPool(b, average ? fb::PoolKind::Average : fb::PoolKind::Max).Union(); },
      {{in, {}}}, out);
}

TEST(GlobalPool, AverageAndMax) {
  uint32_t seed = 900;
  for (bool average : {true, false})
    for (const Shape& in : {Shape{2, 3, 7, 13}, Shape{1, 33, 4, 4}, Shape{1, 5, 6}, Shape{2, 1, 1, 1},
                            Shape{1, 2, 2, 3, 4}, Shape{1, 64, 7, 7}}) {
      SCOPED_TRACE(::testing::PrintToString(in) + (average ? " average" : " max"));
      Shape out(in.size(), 1);
      out[0] = in[0];
      out[1] = in[1];
      auto x = random_vector(count_of(in), ++seed);
      EXPECT_TRUE(all_close(run_single(global_pool_model(in, average, out), {x}), ref::global_pool(x, in, average),
                            kRtol, kAtol));
    }
}

TEST(GlobalPool, RejectsBadShapes) {
  EXPECT_TRUE(rejected(global_pool_model({1, 3, 4, 4}, true, {1, 3}), "should be 1x3x1x1"));
  EXPECT_TRUE(rejected(global_pool_model({1, 3}, true, {1, 3}), "spatial axes"));
}

}  // namespace
}  // namespace vkbnn::test
