// ConvTranspose2D against the CPU reference (the scatter the definition states, where the shader
// gathers): strides, dilations, pads, output padding, groups, fused bias and activations.

#include "ops/single_node.hpp"
#include "reference/conv_transpose_reference.hpp"

namespace vkbnn::test {
namespace {

using Shape = std::vector<int64_t>;
// Float sums of up to 128 products against the double reference.
constexpr float kRtol = 1e-5f, kAtol = 1e-6f;

struct Case {
  Shape input;
  int64_t out_channels;
  ref::ConvTranspose2D params;
  bool bias = true;
};

ref::ConvTranspose2D deconv(int k_h, int k_w, int s_h, int s_w, int d_h, int d_w, int pt, int pl, int pb, int pr,
                            int op_h = 0, int op_w = 0, int group = 1) {
  ref::ConvTranspose2D p;
  p.kernel_h = k_h, p.kernel_w = k_w, p.stride_h = s_h, p.stride_w = s_w, p.dilation_h = d_h, p.dilation_w = d_w;
  p.pad_top = pt, p.pad_left = pl, p.pad_bottom = pb, p.pad_right = pr;
  p.output_padding_h = op_h, p.output_padding_w = op_w, p.group = group;
  return p;
}

Shape weight_shape(const Case& c) {
  return {c.input[1], c.out_channels / c.params.group, c.params.kernel_h, c.params.kernel_w};
}

Shape output_shape(const Case& c) {
  const auto& p = c.params;
  return {c.input[0], c.out_channels,
          ref::conv_transpose_output_length(c.input[2], p.kernel_h, p.stride_h, p.dilation_h, p.pad_top, p.pad_bottom,
                                            p.output_padding_h),
          ref::conv_transpose_output_length(c.input[3], p.kernel_w, p.stride_w, p.dilation_w, p.pad_left, p.pad_right,
                                            p.output_padding_w)};
}

// The engine's pads: the output padding is a negative end pad.
std::vector<uint8_t> model_of(const Case& c, const std::vector<float>& w, const std::vector<float>& b,
                              const Shape& out, const Shape& w_shape) {
  const auto& p = c.params;
  std::vector<NodeInput> inputs{{c.input, {}}, {w_shape, w}};
  if (!b.empty()) inputs.push_back({{static_cast<int64_t>(b.size())}, b});
  return single_node_model(
      fb::OpParams::ConvTranspose2D,
      [&](auto& builder) {
        auto act = fb::CreateActivation(builder, p.activation.kind, static_cast<float>(p.activation.alpha),
                                        static_cast<float>(p.activation.beta));
        return fb::CreateConvTranspose2D(
                   builder, builder.CreateVector(std::vector<int32_t>{p.kernel_h, p.kernel_w}),
                   builder.CreateVector(std::vector<int32_t>{p.stride_h, p.stride_w}),
                   builder.CreateVector(std::vector<int32_t>{p.dilation_h, p.dilation_w}),
                   builder.CreateVector(std::vector<int32_t>{p.pad_top, p.pad_left, p.pad_bottom - p.output_padding_h,
                                                             p.pad_right - p.output_padding_w}),
                   p.group, act)
            .Union();
      },
      inputs, out);
}

void expect_matches_reference(const Case& c, uint32_t seed) {
  const Shape out = output_shape(c), w_shape = weight_shape(c);
  SCOPED_TRACE(::testing::PrintToString(c.input) + " * " + ::testing::PrintToString(w_shape) + " group " +
               std::to_string(c.params.group) + " -> " + ::testing::PrintToString(out) +
               (c.bias ? " with bias, " : " without bias, ") + fb::EnumNameActivationKind(c.params.activation.kind));
  const auto x = random_vector(count_of(c.input), seed);
  const auto w = random_vector(count_of(w_shape), seed + 1000);
  const auto b = c.bias ? random_vector(static_cast<size_t>(c.out_channels), seed + 2000) : std::vector<float>{};
  std::vector<LayerInfo> layers;
  EXPECT_TRUE(all_close(run_model(model_of(c, w, b, out, w_shape), {x}, {}, nullptr, &layers).at(0).data,
                        ref::conv_transpose2d(x, c.input, w, w_shape, b, c.params), kRtol, kAtol));
  EXPECT_EQ(shaders_of(layers), std::vector<std::string>{"conv_transpose2d"});
}

TEST(ConvTranspose2D, StridesDilationsPadsAndOutputPadding) {
  const std::vector<Case> cases = {
      {{1, 3, 5, 5}, 4, deconv(3, 3, 1, 1, 1, 1, 0, 0, 0, 0)},
      {{2, 4, 6, 7}, 3, deconv(4, 4, 2, 2, 1, 1, 1, 1, 1, 1)},             // the FPN/U-Net 2x upsampling
      {{1, 5, 4, 6}, 6, deconv(3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1), false},  // output_padding 1
      {{1, 2, 5, 4}, 3, deconv(3, 2, 3, 2, 1, 1, 0, 1, 2, 0, 2, 1)},       // uneven strides, pads and padding
      {{1, 3, 6, 6}, 2, deconv(3, 3, 1, 2, 2, 3, 2, 1, 0, 3)},             // dilations
      {{1, 4, 3, 3}, 5, deconv(5, 5, 3, 3, 2, 2, 0, 0, 0, 0, 2, 2)},       // dilation with stride
      {{1, 3, 7, 5}, 3, deconv(1, 1, 2, 3, 1, 1, 0, 0, 0, 0)},             // 1x1 taps leave holes
      {{1, 8, 9, 9}, 16, deconv(2, 2, 2, 2, 1, 1, 0, 0, 0, 0)},            // kernel = stride
      {{3, 2, 1, 1}, 4, deconv(4, 3, 1, 1, 1, 1, 0, 0, 0, 0)},             // one input pixel
  };
  uint32_t seed = 4100;
  for (const auto& c : cases) expect_matches_reference(c, ++seed);
}

TEST(ConvTranspose2D, Groups) {
  const std::vector<Case> cases = {
      {{1, 4, 5, 5}, 6, deconv(3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 2)},
      {{2, 6, 4, 3}, 3, deconv(3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 3)},
      {{1, 5, 4, 4}, 5, deconv(4, 4, 2, 2, 1, 1, 1, 1, 1, 1, 0, 0, 5), false},  // depthwise (bilinear upsampling)
      {{1, 3, 3, 4}, 9, deconv(2, 3, 2, 1, 2, 1, 0, 1, 1, 0, 1, 0, 3)},
  };
  uint32_t seed = 4200;
  for (const auto& c : cases) expect_matches_reference(c, ++seed);
}

TEST(ConvTranspose2D, FusedActivations) {
  const std::vector<ref::Activation> activations = {
      {fb::ActivationKind::Relu, 0, 0}, {fb::ActivationKind::LeakyRelu, 0.1, 0}, {fb::ActivationKind::Sigmoid, 0, 0},
      {fb::ActivationKind::Clip, -0.2, 0.3}, {fb::ActivationKind::HardSwish, 0, 0}};
  uint32_t seed = 4300;
  for (const auto& act : activations) {
    Case c{{1, 3, 4, 5}, 4, deconv(3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1)};
    c.params.activation = act;
    expect_matches_reference(c, ++seed);
  }
}

TEST(ConvTranspose2D, RejectsBadParameters) {
  auto model = [](const Shape& x, const Shape& w_shape, const Shape& out, std::vector<int32_t> pads, int group,
                  int64_t bias) {
    std::vector<NodeInput> inputs{{x, {}}, {w_shape, random_vector(count_of(w_shape), 1)}};
    if (bias > 0) inputs.push_back({{bias}, random_vector(static_cast<size_t>(bias), 2)});
    return single_node_model(
        fb::OpParams::ConvTranspose2D,
        [&](auto& b) {
          return fb::CreateConvTranspose2D(b, b.CreateVector(std::vector<int32_t>{3, 3}),
                                           b.CreateVector(std::vector<int32_t>{2, 2}),
                                           b.CreateVector(std::vector<int32_t>{1, 1}), b.CreateVector(pads), group)
              .Union();
        },
        inputs, out);
  };
  // 4 channels, group 2: W [4, 3, 3, 3] makes 6 outputs; 5 -> (5 - 1) * 2 + 3 - 1 - 0 = 10.
  EXPECT_NO_THROW(Model::from_bytes(model({1, 4, 5, 5}, {4, 3, 3, 3}, {1, 6, 10, 10}, {1, 1, 0, 0}, 2, 6)));
  EXPECT_NO_THROW(Model::from_bytes(model({1, 4, 5, 5}, {4, 3, 3, 3}, {1, 6, 12, 11}, {1, 1, -2, -1}, 2, 6)));
  EXPECT_TRUE(rejected(model({1, 4, 5, 5}, {4, 3, 3, 3}, {1, 6, 11, 10}, {1, 1, 0, 0}, 2, 6),
                       "output shape 1x6x11x10 should be 1x6x10x10"));
  EXPECT_TRUE(rejected(model({1, 4, 5, 5}, {4, 3, 3, 3}, {1, 6, 10, 10}, {1, 1, 0, 0}, 2, 5), "bias 5 should be 6"));
  EXPECT_TRUE(rejected(model({1, 4, 5, 5}, {5, 3, 3, 3}, {1, 6, 10, 10}, {1, 1, 0, 0}, 2, 0), "input channels"));
  EXPECT_TRUE(rejected(model({1, 4, 5, 5}, {4, 3, 3, 3}, {1, 9, 10, 10}, {1, 1, 0, 0}, 3, 0), "does not divide"));
  EXPECT_TRUE(rejected(model({1, 4, 5, 5}, {4, 3, 3, 3}, {1, 6, 10, 10}, {-1, 1, 2, 0}, 2, 0), "must not be negative"));
  EXPECT_TRUE(rejected(model({1, 4, 5, 5}, {4, 3, 3, 3}, {1, 6, 10, 10}, {1, 1, 0}, 2, 0), "4 pads"));
  EXPECT_TRUE(rejected(model({1, 4, 5, 5}, {4, 3, 3, 3}, {1, 6, 1, 1}, {6, 6, 6, 6}, 2, 0), "crop the whole output"));
  EXPECT_TRUE(rejected(model({1, 4, 5, 5}, {4, 3, 3, 3}, {1, 6, 10, 10}, {1, 1, 0, -70000}, 2, 0), "implausibly"));
  EXPECT_TRUE(rejected(model({1, 4, 5}, {4, 3, 3, 3}, {1, 6, 10}, {1, 1, 0, 0}, 2, 0), "NCHW"));
}

}  // namespace
}  // namespace vkbnn::test
