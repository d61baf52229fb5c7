// Binarize, BinaryConv2D, BinaryFullyConnected and binary max pooling against the naive CPU
// reference. Integer dot products must match exactly; the fp32 epilogue to float rounding.

#include <cmath>

#include "ops/single_node.hpp"
#include "reference/binary_reference.hpp"

namespace vkbnn::test {
namespace {

using Shape = std::vector<int64_t>;
using ref::BinaryActivation;
using ref::LinkChannels;
constexpr float kRtol = 1e-5f, kAtol = 1e-5f;

struct BinaryCase {
  Shape x;            // the real-valued input that is binarized
  int64_t out_channels = 8;
  ref::BinaryConv2D conv;
  bool fully_connected = false;
  bool has_link = false;
  ref::Link link;
  int64_t link_channels = 0;  // channels of X_real (0: those of x)
  BinaryActivation activation = BinaryActivation::None;
  bool activation_after_link = true;
  bool bit_output = false;
  bool integer_output = false;  // scale 1, shift 0, nothing else: the output is the dot product
};

ref::BinaryConv2D conv(int k, int stride, int pad, bool zero_padding = true, int dilation = 1) {
  ref::BinaryConv2D p;
  p.kernel_h = p.kernel_w = k, p.stride_h = p.stride_w = stride, p.dilation_h = p.dilation_w = dilation;
  p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = pad, p.zero_padding = zero_padding;
  return p;
}

std::vector<int> random_signs(size_t count, uint32_t seed) {
  std::vector<int> signs;
  for (float v : random_vector(count, seed)) signs.push_back(v < 0 ? -1 : 1);
  return signs;
}

fb::BinaryActivationKind kind_of(BinaryActivation a) {
  switch (a) {
    case BinaryActivation::PRelu: return fb::BinaryActivationKind::PRelu;
    case BinaryActivation::RPRelu: return fb::BinaryActivationKind::RPRelu;
    case BinaryActivation::None: break;
  }
  return fb::BinaryActivationKind::None;
}

std::string describe(const BinaryCase& c) {
  std::string s = ::testing::PrintToString(c.x) + " -> " + std::to_string(c.out_channels) +
                  (c.fully_connected ? " fully connected" : " conv k" + std::to_string(c.conv.kernel_h) + " s" +
                                                                std::to_string(c.conv.stride_h) + " p" +
                                                                std::to_string(c.conv.pad_top) +
                                                                (c.conv.zero_padding ? " zero-pad" : " one-pad") +
                                                                " groups " + std::to_string(c.conv.groups));
  if (c.has_link)
    s += " link " + std::to_string(static_cast<int>(c.link.channels)) + (c.link.strided ? " strided" : "") +
         (c.link.mean ? " mean" : " sum") + " pool " + std::to_string(c.link.pool);
  s += " act " + std::to_string(static_cast<int>(c.activation)) + (c.activation_after_link ? " after" : " before");
  return s + (c.bit_output ? " bits out" : "");
}

// Adds a binary layer with +1 weights after the packed tensor `bits` of `shape`: its Float32
// output [N, 1, ...] is each position's sum of signs. Graph outputs must be Float32, so packed
// tensors under test are read through taps and consumed by this.
uint32_t add_sign_sum(convert::ModelWriter& mw, uint32_t bits, const Shape& shape) {
  auto& fbb = mw.builder();
  Shape out_shape = shape;
  out_shape[1] = 1;
  const int64_t c = shape[1];
  const Shape w_shape = shape.size() == 4 ? Shape{1, c, 1, 1} : Shape{1, c};
  const uint32_t out = mw.add_tensor("sign_sum", out_shape);
  const std::vector<uint32_t> inputs{bits,
                                     mw.add_bit_constant("sum_w", w_shape, ref::pack_signs(std::vector<int>(c, 1), w_shape)),
                                     mw.add_constant("sum_scale", {1}, std::vector<float>{1.0f}),
                                     mw.add_constant("sum_shift", {1}, std::vector<float>{0.0f})};
  if (shape.size() == 2) {
    mw.add_node("sign_sum", fb::OpParams::BinaryFullyConnected,
                fb::CreateBinaryFullyConnected(fbb, fb::CreateBinaryEpilogue(fbb)).Union(), inputs, {out});
    return out;
  }
  auto one = [&](std::vector<int32_t> v) { return fbb.CreateVector(v); };
  mw.add_node("sign_sum", fb::OpParams::BinaryConv2D,
              fb::CreateBinaryConv2D(fbb, one({1, 1}), one({1, 1}), one({1, 1}), one({0, 0, 0, 0}),
                                     fb::BinaryPadding::Zero, fb::CreateBinaryEpilogue(fbb))
                  .Union(),
              inputs, {out});
  return out;
}

// Graph: x -> Binarize(threshold) -> the layer under test ("y"). A packed output is made readable
// through a tap and consumed by a 1x1 binary conv, since graph outputs are Float32.
struct Built {
  std::vector<uint8_t> model;
  std::vector<std::vector<float>> inputs;
  Shape y_shape;
  std::vector<double> expected;       // y before any binarization
  std::vector<float> out_threshold;   // for a packed output
};

Built build(const BinaryCase& c, uint32_t seed) {
  Built b;
  const int64_t cin = c.x[1], m = c.out_channels;
  const auto x = random_vector(count_of(c.x), seed);
  const auto threshold = random_vector(static_cast<size_t>(cin), seed + 1, -0.3f, 0.3f);
  const Shape w_shape =
      c.fully_connected ? Shape{m, cin} : Shape{m, cin / c.conv.groups, c.conv.kernel_h, c.conv.kernel_w};
  const auto w = random_signs(count_of(w_shape), seed + 2);
  auto per_channel = [&](uint32_t s, float lo, float hi) { return random_vector(static_cast<size_t>(m), seed + s, lo, hi); };

  ref::Epilogue e;
  e.scale = c.integer_output ? std::vector<float>(m, 1.0f) : per_channel(3, 0.01f, 0.2f);
  e.shift = c.integer_output ? std::vector<float>(m, 0.0f) : per_channel(4, -1.0f, 1.0f);
  e.activation = c.activation;
  e.activation_after_link = c.activation_after_link;
  e.has_link = c.has_link;
  e.link = c.link;
  e.gamma = per_channel(5, -1.5f, 1.5f);
  e.slope = per_channel(6, 0.05f, 0.5f);
  e.shift_in = per_channel(7, -0.5f, 0.5f);
  e.shift_out = per_channel(8, -0.5f, 0.5f);
  b.out_threshold = per_channel(9, -0.5f, 0.5f);

  const auto signs = ref::binarize(x, c.x, threshold);
  Shape acc_shape;
  std::vector<int64_t> acc;
  if (c.fully_connected) {
    acc_shape = {c.x[0], m};
    for (int64_t n = 0; n < c.x[0]; ++n)
      for (int64_t o = 0; o < m; ++o) {
        int64_t sum = 0;
        for (int64_t k = 0; k < cin; ++k) sum += signs[n * cin + k] * w[o * cin + k];
        acc.push_back(sum);
      }
  } else {
    acc = ref::binary_conv2d(signs, c.x, w, w_shape, c.conv, &acc_shape);
  }
  b.y_shape = acc_shape;
  Shape real_shape = c.x;
  if (c.link_channels) real_shape[1] = c.link_channels;
  const auto x_real = random_vector(count_of(real_shape), seed + 10);
  b.expected = ref::binary_epilogue(acc, acc_shape, e, x_real, real_shape);

  convert::ModelWriter mw;
  auto& fbb = mw.builder();
  const uint32_t in = mw.add_tensor("x", c.x);
  std::vector<uint32_t> graph_inputs{in};
  b.inputs.push_back(x);
  const uint32_t xb = mw.add_tensor("xb", c.x, fb::DataType::Bit);
  mw.add_node("binarize", fb::OpParams::Binarize, fb::CreateBinarize(fbb).Union(),
              {in, mw.add_constant("threshold", {cin}, threshold)}, {xb});

  std::vector<uint32_t> inputs{xb, mw.add_bit_constant("w", w_shape, ref::pack_signs(w, w_shape)),
                               mw.add_constant("scale", {m}, e.scale), mw.add_constant("shift", {m}, e.shift)};
  if (c.has_link) {
    const uint32_t real = mw.add_tensor("x_real", real_shape);
    graph_inputs.push_back(real);
    b.inputs.push_back(x_real);
    inputs.push_back(real);
    inputs.push_back(mw.add_constant("gamma", {m}, e.gamma));
  }
  if (c.activation == BinaryActivation::PRelu) inputs.push_back(mw.add_constant("slope", {m}, e.slope));
  if (c.activation == BinaryActivation::RPRelu) {
    inputs.push_back(mw.add_constant("shift_in", {m}, e.shift_in));
    inputs.push_back(mw.add_constant("slope", {m}, e.slope));
    inputs.push_back(mw.add_constant("shift_out", {m}, e.shift_out));
  }
  if (c.bit_output) inputs.push_back(mw.add_constant("out_threshold", {m}, b.out_threshold));

  const uint32_t y = mw.add_tensor("y", acc_shape, c.bit_output ? fb::DataType::Bit : fb::DataType::Float32);
  flatbuffers::Offset<fb::ElasticLink> link = 0;
  if (c.has_link)
    link = fb::CreateElasticLink(fbb, static_cast<fb::LinkChannels>(c.link.channels),
                                 c.link.strided ? fb::LinkGroupOrder::Strided : fb::LinkGroupOrder::Contiguous,
                                 c.link.mean ? fb::LinkReduce::Mean : fb::LinkReduce::Sum, c.link.pool);
  auto epilogue = fb::CreateBinaryEpilogue(fbb, kind_of(c.activation), c.activation_after_link, link);
  if (c.fully_connected) {
    mw.add_node("layer", fb::OpParams::BinaryFullyConnected, fb::CreateBinaryFullyConnected(fbb, epilogue).Union(),
                inputs, {y});
  } else {
    const auto& p = c.conv;
    mw.add_node("layer", fb::OpParams::BinaryConv2D,
                fb::CreateBinaryConv2D(fbb, fbb.CreateVector(std::vector<int32_t>{p.kernel_h, p.kernel_w}),
                                       fbb.CreateVector(std::vector<int32_t>{p.stride_h, p.stride_w}),
                                       fbb.CreateVector(std::vector<int32_t>{p.dilation_h, p.dilation_w}),
                                       fbb.CreateVector(std::vector<int32_t>{p.pad_top, p.pad_left, p.pad_bottom,
                                                                             p.pad_right}),
                                       p.zero_padding ? fb::BinaryPadding::Zero : fb::BinaryPadding::One, epilogue,
                                       p.groups)
                    .Union(),
                inputs, {y});
  }
  const uint32_t out = c.bit_output ? add_sign_sum(mw, y, acc_shape) : y;
  mw.set_inputs(graph_inputs);
  mw.set_outputs({out});
  b.model = mw.finish();
  return b;
}

void expect_matches_reference(const BinaryCase& c, uint32_t seed, Context* on = nullptr) {
  SCOPED_TRACE(describe(c));
  const Built b = build(c, seed);
  NetworkOptions options;
  options.poison_arena = true;
  options.taps = {"y"};
  Network network(on ? *on : context(), Model::from_bytes(b.model), options);
  const std::string kernel = c.conv.groups > 1 ? "binary_grouped_conv2d" : "binary_conv2d";
  for (const LayerInfo& layer : network.layers()) {
    if (layer.name == "layer") {
      EXPECT_EQ(layer.shaders, std::vector<std::string>{kernel});
    }
  }
  std::vector<std::span<const float>> inputs(b.inputs.begin(), b.inputs.end());
  network.run(inputs);
  const Tensor y = network.read_tensor("y");
  ASSERT_EQ(y.shape, b.y_shape);
  if (c.bit_output) {
    const size_t per_channel = count_of(b.y_shape) / static_cast<size_t>(b.y_shape[0] * b.y_shape[1]);
    size_t mismatches = 0;
    for (size_t i = 0; i < y.data.size(); ++i) {
      const double v = b.expected[i] + b.out_threshold[(i / per_channel) % b.y_shape[1]];
      // Values this close to the threshold may round either way in fp32.
      if (std::abs(v) > 1e-4 && y.data[i] != (v < 0 ? -1.0f : 1.0f)) ++mismatches;
    }
    EXPECT_EQ(mismatches, 0u) << "of " << y.data.size() << " packed outputs";
    return;
  }
  std::vector<float> expected(b.expected.begin(), b.expected.end());
  if (c.integer_output) {
    EXPECT_TRUE(all_close(y.data, expected, 0.0f, 0.0f));
  } else {
    EXPECT_TRUE(all_close(y.data, expected, kRtol, kAtol));
  }
}

TEST(BinaryConv2D, DotProductsAreExactAcrossChannelCounts) {
  uint32_t seed = 100;
  for (int64_t c : {1, 31, 32, 33, 64, 65, 256})
    for (const auto& p : {conv(3, 1, 1), conv(3, 2, 1), conv(1, 1, 0), conv(1, 2, 0), conv(3, 1, 1, false),
                          conv(3, 2, 0), conv(5, 1, 2), conv(3, 1, 2, true, 2)}) {
      BinaryCase bc;
      bc.x = {1, c, 9, 11};
      bc.out_channels = c == 256 ? 40 : 13;
      bc.conv = p;
      bc.integer_output = true;
      expect_matches_reference(bc, seed++);
    }
}

ref::BinaryConv2D grouped(int k, int stride, int pad, int groups, bool zero_padding = true) {
  ref::BinaryConv2D p = conv(k, stride, pad, zero_padding);
  p.groups = groups;
  return p;
}

// Grouped and depthwise: a group's channels start anywhere in a packed word (C/group not a
// multiple of 32), span several words, or are a single bit.
TEST(BinaryGroupedConv2D, DotProductsAreExactAcrossGroups) {
  struct GroupCase {
    int64_t c, m;
    int groups;
  };
  const std::vector<GroupCase> cases = {{8, 8, 8},   {33, 33, 33}, {70, 140, 70}, {40, 40, 4},  {66, 33, 3},
                                        {96, 48, 3}, {130, 26, 2}, {99, 99, 3},   {64, 128, 2}, {5, 10, 5}};
  uint32_t seed = 1000;
  for (const auto& gc : cases)
    for (const auto& p : {grouped(3, 1, 1, gc.groups), grouped(3, 2, 1, gc.groups),
                          grouped(3, 1, 1, gc.groups, false), grouped(3, 2, 1, gc.groups, false),
                          grouped(1, 1, 0, gc.groups), grouped(1, 2, 0, gc.groups), grouped(5, 1, 2, gc.groups)}) {
      BinaryCase bc;
      bc.x = {1, gc.c, 9, 10};
      bc.out_channels = gc.m;
      bc.conv = p;
      bc.integer_output = true;
      expect_matches_reference(bc, seed++);
    }
}

TEST(BinaryGroupedConv2D, EpilogueLinkAndPackedOutput) {
  uint32_t seed = 1100;
  for (auto act : {BinaryActivation::PRelu, BinaryActivation::RPRelu})
    for (bool after : {true, false}) {
      BinaryCase bc;
      bc.x = {2, 48, 8, 8};
      bc.out_channels = 48;
      bc.conv = grouped(3, 2, 1, 48);
      bc.has_link = true;
      bc.link = {LinkChannels::Identity, false, true, 2};
      bc.activation = act;
      bc.activation_after_link = after;
      expect_matches_reference(bc, seed++);
    }
  for (int64_t m : {24, 33, 96}) {
    BinaryCase bc;
    bc.x = {1, 48, 7, 7};
    bc.out_channels = m;
    bc.conv = grouped(3, 1, 1, m == 33 ? 3 : 24, m != 96);
    bc.bit_output = true;
    bc.activation = BinaryActivation::PRelu;
    expect_matches_reference(bc, seed++);
  }
  BinaryCase bc;
  bc.x = {1, 33, 9, 9};
  bc.out_channels = 66;
  bc.conv = grouped(3, 1, 1, 33);
  bc.has_link = true;
  bc.link = {LinkChannels::Expand, false, true, 1};
  bc.link_channels = 33;
  bc.activation = BinaryActivation::RPRelu;
  expect_matches_reference(bc, seed++);
}

TEST(BinaryGroupedConv2D, RejectsGroupsThatDoNotDivide) {
  BinaryCase bc;
  bc.x = {1, 12, 6, 6};
  bc.out_channels = 12;
  bc.conv = grouped(3, 1, 1, 5);
  EXPECT_TRUE(rejected(build(bc, 1).model, "group 5 does not divide"));
}

TEST(BinaryConv2D, BatchAndWideOutputs) {
  BinaryCase bc;
  bc.x = {2, 70, 14, 14};
  bc.out_channels = 67;
  bc.conv = conv(3, 1, 1);
  expect_matches_reference(bc, 7);
  bc.conv = conv(3, 2, 1, false);
  expect_matches_reference(bc, 8);
}

TEST(BinaryConv2D, EpilogueActivations) {
  uint32_t seed = 300;
  for (auto act : {BinaryActivation::None, BinaryActivation::PRelu, BinaryActivation::RPRelu})
    for (bool after : {true, false}) {
      BinaryCase bc;
      bc.x = {1, 33, 8, 8};
      bc.out_channels = 33;
      bc.conv = conv(3, 1, 1);
      bc.has_link = true;
      bc.activation = act;
      bc.activation_after_link = after;
      expect_matches_reference(bc, seed++);
    }
}

TEST(BinaryConv2D, ElasticLinkVariants) {
  struct LinkCase {
    int64_t cin, cout, real_channels;
    LinkChannels channels;
    bool strided, mean;
    int stride;
  };
  const std::vector<LinkCase> cases = {
      {64, 64, 64, LinkChannels::Identity, false, true, 1}, {64, 64, 64, LinkChannels::Identity, false, true, 2},
      {64, 32, 64, LinkChannels::Squeeze, false, true, 1},  {64, 32, 64, LinkChannels::Squeeze, true, true, 1},
      {96, 32, 96, LinkChannels::Squeeze, false, false, 2}, {65, 13, 65, LinkChannels::Squeeze, true, false, 1},
      {32, 64, 32, LinkChannels::Expand, false, true, 1},   {32, 64, 32, LinkChannels::Expand, true, true, 1},
      {31, 93, 31, LinkChannels::Expand, true, true, 2},    {33, 66, 33, LinkChannels::Expand, false, true, 2},
  };
  uint32_t seed = 400;
  for (const auto& lc : cases)
    for (int k : {1, 3})
      for (int h : {7, 15}) {
        BinaryCase bc;
        bc.x = {1, lc.cin, h, h};
        bc.out_channels = lc.cout;
        bc.conv = conv(k, lc.stride, k / 2);
        bc.has_link = true;
        bc.link = {lc.channels, lc.strided, lc.mean, lc.stride};
        bc.link_channels = lc.real_channels;
        bc.activation = BinaryActivation::RPRelu;
        expect_matches_reference(bc, seed++);
      }
}

// Output rows that split into whole runs of 4 (the epilogue on vec4s, the link read as 4-pixel
// texels where it is not pooled) and rows that do not; zero-padding classes from asymmetric pads,
// pads as large as the kernel (windows wholly outside) and dilation; channels that do not fill a
// block; a batch.
TEST(BinaryConv2D, VectorAndScalarEpiloguesAndBorderClasses) {
  struct Case {
    Shape x;
    int64_t m;
    int pad_top, pad_left, pad_bottom, pad_right, stride, dilation;
    LinkChannels channels;
    int64_t real_channels;
    int pool;
  };
  const std::vector<Case> cases = {
      {{1, 40, 16, 16}, 24, 1, 1, 1, 1, 1, 1, LinkChannels::Identity, 24, 1},
      {{2, 33, 12, 24}, 13, 1, 1, 1, 1, 1, 1, LinkChannels::Identity, 13, 1},
      {{1, 64, 16, 16}, 32, 1, 1, 1, 1, 1, 1, LinkChannels::Squeeze, 64, 1},
      {{1, 16, 8, 8}, 48, 1, 1, 1, 1, 1, 1, LinkChannels::Expand, 16, 1},
      {{1, 40, 16, 16}, 40, 1, 1, 1, 1, 2, 1, LinkChannels::Identity, 40, 2},
      {{1, 40, 10, 10}, 20, 1, 1, 1, 1, 1, 1, LinkChannels::Identity, 20, 1},
      {{1, 35, 9, 12}, 20, 0, 2, 2, 0, 1, 1, LinkChannels::Identity, 0, 1},
      {{1, 35, 6, 8}, 20, 3, 3, 3, 3, 1, 1, LinkChannels::Identity, 0, 1},
      {{1, 35, 11, 14}, 20, 2, 1, 0, 3, 1, 2, LinkChannels::Identity, 0, 1},
  };
  uint32_t seed = 800;
  for (const auto& k : cases)
    for (bool zero_padding : {true, false})
      for (bool after : {true, false}) {
        BinaryCase bc;
        bc.x = k.x;
        bc.out_channels = k.m;
        bc.conv = conv(3, k.stride, 0, zero_padding, k.dilation);
        bc.conv.pad_top = k.pad_top, bc.conv.pad_left = k.pad_left;
        bc.conv.pad_bottom = k.pad_bottom, bc.conv.pad_right = k.pad_right;
        bc.has_link = k.real_channels > 0;
        bc.link = {k.channels, false, k.channels != LinkChannels::Squeeze || after, k.pool};
        bc.link_channels = k.real_channels;
        bc.activation = BinaryActivation::RPRelu;
        bc.activation_after_link = after;
        expect_matches_reference(bc, seed++);
      }
}

// The zero-padding correction on every border (its table of row and column classes): borders on
// every side and on some sides only (stride 2, asymmetric pads), odd and even sizes, 1x1 outputs
// and outputs without an interior, ResNet's 7- and 14-wide rows, with the vec4 and the scalar
// epilogues, pooled and unpooled links, packed outputs and a batch; one padding alike.
TEST(BinaryConv2D, BordersOnEverySide) {
  struct Case {
    Shape x;
    int64_t m;
    int stride, pad_top, pad_left, pad_bottom, pad_right, dilation;
    bool link, bit_output;
  };
  const std::vector<Case> cases = {
      {{2, 40, 32, 32}, 24, 1, 1, 1, 1, 1, 1, true, false},   // every side, vec4 runs
      {{1, 40, 33, 45}, 20, 1, 1, 1, 1, 1, 1, true, false},   // odd sizes, scalar runs
      {{1, 40, 33, 45}, 40, 1, 1, 1, 1, 1, 1, false, true},   // packed output
      {{1, 40, 32, 32}, 24, 2, 1, 1, 1, 1, 1, true, false},   // stride 2: top and left only
      {{1, 40, 45, 45}, 24, 2, 1, 1, 1, 1, 1, true, false},   // stride 2, odd: every side
      {{1, 35, 20, 40}, 20, 1, 2, 0, 0, 1, 1, false, false},  // top and right only
      {{1, 35, 24, 24}, 20, 1, 2, 2, 2, 2, 2, true, false},   // dilation 2
      {{2, 35, 1, 1}, 20, 1, 1, 1, 1, 1, 1, true, false},     // 1x1 output
      {{1, 35, 2, 3}, 20, 1, 1, 1, 1, 1, 1, true, false},     // no interior
      {{1, 35, 3, 3}, 20, 2, 1, 1, 1, 1, 1, true, false},     // stride 2 to 2x2, no interior
      {{1, 64, 14, 14}, 64, 1, 1, 1, 1, 1, 1, true, false},   // ResNet's 14-wide rows
      {{1, 128, 7, 7}, 128, 1, 1, 1, 1, 1, 1, true, false},   // and 7-wide (SWAR popcount on CPUs)
      {{1, 64, 14, 14}, 64, 2, 1, 1, 1, 1, 1, true, false},   // 14 to 7, stride 2
      {{1, 40, 16, 16}, 24, 1, 0, 0, 0, 0, 1, false, false},  // no padding
  };
  uint32_t seed = 900;
  for (const auto& k : cases)
    for (bool zero_padding : {true, false}) {
      BinaryCase bc;
      bc.x = k.x;
      bc.out_channels = k.m;
      bc.conv = conv(3, k.stride, 0, zero_padding, k.dilation);
      bc.conv.pad_top = k.pad_top, bc.conv.pad_left = k.pad_left;
      bc.conv.pad_bottom = k.pad_bottom, bc.conv.pad_right = k.pad_right;
      bc.has_link = k.link;
      bc.link = {LinkChannels::Identity, false, true, k.stride};
      bc.link_channels = k.m;
      bc.activation = BinaryActivation::RPRelu;
      bc.bit_output = k.bit_output;
      expect_matches_reference(bc, seed++);
    }
}

TEST(BinaryConv2D, PackedOutput) {
  uint32_t seed = 500;
  for (int64_t m : {1, 31, 32, 33, 64, 65})
    for (const auto& p : {conv(3, 1, 1), conv(1, 2, 0)}) {
      BinaryCase bc;
      bc.x = {1, 40, 10, 10};
      bc.out_channels = m;
      bc.conv = p;
      bc.bit_output = true;
      bc.activation = BinaryActivation::PRelu;
      expect_matches_reference(bc, seed++);
    }
}

TEST(BinaryConv2D, PortableDevice) {
  BinaryCase bc;
  bc.x = {1, 33, 9, 9};
  bc.out_channels = 20;
  bc.conv = conv(3, 1, 1);
  bc.integer_output = true;
  expect_matches_reference(bc, 600, &portable_context());
}

TEST(BinaryFullyConnected, MatchesReference) {
  uint32_t seed = 700;
  for (int64_t k : {1, 31, 32, 33, 256, 300})
    for (int64_t m : {1, 10, 33}) {
      BinaryCase bc;
      bc.x = {3, k};
      bc.out_channels = m;
      bc.fully_connected = true;
      bc.integer_output = m == 10;
      bc.activation = m == 33 ? BinaryActivation::RPRelu : BinaryActivation::None;
      bc.bit_output = m == 1 && k > 32;
      expect_matches_reference(bc, seed++);
    }
}

TEST(Binarize, PacksSignsExactly) {
  for (int64_t c : {1, 31, 32, 33, 65}) {
    SCOPED_TRACE(c);
    const Shape shape{2, c, 5, 3};
    auto x = random_vector(count_of(shape), 800 + static_cast<uint32_t>(c));
    x[0] = 0.0f;  // sign(0) = +1 without a threshold
    convert::ModelWriter mw;
    const uint32_t in = mw.add_tensor("x", shape);
    const uint32_t xb = mw.add_tensor("xb", shape, fb::DataType::Bit);
    mw.add_node("binarize", fb::OpParams::Binarize, fb::CreateBinarize(mw.builder()).Union(), {in}, {xb});
    const uint32_t out = add_sign_sum(mw, xb, shape);
    mw.set_inputs({in});
    mw.set_outputs({out});
    NetworkOptions options;
    options.poison_arena = true;
    options.taps = {"xb"};
    Network network(context(), Model::from_bytes(mw.finish()), options);
    const auto sums = network.run(x);
    const auto expected = ref::binarize(x, shape, {});
    const Tensor signs = network.read_tensor("xb");
    EXPECT_TRUE(all_close(signs.data, std::vector<float>(expected.begin(), expected.end()), 0.0f, 0.0f));
    // Summing each pixel's signs: the tail bits past C must not count.
    for (int64_t n = 0; n < 2; ++n)
      for (int64_t i = 0; i < 15; ++i) {
        int sum = 0;
        for (int64_t ch = 0; ch < c; ++ch) sum += expected[static_cast<size_t>((n * c + ch) * 15 + i)];
        EXPECT_EQ(sums.data[static_cast<size_t>(n * 15 + i)], static_cast<float>(sum));
      }
  }
}

TEST(BinaryMaxPool, PoolsPackedSigns) {
  for (int64_t c : {5, 32, 70})
    for (auto [kernel, stride, pad] : {std::tuple{2, 2, 0}, std::tuple{3, 2, 1}, std::tuple{3, 1, 1}}) {
      SCOPED_TRACE(std::to_string(c) + " channels, kernel " + std::to_string(kernel));
      const Shape shape{1, c, 9, 8};
      const auto x = random_vector(count_of(shape), 900 + static_cast<uint32_t>(c) + kernel);
      Shape pooled_shape;
      const auto expected = ref::binary_max_pool(ref::binarize(x, shape, {}), shape, kernel, stride, pad, &pooled_shape);
      convert::ModelWriter mw;
      auto& fbb = mw.builder();
      const uint32_t in = mw.add_tensor("x", shape);
      const uint32_t xb = mw.add_tensor("xb", shape, fb::DataType::Bit);
      const uint32_t pooled = mw.add_tensor("pooled", pooled_shape, fb::DataType::Bit);
      mw.add_node("binarize", fb::OpParams::Binarize, fb::CreateBinarize(fbb).Union(), {in}, {xb});
      mw.add_node("pool", fb::OpParams::Pool2D,
                  fb::CreatePool2D(fbb, fb::PoolKind::Max, fbb.CreateVector(std::vector<int32_t>{kernel, kernel}),
                                   fbb.CreateVector(std::vector<int32_t>{stride, stride}),
                                   fbb.CreateVector(std::vector<int32_t>{1, 1}),
                                   fbb.CreateVector(std::vector<int32_t>{pad, pad, pad, pad}))
                      .Union(),
                  {xb}, {pooled});
      const uint32_t out = add_sign_sum(mw, pooled, pooled_shape);
      mw.set_inputs({in});
      mw.set_outputs({out});
      NetworkOptions options;
      options.poison_arena = true;
      options.taps = {"pooled"};
      Network network(context(), Model::from_bytes(mw.finish()), options);
      network.run(x);
      EXPECT_TRUE(all_close(network.read_tensor("pooled").data, std::vector<float>(expected.begin(), expected.end()),
                            0.0f, 0.0f));
    }
}

TEST(BinaryOps, RejectMismatchedTypesAndInputs) {
  // A Bit tensor into a float op.
  {
    convert::ModelWriter mw;
    const uint32_t in = mw.add_tensor("x", {1, 8, 4, 4});
    const uint32_t xb = mw.add_tensor("xb", {1, 8, 4, 4}, fb::DataType::Bit);
    const uint32_t out = mw.add_tensor("out", {1, 8, 4, 4});
    mw.add_node("binarize", fb::OpParams::Binarize, fb::CreateBinarize(mw.builder()).Union(), {in}, {xb});
    mw.add_node("relu", fb::OpParams::ActivationOp,
                fb::CreateActivationOp(mw.builder(), fb::CreateActivation(mw.builder(), fb::ActivationKind::Relu))
                    .Union(),
                {xb}, {out});
    mw.set_inputs({in});
    mw.set_outputs({out});
    EXPECT_TRUE(rejected(mw.finish(), "Float32 tensors only"));
  }
  BinaryCase bc;
  bc.x = {1, 40, 6, 6};
  bc.out_channels = 16;
  bc.conv = conv(3, 1, 1);
  bc.has_link = true;
  bc.link = {LinkChannels::Squeeze, false, true, 1};
  bc.link_channels = 40;  // 40 is no multiple of 16
  EXPECT_TRUE(rejected(build(bc, 1).model, "Squeeze needs a multiple of 16"));
  bc.link = {LinkChannels::Identity, false, true, 2};
  bc.link_channels = 16;
  EXPECT_TRUE(rejected(build(bc, 1).model, "pooled by 2"));
}

}  // namespace
}  // namespace vkbnn::test
