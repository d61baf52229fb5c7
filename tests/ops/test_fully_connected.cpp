// FullyConnected against the CPU reference.

#include "ops/op.hpp"
#include "ops/single_node.hpp"
#include "reference/conv_reference.hpp"

namespace vkbnn::test {
namespace {

using Shape = std::vector<int64_t>;
constexpr float kRtol = 1e-4f, kAtol = 1e-5f;

std::vector<uint8_t> fc_model(const Shape& x_shape, const Shape& w_shape, const std::vector<float>& w,
                              std::optional<std::vector<float>> bias, const Shape& out,
                              const ref::Activation& act = {}) {
  std::vector<NodeInput> inputs{{x_shape, {}}, {w_shape, w}};
  if (bias) inputs.push_back({{static_cast<int64_t>(bias->size())}, *bias});
  return single_node_model(
      fb::OpParams::FullyConnected,
      [&](auto& b) {
        return fb::CreateFullyConnected(b, fb::CreateActivation(b, act.kind, static_cast<float>(act.alpha),
                                                                static_cast<float>(act.beta)))
            .Union();
      },
      inputs, out);
}

struct FcCase {
  Shape input;
  int64_t outputs;
  bool bias = true;
  ref::Activation activation;
};

TEST(FullyConnected, MatchesReference) {
  const std::vector<FcCase> cases = {
      {{1, 7}, 5, true, {}},
      {{2, 33}, 20, false, {}},
      {{3, 4, 2, 2}, 1, true, {}},  // trailing dims flatten into K = 16
      {{1, 512}, 1000, true, {}},
      {{70, 13}, 17, true, {}},  // more rows than one workgroup
      {{2, 3}, 6, true, {fb::ActivationKind::Relu, 0, 0}},
      {{2, 9}, 6, true, {fb::ActivationKind::Clip, -0.2, 0.3}},
      {{2, 9}, 6, false, {fb::ActivationKind::LeakyRelu, 0.2, 0}},
      {{2, 9}, 6, true, {fb::ActivationKind::Sigmoid, 0, 0}},
      {{2, 9}, 6, true, {fb::ActivationKind::HardSigmoid, 0.2, 0.5}},
      {{2, 9}, 6, true, {fb::ActivationKind::HardSwish, 0, 0}},
      // Register tiles (rows x features per invocation, see fully_connected.cpp): rows and
      // features not multiples of the tile, K a multiple of 4 (vec4 reads of X) or not.
      {{19, 36}, 45, true, {fb::ActivationKind::Gelu, 0, 0}},
      {{17, 30}, 77, false, {}},
      {{9, 2, 3, 5}, 33, true, {fb::ActivationKind::Relu, 0, 0}},  // K = 30 from trailing dims
      {{16, 64}, 64, true, {}},                                    // whole tiles
      {{1, 1000}, 35, true, {fb::ActivationKind::Silu, 0, 0}},    // one row, features not a multiple of 4
      {{8, 3}, 2, true, {}},                                       // fewer features than a tile
      {{33, 257}, 129, true, {fb::ActivationKind::Clip, -0.5, 0.5}},
  };
  uint32_t seed = 400;
  for (const auto& c : cases) {
    const int64_t n = c.input[0], k = static_cast<int64_t>(count_of(c.input)) / n;
    SCOPED_TRACE(::testing::PrintToString(c.input) + " -> " + std::to_string(c.outputs) +
                 (c.bias ? " with bias, " : " without bias, ") + fb::EnumNameActivationKind(c.activation.kind));
    const auto x = random_vector(count_of(c.input), ++seed);
    const auto w = random_vector(static_cast<size_t>(c.outputs * k), seed + 1000);
    const auto b = c.bias ? random_vector(static_cast<size_t>(c.outputs), seed + 2000) : std::vector<float>{};
    auto model = fc_model(c.input, {c.outputs, k}, w, c.bias ? std::optional(b) : std::nullopt, {n, c.outputs},
                          c.activation);
    EXPECT_TRUE(all_close(run_single(model, {x}), ref::fully_connected(x, n, k, w, c.outputs, b, c.activation),
                          kRtol, kAtol));
  }
}

// Weights beyond one buffer binding (NetworkOptions::max_buffer_range, 64 KiB here against
// 80-240 KB of weights) run as dispatches over runs of output features, each binding its own
// weight buffer: the outputs are those of the single dispatch, bit for bit.
TEST(FullyConnected, SplitsWeightsBeyondOneBufferBinding) {
  const std::vector<FcCase> cases = {
      {{3, 301}, 200, true, {fb::ActivationKind::Relu, 0, 0}},  // K not a multiple of 4
      {{2, 64}, 700, false, {}},
      {{1, 2, 5, 4}, 500, true, {}},
      {{19, 64}, 300, true, {fb::ActivationKind::Gelu, 0, 0}},  // tiles of rows, pages of tiles
      {{21, 150}, 250, false, {fb::ActivationKind::LeakyRelu, 0.1, 0}},
  };
  uint32_t seed = 700;
  for (const auto& c : cases) {
    const int64_t n = c.input[0], k = static_cast<int64_t>(count_of(c.input)) / n;
    SCOPED_TRACE(::testing::PrintToString(c.input) + " -> " + std::to_string(c.outputs));
    const auto x = random_vector(count_of(c.input), ++seed);
    const auto w = random_vector(static_cast<size_t>(c.outputs * k), seed + 1000);
    const auto b = c.bias ? random_vector(static_cast<size_t>(c.outputs), seed + 2000) : std::vector<float>{};
    const auto model = fc_model(c.input, {c.outputs, k}, w, c.bias ? std::optional(b) : std::nullopt,
                                {n, c.outputs}, c.activation);
    const LimitedRun whole = run_with_buffer_range(model, x, 0);
    const LimitedRun split = run_with_buffer_range(model, x, 64 << 10);
    EXPECT_EQ(whole.dispatches, 1u);
    EXPECT_EQ(whole.weight_buffers, 1u);
    // Runs hold whole tiles of features, so they may need one dispatch more than the bytes.
    const uint64_t packed = static_cast<uint64_t>(c.outputs) * ((k + 3) / 4 * 4 + (c.bias ? 1 : 0)) * 4;
    const uint64_t pages = (packed + (64 << 10) - 1) / (64 << 10);
    EXPECT_GE(split.dispatches, pages) << packed << " bytes of weights";
    EXPECT_LE(split.dispatches, pages + 1) << packed << " bytes of weights";
    EXPECT_EQ(split.weight_buffers, split.dispatches);
    EXPECT_TRUE(same_bits(split.output, whole.output));
    EXPECT_TRUE(all_close(split.output, ref::fully_connected(x, n, k, w, c.outputs, b, c.activation), kRtol, kAtol));
  }
}

// The tile (rows x features per invocation) of the lowering alone, for a device as described.
std::pair<uint32_t, uint32_t> fc_tile_on(const DeviceInfo& device, int64_t n, int64_t k, int64_t m) {
  const auto w = random_vector(static_cast<size_t>(m * k), 9);
  const auto bytes = fc_model({n, k}, {m, k}, w, std::nullopt, {n, m});
  const fb::Node& node = *fb::GetModel(bytes.data())->nodes()->Get(0);
  detail::WeightPacker packer;
  detail::NodeLowering lowering{node,   {{0, {n, k}}, {0, {m, k}}}, {std::nullopt, std::span<const float>(w)},
                                {{0, {n, m}}}, packer, device};
  const auto dispatches = detail::op_kind(fb::OpParams::FullyConnected).lower(lowering);
  const auto spec = detail::spec_of<detail::shader::fully_connected>(dispatches.at(0));
  return {spec.R, spec.F};
}

// Tiles follow the device: large on CPU devices (sized by their vector registers), 4x4 on GPUs,
// one feature per invocation on a GPU at one row; rows split evenly.
TEST(FullyConnected, TileFollowsTheDevice) {
  DeviceInfo gpu, avx2, avx512;
  avx2.cpu_vector_registers = 16;
  avx512.cpu_vector_registers = 32;
  using Tile = std::pair<uint32_t, uint32_t>;
  EXPECT_EQ(fc_tile_on(gpu, 197, 8, 64), Tile(4, 4));
  EXPECT_EQ(fc_tile_on(gpu, 1, 8, 64), Tile(1, 1));
  EXPECT_EQ(fc_tile_on(avx2, 197, 8, 64), Tile(8, 8));
  EXPECT_EQ(fc_tile_on(avx512, 197, 8, 64), Tile(8, 16));
  EXPECT_EQ(fc_tile_on(avx2, 17, 8, 64), Tile(6, 8));
  EXPECT_EQ(fc_tile_on(avx2, 1, 8, 64), Tile(1, 4));
  EXPECT_EQ(fc_tile_on(avx2, 5, 8, 3), Tile(5, 3));
}

TEST(FullyConnected, RowLargerThanOneBufferBindingFailsClearly) {
  const auto w = random_vector(4 * 300, 5);
  const auto model = fc_model({1, 300}, {4, 300}, w, std::nullopt, {1, 4});
  expect_error([&] { run_with_buffer_range(model, random_vector(300, 6), 1024); },
               "node 'op' (FullyConnected): one row of its weights takes 1200 bytes, more than one buffer binding "
               "may span (NetworkOptions::max_buffer_range (1024 bytes))");
}

TEST(FullyConnected, RejectsBadShapes) {
  const auto w = random_vector(15, 1);
  EXPECT_TRUE(rejected(fc_model({2, 4}, {3, 5}, w, std::nullopt, {2, 3}), "has 4 features per row"));
  EXPECT_TRUE(rejected(fc_model({2, 5}, {3, 5}, w, std::nullopt, {2, 4}), "output shape 2x4 should be 2x3"));
  EXPECT_TRUE(rejected(fc_model({2, 5}, {3, 5}, w, std::vector<float>{1, 2}, {2, 3}), "bias 2 should be 3"));
  EXPECT_TRUE(rejected(fc_model({2, 5}, {15}, w, std::nullopt, {2, 3}), "weights must be [M, K]"));
  EXPECT_TRUE(rejected(fc_model({5}, {3, 5}, w, std::nullopt, {3}), "input must be [N, K]"));
  EXPECT_TRUE(rejected(fc_model({2, 5}, {3, 5}, w, std::nullopt, {2, 3}, {fb::ActivationKind::Clip, 1, -1}),
                       "min <= max"));
}

}  // namespace
}  // namespace vkbnn::test
