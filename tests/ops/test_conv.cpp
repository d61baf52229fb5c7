// Conv2D (generic, grouped and depthwise paths) against the CPU reference.

#include <cmath>
#include <cstdio>

#include "ops/single_node.hpp"
#include "reference/conv_reference.hpp"

namespace vkbnn::test {
namespace {

using Shape = std::vector<int64_t>;
constexpr float kRtol = 1e-4f, kAtol = 1e-5f;

struct ConvCase {
  Shape input;
  int64_t out_channels;
  ref::Conv2D params;
  bool bias = true;
};

ref::Conv2D conv(int k_h, int k_w, int s_h, int s_w, int d_h, int d_w, int pt, int pl, int pb, int pr, int group = 1) {
  ref::Conv2D p;
  p.kernel_h = k_h, p.kernel_w = k_w, p.stride_h = s_h, p.stride_w = s_w, p.dilation_h = d_h, p.dilation_w = d_w;
  p.pad_top = pt, p.pad_left = pl, p.pad_bottom = pb, p.pad_right = pr, p.group = group;
  return p;
}

Shape weight_shape(const ConvCase& c) {
  return {c.out_channels, c.input[1] / c.params.group, c.params.kernel_h, c.params.kernel_w};
}

Shape output_shape(const ConvCase& c) {
  const auto& p = c.params;
  return {c.input[0], c.out_channels,
          ref::conv_output_length(c.input[2], p.kernel_h, p.stride_h, p.dilation_h, p.pad_top, p.pad_bottom),
          ref::conv_output_length(c.input[3], p.kernel_w, p.stride_w, p.dilation_w, p.pad_left, p.pad_right)};
}

std::vector<uint8_t> conv_model(const ConvCase& c, const std::vector<float>& w, const std::vector<float>& b,
                                const Shape& out, const Shape& w_shape) {
  const auto& p = c.params;
  std::vector<NodeInput> inputs{{c.input, {}}, {w_shape, w}};
  if (c.bias) inputs.push_back({{c.out_channels}, b});
  return single_node_model(
      fb::OpParams::Conv2D,
      [&](auto& builder) {
        auto act = fb::CreateActivation(builder, p.activation.kind, static_cast<float>(p.activation.alpha),
                                        static_cast<float>(p.activation.beta));
        return fb::CreateConv2D(builder, builder.CreateVector(std::vector<int32_t>{p.kernel_h, p.kernel_w}),
                                builder.CreateVector(std::vector<int32_t>{p.stride_h, p.stride_w}),
                                builder.CreateVector(std::vector<int32_t>{p.dilation_h, p.dilation_w}),
                                builder.CreateVector(std::vector<int32_t>{p.pad_top, p.pad_left, p.pad_bottom,
                                                                          p.pad_right}),
                                p.group, act)
            .Union();
      },
      inputs, out);
}

using Shaders = std::vector<std::string>;

// Runs the case on `on` (default: context()) with `algorithm` for 3x3 stride-1 layers, compares
// with the reference and returns the shaders that ran.
Shaders expect_matches_reference(const ConvCase& c, uint32_t seed, Context* on = nullptr,
                                 ConvAlgorithm algorithm = ConvAlgorithm::Auto) {
  const Shape out = output_shape(c), w_shape = weight_shape(c);
  SCOPED_TRACE(::testing::PrintToString(c.input) + " * " + ::testing::PrintToString(w_shape) + " group " +
               std::to_string(c.params.group) + " -> " + ::testing::PrintToString(out) +
               (c.bias ? " with bias, " : " without bias, ") + fb::EnumNameActivationKind(c.params.activation.kind));
  const auto x = random_vector(count_of(c.input), seed);
  const auto w = random_vector(count_of(w_shape), seed + 1000);
  const auto b = c.bias ? random_vector(static_cast<size_t>(c.out_channels), seed + 2000) : std::vector<float>{};
  std::vector<LayerInfo> layers;
  NetworkOptions options;
  options.conv_algorithm = algorithm;
  EXPECT_TRUE(all_close(run_model(conv_model(c, w, b, out, w_shape), {x}, options, on, &layers).at(0).data,
                        ref::conv2d(x, c.input, w, w_shape, b, c.params), kRtol, kAtol));
  return shaders_of(layers);
}

// One channel in and out per group: the depthwise kernel's case (a 1-channel convolution too).
bool is_depthwise(const ConvCase& c) {
  return c.params.group == c.input[1] && c.params.group == c.out_channels;
}

// The test device must offer what the subgroup kernel needs (see lower_conv2d), or the default
// context's tests would not test it.
::testing::AssertionResult has_subgroup_kernel(const DeviceInfo& d) {
  if (d.subgroup_broadcast && d.subgroup_size >= 8 && d.api_version >= VK_API_VERSION_1_2)
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << d.name << " has no subgroups of 8 lanes or more with Vulkan 1.2";
}

const std::vector<ref::Activation> kActivations = {
    {fb::ActivationKind::Relu, 0, 0},           {fb::ActivationKind::Clip, -0.3, 0.4},
    {fb::ActivationKind::LeakyRelu, 0.1, 0},    {fb::ActivationKind::Sigmoid, 0, 0},
    {fb::ActivationKind::HardSigmoid, 0.2, 0.5}, {fb::ActivationKind::HardSwish, 0, 0},
};

const std::vector<ConvCase>& dense_cases() {
  static const std::vector<ConvCase> cases = {
      {{1, 3, 7, 7}, 5, conv(3, 3, 1, 1, 1, 1, 1, 1, 1, 1)},
      {{2, 5, 13, 13}, 7, conv(3, 3, 2, 2, 1, 1, 1, 0, 2, 1)},          // asymmetric pads, batch 2
      {{1, 33, 17, 17}, 33, conv(3, 3, 1, 1, 2, 2, 2, 2, 2, 2), false},  // dilation 2
      {{1, 1, 7, 7}, 1, conv(1, 1, 1, 1, 1, 1, 0, 0, 0, 0)},
      {{1, 33, 7, 7}, 20, conv(1, 1, 1, 1, 1, 1, 0, 0, 0, 0)},           // a full and a partial channel block
      {{2, 8, 13, 13}, 16, conv(1, 1, 2, 2, 1, 1, 0, 0, 0, 0), false},
      {{1, 3, 17, 13}, 4, conv(1, 3, 2, 1, 1, 1, 0, 1, 0, 1)},           // non-square kernel
      {{1, 3, 32, 32}, 8, conv(7, 7, 2, 2, 1, 1, 3, 3, 3, 3)},           // a ResNet stem
      {{1, 2, 3, 3}, 3, conv(5, 5, 1, 1, 1, 1, 2, 2, 2, 2)},             // taps mostly in padding
      {{1, 4, 9, 12}, 5, conv(2, 3, 3, 2, 2, 1, 0, 1, 2, 0)},            // stride 3, uneven dilation
      {{1, 16, 14, 14}, 40, conv(3, 3, 1, 1, 1, 1, 1, 1, 1, 1)},         // several workgroups and blocks
      {{1, 6, 5, 61}, 9, conv(3, 3, 1, 1, 1, 1, 1, 1, 1, 1)},            // a row in three uneven runs
      {{1, 5, 3, 37}, 12, conv(1, 1, 1, 1, 1, 1, 0, 0, 0, 0)},           // the same for 1x1
  };
  return cases;
}

TEST(Conv2D, DenseKernelsStridesDilationsAndPads) {
  ASSERT_TRUE(has_subgroup_kernel(context().device()));
  uint32_t seed = 1;
  for (const auto& c : dense_cases())
    EXPECT_EQ(expect_matches_reference(c, ++seed), Shaders{is_depthwise(c) ? "depthwise_conv2d" : "conv2d_subgroup"});
}

// The kernels for devices without subgroup operations (or with subgroups under 8 lanes).
TEST(Conv2D, PortableKernelsWithoutSubgroups) {
  ASSERT_FALSE(portable_context().device().subgroup_broadcast);
  uint32_t seed = 100;
  for (const auto& c : dense_cases())
    EXPECT_EQ(expect_matches_reference(c, ++seed, &portable_context()),
              Shaders{is_depthwise(c) ? "depthwise_conv2d" : "conv2d"});
}

TEST(Conv2D, Groups) {
  const std::vector<ConvCase> cases = {
      {{2, 4, 13, 17}, 6, conv(3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2)},
      {{1, 6, 9, 9}, 9, conv(3, 3, 2, 2, 1, 1, 0, 1, 1, 0, 3), false},
      {{1, 66, 7, 7}, 66, conv(1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 2)},
      {{1, 3, 7, 7}, 6, conv(3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3)},  // depthwise, channel multiplier 2
      {{1, 4, 8, 8}, 12, conv(3, 3, 2, 2, 1, 1, 1, 1, 0, 0, 4)},  // ... multiplier 3, stride 2
  };
  // A channel multiplier above 1 is a grouped convolution, not the depthwise kernel's case.
  uint32_t seed = 100;
  for (const auto& c : cases) EXPECT_EQ(expect_matches_reference(c, ++seed), Shaders{"conv2d_subgroup"});
}

TEST(Conv2D, Depthwise) {
  auto dw = [](int64_t channels, int k, int s, int d, int pt, int pl, int pb, int pr) {
    return conv(k, k, s, s, d, d, pt, pl, pb, pr, static_cast<int>(channels));
  };
  const std::vector<ConvCase> cases = {
      {{1, 7, 13, 13}, 7, dw(7, 3, 1, 1, 1, 1, 1, 1)},
      {{2, 5, 17, 17}, 5, dw(5, 3, 2, 1, 1, 1, 1, 1)},
      {{1, 5, 17, 17}, 5, dw(5, 3, 2, 1, 0, 0, 1, 1), false},  // TensorFlow-style asymmetric pads
      {{1, 3, 13, 7}, 3, dw(3, 3, 1, 2, 2, 2, 2, 2)},           // dilation 2
      {{1, 33, 7, 7}, 33, dw(33, 5, 2, 1, 2, 1, 2, 3)},
      {{1, 1, 1, 1}, 1, dw(1, 3, 1, 1, 1, 1, 1, 1)},
      {{1, 96, 28, 28}, 96, dw(96, 3, 2, 1, 1, 1, 1, 1)},
  };
  uint32_t seed = 200;
  for (const auto& c : cases) EXPECT_EQ(expect_matches_reference(c, ++seed), Shaders{"depthwise_conv2d"});
  ConvCase non_square{{1, 4, 11, 9}, 4, conv(3, 1, 1, 2, 1, 1, 1, 0, 1, 0, 4)};
  EXPECT_EQ(expect_matches_reference(non_square, ++seed, &portable_context()), Shaders{"depthwise_conv2d"});
}

// Weights beyond one buffer binding (NetworkOptions::max_buffer_range) run as dispatches over
// runs of output-channel blocks, each binding its own weight buffer, also across group
// boundaries: the outputs are those of the single dispatch, bit for bit, on both kernels.
TEST(Conv2D, SplitsWeightsBeyondOneBufferBinding) {
  struct SplitCase {
    ConvCase conv;
    uint64_t limit;
    uint32_t dispatches;
  };
  // The activations must fit the binding too, hence the small images. Blocks of 8 channels of
  // 32 3x3 inputs take 9216 bytes: 3 to a 32 KiB binding, of 9 blocks. Blocks of 16 channels of
  // 16 1x1 inputs (1 KiB and a 64-byte bias): 3 to a 4 KiB binding, of 2 per group in 3 groups,
  // so that the second run starts inside a group. Blocks of 8 channels of 6 3x3 inputs (1728
  // bytes): one to a 2 KiB binding.
  const std::vector<SplitCase> cases = {
      {{{1, 32, 3, 3}, 70, conv(3, 3, 1, 1, 1, 1, 1, 1, 1, 1)}, 32 << 10, 3},
      {{{1, 48, 2, 2}, 72, conv(1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 3)}, 4096, 2},
      {{{1, 6, 3, 3}, 40, conv(3, 3, 2, 1, 1, 1, 1, 0, 1, 1), false}, 2048, 5},
  };
  uint32_t seed = 500;
  for (Context* on : {&context(), &portable_context()})
    for (const auto& [c, limit, dispatches] : cases) {
      const Shape out = output_shape(c), w_shape = weight_shape(c);
      SCOPED_TRACE(::testing::PrintToString(c.input) + " * " + ::testing::PrintToString(w_shape) + " in " +
                   std::to_string(limit) + "-byte bindings on " + on->device().name);
      const auto x = random_vector(count_of(c.input), ++seed);
      const auto w = random_vector(count_of(w_shape), seed + 1000);
      const auto b = c.bias ? random_vector(static_cast<size_t>(c.out_channels), seed + 2000) : std::vector<float>{};
      const auto model = conv_model(c, w, b, out, w_shape);
      const LimitedRun whole = run_with_buffer_range(model, x, 0, on);
      const LimitedRun split = run_with_buffer_range(model, x, limit, on);
      EXPECT_EQ(whole.dispatches, 1u);
      EXPECT_EQ(split.dispatches, dispatches);
      EXPECT_EQ(split.weight_buffers, dispatches);
      EXPECT_TRUE(same_bits(split.output, whole.output));
      EXPECT_TRUE(all_close(split.output, ref::conv2d(x, c.input, w, w_shape, b, c.params), kRtol, kAtol));
    }
}

// Winograd's transformed weights (16 words per channel pair) split alike. Blocks of 8 channels of
// 32 inputs take 16 KiB and a 32-byte bias: 2 to a 48 KiB binding, of 9 blocks.
TEST(Conv2D, WinogradSplitsWeightsBeyondOneBufferBinding) {
  const ConvCase c{{1, 32, 5, 4}, 70, conv(3, 3, 1, 1, 1, 1, 1, 1, 1, 1)};
  const Shape out = output_shape(c), w_shape = weight_shape(c);
  const auto x = random_vector(count_of(c.input), 1);
  const auto w = random_vector(count_of(w_shape), 2);
  const auto b = random_vector(static_cast<size_t>(c.out_channels), 3);
  for (Context* on : {&context(), &portable_context()}) {
    SCOPED_TRACE(on->device().name);
    auto run = [&](uint64_t limit) {
      NetworkOptions options;
      options.poison_arena = true;
      options.max_buffer_range = limit;
      options.conv_algorithm = ConvAlgorithm::Winograd;
      Network network(*on, Model::from_bytes(conv_model(c, w, b, out, w_shape)), options);
      auto y = network.run(x);
      return LimitedRun{std::move(y.data), network.layers().at(0).dispatches, network.memory().weight_buffers};
    };
    const LimitedRun whole = run(0), split = run(48 << 10);
    EXPECT_EQ(whole.dispatches, 1u);
    EXPECT_EQ(split.dispatches, 5u);
    EXPECT_EQ(split.weight_buffers, 5u);
    EXPECT_TRUE(same_bits(split.output, whole.output));
    EXPECT_TRUE(all_close(split.output, ref::conv2d(x, c.input, w, w_shape, b, c.params), kRtol, kAtol));
  }
}

// The depthwise kernel does not split its weights: beyond one binding it names the limit.
TEST(Conv2D, DepthwiseWeightsBeyondOneBufferBindingFailClearly) {
  const ConvCase c{{1, 64, 5, 5}, 64, conv(3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 64)};
  const Shape out = output_shape(c), w_shape = weight_shape(c);
  const auto model = conv_model(c, random_vector(count_of(w_shape), 1), random_vector(64, 2), out, w_shape);
  expect_error([&] { run_with_buffer_range(model, random_vector(count_of(c.input), 3), 2048); },
               "node 'op' (Conv2D): its weights (2560 bytes) exceed NetworkOptions::max_buffer_range (2048 bytes), "
               "and only FullyConnected, MatMul and non-depthwise Conv2D layers split theirs");
}

TEST(Conv2D, FusedActivations) {
  uint32_t seed = 300;
  for (const auto& act : kActivations) {
    ConvCase dense{{1, 5, 7, 7}, 7, conv(3, 3, 1, 1, 1, 1, 1, 1, 1, 1)};
    dense.params.activation = act;
    EXPECT_EQ(expect_matches_reference(dense, ++seed), Shaders{"conv2d_subgroup"});
    EXPECT_EQ(expect_matches_reference(dense, ++seed, &portable_context()), Shaders{"conv2d"});
    ConvCase depthwise{{1, 5, 9, 9}, 5, conv(3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 5)};
    depthwise.params.activation = act;
    EXPECT_EQ(expect_matches_reference(depthwise, ++seed), Shaders{"depthwise_conv2d"});
  }
}

// Winograd F(2x2, 3x3) on 3x3 stride-1 layers, forced onto shapes the automatic choice leaves to
// the direct kernel: odd sizes whose last tiles overhang the image, no padding and asymmetric
// pads, channel counts that are not multiples of 4, several channel blocks, batches, one output.
const std::vector<ConvCase>& winograd_cases() {
  static const std::vector<ConvCase> cases = {
      {{1, 3, 7, 7}, 5, conv(3, 3, 1, 1, 1, 1, 1, 1, 1, 1)},
      {{2, 5, 13, 11}, 7, conv(3, 3, 1, 1, 1, 1, 0, 1, 2, 0)},          // asymmetric pads, batch 2
      {{1, 6, 5, 61}, 9, conv(3, 3, 1, 1, 1, 1, 0, 0, 0, 0), false},    // no padding, uneven runs
      {{1, 16, 14, 14}, 40, conv(3, 3, 1, 1, 1, 1, 1, 1, 1, 1)},        // five channel blocks
      {{1, 33, 9, 10}, 33, conv(3, 3, 1, 1, 1, 1, 1, 1, 1, 1), false},
      {{1, 4, 3, 3}, 6, conv(3, 3, 1, 1, 1, 1, 0, 0, 0, 0)},            // one output per channel
      {{1, 2, 1, 2}, 3, conv(3, 3, 1, 1, 1, 1, 1, 1, 1, 2)},            // more padding than image
      {{3, 7, 6, 17}, 4, conv(3, 3, 1, 1, 1, 1, 2, 2, 1, 0)},
      {{1, 5, 4, 61}, 6, conv(3, 3, 1, 1, 1, 1, 1, 1, 1, 1)},           // the last run overhangs the row
      {{1, 5, 6, 30}, 7, conv(3, 3, 1, 1, 1, 1, 0, 0, 0, 0)},           // no read outside the image
  };
  return cases;
}

TEST(Conv2D, WinogradMatchesReference) {
  uint32_t seed = 600;
  for (const auto& c : winograd_cases()) {
    EXPECT_EQ(expect_matches_reference(c, ++seed, nullptr, ConvAlgorithm::Winograd),
              Shaders{"conv2d_winograd_subgroup"});
    EXPECT_EQ(expect_matches_reference(c, ++seed, &portable_context(), ConvAlgorithm::Winograd),
              Shaders{"conv2d_winograd"});
  }
  // Layers it does not apply to stay direct when it is asked for.
  for (const auto& c : dense_cases()) {
    if (!is_depthwise(c) && (c.params.kernel_h != 3 || c.params.stride_h != 1 || c.params.dilation_h != 1)) {
      EXPECT_EQ(expect_matches_reference(c, ++seed, nullptr, ConvAlgorithm::Winograd), Shaders{"conv2d_subgroup"});
    }
  }
}

TEST(Conv2D, WinogradFusedActivations) {
  uint32_t seed = 700;
  for (const auto& act : kActivations) {
    ConvCase c{{1, 6, 9, 7}, 10, conv(3, 3, 1, 1, 1, 1, 1, 1, 1, 1)};
    c.params.activation = act;
    EXPECT_EQ(expect_matches_reference(c, ++seed, nullptr, ConvAlgorithm::Winograd),
              Shaders{"conv2d_winograd_subgroup"});
    EXPECT_EQ(expect_matches_reference(c, ++seed, &portable_context(), ConvAlgorithm::Winograd),
              Shaders{"conv2d_winograd"});
  }
}

// Which layers the automatic choice gives Winograd (the rule in conv.cpp, measured on lavapipe),
// and that Direct keeps them direct.
TEST(Conv2D, WinogradChosenByShape) {
  uint32_t seed = 800;
  const ConvCase wide{{1, 64, 6, 13}, 20, conv(3, 3, 1, 1, 1, 1, 1, 1, 1, 1)};  // 7 tiles a row
  EXPECT_EQ(expect_matches_reference(wide, ++seed), Shaders{"conv2d_winograd_subgroup"});
  EXPECT_EQ(expect_matches_reference(wide, ++seed, nullptr, ConvAlgorithm::Direct), Shaders{"conv2d_subgroup"});
  const ConvCase narrow{{1, 32, 6, 13}, 20, conv(3, 3, 1, 1, 1, 1, 1, 1, 1, 1)};
  EXPECT_EQ(expect_matches_reference(narrow, ++seed), Shaders{"conv2d_subgroup"});
  const ConvCase short_rows{{1, 64, 6, 12}, 20, conv(3, 3, 1, 1, 1, 1, 1, 1, 1, 1)};  // 6 tiles a row
  EXPECT_EQ(expect_matches_reference(short_rows, ++seed), Shaders{"conv2d_subgroup"});
  ConvCase strided = wide;
  strided.params.stride_h = strided.params.stride_w = 2;
  EXPECT_EQ(expect_matches_reference(strided, ++seed), Shaders{"conv2d_subgroup"});
}

// Winograd rounds differently from the direct sum (the transforms scale inputs by up to 4 and
// weights by up to 9/4 before the output transform cancels most of it). On ResNet-like
// magnitudes, non-negative activations and He-initialised weights, its largest error against
// the double-precision reference, relative to the outputs' RMS, was 1.5e-6 at 64 and 2.1e-6 at
// 256 channels, under the direct kernel's 3.6e-6 and 7.2e-6 (whose one accumulator per output
// sums 9 C products, Winograd's 16 sum C each).
TEST(Conv2D, WinogradErrorOnRealisticMagnitudes) {
  for (const auto& [channels, size] : std::vector<std::pair<int64_t, int64_t>>{{64, 14}, {256, 7}}) {
    const ConvCase c{{1, channels, size, size}, channels, conv(3, 3, 1, 1, 1, 1, 1, 1, 1, 1)};
    const Shape out = output_shape(c), w_shape = weight_shape(c);
    const float he = std::sqrt(6.0f / static_cast<float>(channels * 9));  // uniform with He's variance
    const auto x = random_vector(count_of(c.input), 900 + static_cast<uint32_t>(channels), 0.0f, 2.0f);
    const auto w = random_vector(count_of(w_shape), 901 + static_cast<uint32_t>(channels), -he, he);
    const auto b = random_vector(static_cast<size_t>(channels), 902, -0.1f, 0.1f);
    const auto expected = ref::conv2d(x, c.input, w, w_shape, b, c.params);
    double rms = 0;
    for (float e : expected) rms += static_cast<double>(e) * e;
    rms = std::sqrt(rms / static_cast<double>(expected.size()));
    auto max_error = [&](ConvAlgorithm algorithm) {
      NetworkOptions options;
      options.conv_algorithm = algorithm;
      const auto y = run_model(conv_model(c, w, b, out, w_shape), {x}, options).at(0).data;
      double worst = 0;
      for (size_t i = 0; i < y.size(); ++i) worst = std::max(worst, std::abs(static_cast<double>(y[i]) - expected[i]));
      return worst / rms;
    };
    const double direct = max_error(ConvAlgorithm::Direct), winograd = max_error(ConvAlgorithm::Winograd);
    std::printf("%lld channels: largest error / RMS: direct %.2e, Winograd %.2e\n", static_cast<long long>(channels),
                direct, winograd);
    EXPECT_LT(winograd, 4e-6) << "direct: " << direct;
    EXPECT_LT(winograd, 1.5 * direct);
  }
}

TEST(Conv2D, RejectsBadParameters) {
  const ConvCase good{{1, 4, 8, 8}, 6, conv(3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2)};
  auto model = [](const ConvCase& c, const Shape& out, const Shape& w_shape, int64_t bias_length) {
    std::vector<NodeInput> inputs{{c.input, {}}, {w_shape, random_vector(count_of(w_shape), 1)}};
    if (bias_length > 0) inputs.push_back({{bias_length}, random_vector(static_cast<size_t>(bias_length), 2)});
    const auto& p = c.params;
    return single_node_model(
        fb::OpParams::Conv2D,
        [&](auto& b) {
          return fb::CreateConv2D(b, b.CreateVector(std::vector<int32_t>{p.kernel_h, p.kernel_w}),
                                  b.CreateVector(std::vector<int32_t>{p.stride_h, p.stride_w}),
                                  b.CreateVector(std::vector<int32_t>{p.dilation_h, p.dilation_w}),
                                  b.CreateVector(std::vector<int32_t>{p.pad_top, p.pad_left, p.pad_bottom,
                                                                      p.pad_right}),
                                  p.group)
              .Union();
        },
        inputs, out);
  };
  EXPECT_NO_THROW(Model::from_bytes(model(good, {1, 6, 8, 8}, {6, 2, 3, 3}, 6)));
  EXPECT_TRUE(rejected(model(good, {1, 6, 7, 8}, {6, 2, 3, 3}, 6), "output shape 1x6x7x8 should be 1x6x8x8"));
  EXPECT_TRUE(rejected(model(good, {1, 6, 8, 8}, {6, 2, 3, 3}, 5), "bias 5 should be 6"));
  EXPECT_TRUE(rejected(model(good, {1, 6, 8, 8}, {6, 4, 3, 3}, 0), "input channels per group"));
  EXPECT_TRUE(rejected(model(good, {1, 6, 8, 8}, {6, 2, 2, 3}, 0), "do not match the kernel"));
  auto bad = good;
  bad.params.group = 3;  // does not divide the 4 input channels
  EXPECT_TRUE(rejected(model(bad, {1, 6, 8, 8}, {6, 1, 3, 3}, 0), "group 3 does not divide the 4 input channels"));
  bad = good;
  bad.params.group = 4;  // divides C but not M
  EXPECT_TRUE(rejected(model(bad, {1, 6, 8, 8}, {6, 1, 3, 3}, 0), "does not divide the 6 output channels"));
  bad = good;
  bad.params.group = 0;
  EXPECT_TRUE(rejected(model(bad, {1, 6, 8, 8}, {6, 2, 3, 3}, 0), "group must be positive"));
  bad = good;
  bad.params.stride_w = 0;
  EXPECT_TRUE(rejected(model(bad, {1, 6, 8, 8}, {6, 2, 3, 3}, 0), "strides must be positive"));
  bad = good;
  bad.params.dilation_h = -1;
  EXPECT_TRUE(rejected(model(bad, {1, 6, 8, 8}, {6, 2, 3, 3}, 0), "dilations must be positive"));
  bad = good;
  bad.params.pad_right = -1;
  EXPECT_TRUE(rejected(model(bad, {1, 6, 8, 7}, {6, 2, 3, 3}, 0), "pads must not be negative"));
  bad = good;
  bad.params.kernel_h = bad.params.kernel_w = 11;
  EXPECT_TRUE(rejected(model(bad, {1, 6, 1, 1}, {6, 2, 11, 11}, 0), "larger than the padded input"));
  EXPECT_TRUE(rejected(model({{4, 8, 8}, 6, good.params}, {6, 8, 8}, {6, 2, 3, 3}, 0), "rank 4"));

  auto weights_not_constant = single_node_model(
      fb::OpParams::Conv2D,
      [](auto& b) {
        std::vector<int32_t> one{1, 1}, pads{0, 0, 0, 0};
        return fb::CreateConv2D(b, b.CreateVector(one), b.CreateVector(one), b.CreateVector(one),
                                b.CreateVector(pads))
            .Union();
      },
      {{{1, 4, 8, 8}, {}}, {{6, 4, 1, 1}, {}}}, {1, 6, 8, 8});
  EXPECT_TRUE(rejected(weights_not_constant, "weights W must be a constant"));
  auto three_pads = single_node_model(
      fb::OpParams::Conv2D,
      [](auto& b) {
        std::vector<int32_t> one{1, 1}, pads{0, 0, 0};
        return fb::CreateConv2D(b, b.CreateVector(one), b.CreateVector(one), b.CreateVector(one),
                                b.CreateVector(pads))
            .Union();
      },
      {{{1, 4, 8, 8}, {}}, {{6, 4, 1, 1}, random_vector(24, 3)}}, {1, 6, 8, 8});
  EXPECT_TRUE(rejected(three_pads, "4 pads"));
}

}  // namespace
}  // namespace vkbnn::test
