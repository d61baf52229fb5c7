// Conv2D: grouped NCHW convolution with a fused activation. Depthwise convolutions (one input
// and one output channel per group) run on depthwise_conv2d.comp, everything else on
// conv2d.comp.

#include <algorithm>
#include <optional>
#include <span>

#include "ops/elementwise.hpp"

namespace vkbnn::detail {
namespace {

// Outputs per depthwise invocation along a row.
constexpr uint32_t kDepthwiseRun = 8;

uint32_t local_size_for(int64_t items) {
  return static_cast<uint32_t>(std::clamp<int64_t>((items + 7) / 8 * 8, 8, kMaxLocalSize));
}

ConvGeometry params_of(const fb::Conv2D& p) {
  return conv_geometry(*p.kernel(), *p.strides(), *p.dilations(), *p.pads(), p.group());
}

// A grouped NCHW convolution's shape, already validated.
struct ConvDispatchShape {
  int64_t batch, in_channels, in_h, in_w, out_channels, out_h, out_w;
  int64_t kernel_h, kernel_w, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
  int64_t group, in_per_group, out_per_group;
};

bool is_depthwise(const Shape& x, const Shape& y, int64_t group) { return group == x[1] && group == y[1]; }

// Winograd tiles: output channels and 2x2 tiles along a row per invocation (conv2d_winograd.glsl's
// Q and T). Each input channel's 16 Q transformed weights are loaded (or broadcast) once for
// 16 T Q multiply-adds, so T must be large for that to cost less than the products: on lavapipe
// (2 cores, AVX2, heavily loaded) 64 ch @ 56x56 ran 0.4-0.6x the direct kernel's speed with
// T = 1 or 2, 1.2-1.3x with T = 4 or 7 at Q = 4, 1.7-2.0x with T = 7 at Q = 8; T = 14 or 28
// gained nothing more (and grew the pipelines' compile time).
constexpr int64_t kWinogradChannels = 8;
constexpr int64_t kWinogradTiles = 7;

// The _subgroup shader variants share weights with subgroupBroadcast: they need Vulkan 1.2 and
// subgroups of at least 8 lanes (see conv2d.glsl).
bool subgroup_weights(const DeviceInfo& d) {
  return d.subgroup_broadcast && d.subgroup_size >= 8 && d.api_version >= VK_API_VERSION_1_2;
}

// Where Winograd beats the direct convolution, measured on lavapipe (see the README's performance
// section): rows of at least T tiles, so that each weight load serves T tiles (a 7x7 image has 4,
// and 512 ch @ 7x7 ran 0.55-0.88x direct), and enough input channels to amortise the per-output
// transforms. On GPUs the same rule holds until measured there: loads are cheaper, products too.
bool winograd_pays(const ConvDispatchShape& s, const DeviceInfo&) {
  return s.in_channels >= 64 && ceil_div(s.out_w, 2) >= kWinogradTiles;
}

// Weights packed as blocks of `block_words` (`packed`) with an optional bias of `q` words per
// block, added to the weight pages in runs of whole blocks that fit one page each: one dispatch
// per run, made by make(first block, blocks, weight offset, bias offset). The runs write disjoint
// output channels, but each binds the whole output (the channels of a batch interleave), so they
// run one after the other; only weights beyond a buffer page split.
template <typename Make>
std::vector<Dispatch> paged_block_dispatches(const NodeLowering& l, int64_t total_blocks, int64_t block_words,
                                             int64_t q, const std::vector<float>& packed,
                                             const std::vector<float>* bias, Make make) {
  auto words_for = [&](int64_t count) {
    const auto c = static_cast<uint64_t>(count);
    return WeightPacker::footprint(c * static_cast<uint64_t>(block_words)) +
           (bias ? WeightPacker::footprint(c * static_cast<uint64_t>(q)) : 0);
  };
  int64_t run = total_blocks;
  if (words_for(run) > l.weights.page_words()) {
    run = static_cast<int64_t>(l.weights.page_words() / static_cast<uint64_t>(block_words + q));
    while (run > 0 && words_for(run) > l.weights.page_words()) --run;
    if (run == 0)
      throw MemoryLimitError("the weights of " + std::to_string(q) + " output channels take " +
                             std::to_string(words_for(1) * 4) + " bytes, more than one buffer binding may span");
  }
  std::vector<Dispatch> dispatches;
  for (int64_t first = 0; first < total_blocks; first += run) {
    const int64_t count = std::min(run, total_blocks - first);
    const uint32_t page = l.weights.reserve(words_for(count));
    const uint32_t weight_offset = l.weights.add(std::span<const float>(packed).subspan(
        static_cast<size_t>(first * block_words), static_cast<size_t>(count * block_words)));
    const uint32_t bias_offset =
        bias ? l.weights.add(std::span<const float>(*bias).subspan(static_cast<size_t>(first * q),
                                                                    static_cast<size_t>(count * q)))
             : 0;
    dispatches.push_back(make(first, count, weight_offset, bias_offset));
    dispatches.back().weight_page = page;
  }
  return dispatches;
}

// The bias per block of q output channels of each group, zero past the group's channels.
std::vector<float> bias_blocks(const ConvDispatchShape& s, int64_t blocks, int64_t q, std::span<const float> bias) {
  std::vector<float> padded(static_cast<size_t>(s.group * blocks * q), 0.0f);
  for (int64_t g = 0; g < s.group; ++g)
    for (int64_t oc = 0; oc < s.out_per_group; ++oc)
      padded[static_cast<size_t>((g * blocks + oc / q) * q + oc % q)] = bias[static_cast<size_t>(g * s.out_per_group + oc)];
  return padded;
}

// Repacks `weights` ([M, C/group, kH, kW]) and `bias` ([M]) for conv2d.comp and returns its
// dispatches from input 0 to output 0 of the node: one, unless the weights exceed one buffer
// binding, then one per run of blocks that fits a weight page.
std::vector<Dispatch> conv2d_dispatches(const ConvDispatchShape& s, const NodeLowering& l,
                                        const fb::Activation* activation, std::span<const float> weights,
                                        std::optional<std::span<const float>> bias) {
  // Tiles of R outputs x Q channels: every loaded input feeds Q multiply-adds and every weight
  // R, at the price of R * Q accumulators. Measured on lavapipe (2 cores, AVX2) over ResNet-18
  // and MobileNetV2: Q = 8 with runs of up to 28 outputs for 3x3 kernels, whose row spans
  // overlap, and up to 16 for 1x1, whose tiles cover 16 output channels (ResNet-50, same runs:
  // 390-397 ms with 8, 343-363 ms with 16, 367 ms with 32; MobileNetV2 even). Rows split into equal runs so that no run is mostly idle.
  const bool one_tap = s.kernel_h == 1 && s.kernel_w == 1;
  const int64_t q = std::min<int64_t>(one_tap ? 16 : 8, ceil_div(s.out_per_group, 4) * 4);
  const int64_t r = ceil_div(s.out_w, ceil_div(s.out_w, one_tap ? 16 : 28));
  const int64_t blocks = ceil_div(s.out_per_group, q);
  const int64_t taps = s.kernel_h * s.kernel_w;
  const int64_t slice = ceil_div(taps * q, 8) * 8;  // as SLICE in conv2d.glsl
  const int64_t block_words = s.in_per_group * slice;

  std::vector<float> packed(static_cast<size_t>(s.group * blocks * block_words), 0.0f);
  for (int64_t g = 0; g < s.group; ++g)
    for (int64_t oc = 0; oc < s.out_per_group; ++oc) {
      const int64_t block = g * blocks + oc / q, lane = oc % q;
      const float* src = weights.data() + (g * s.out_per_group + oc) * s.in_per_group * taps;
      for (int64_t ic = 0; ic < s.in_per_group; ++ic)
        for (int64_t t = 0; t < taps; ++t)
          packed[static_cast<size_t>(block * block_words + ic * slice + t * q + lane)] = src[ic * taps + t];
    }
  const std::vector<float> padded = bias ? bias_blocks(s, blocks, q, *bias) : std::vector<float>{};
  const int64_t items = s.batch * s.out_h * ceil_div(s.out_w, r);
  const int64_t span = (r - 1) * s.stride_w + (s.kernel_w - 1) * s.dilation_w + 1;
  const bool padded_taps = s.pad_top > 0 || s.pad_left > 0 ||
                           (s.out_h - 1) * s.stride_h + (s.kernel_h - 1) * s.dilation_h >= s.in_h + s.pad_top ||
                           (ceil_div(s.out_w, r) - 1) * r * s.stride_w + span > s.in_w + s.pad_left;
  const uint32_t local = local_size_for(items);
  const auto act = activation_spec(activation);
  const bool subgroup = subgroup_weights(l.device);
  const auto spec = with_sizes(with_window<shader::conv2d::Spec>({.local_size_x = local,
                                                       .HAS_BIAS = bias.has_value(),
                                                       .ICG = u32(s.in_per_group),
                                                       .OCG = u32(s.out_per_group),
                                                       .BLOCKS = u32(blocks),
                                                       .Q = u32(q),
                                                       .R = u32(r),
                                                       .PADDED = padded_taps,
                                                       .ACT_KIND = act.kind,
                                                       .ACT_ALPHA = act.alpha,
                                                       .ACT_BETA = act.beta},
                                                      s), s);
  const uint32_t workgroups = u32(ceil_div(items, local));
  return paged_block_dispatches(
      l, s.group * blocks, block_words, q, packed, bias ? &padded : nullptr,
      [&](int64_t first, int64_t count, uint32_t weight_offset, uint32_t bias_offset) {
        auto block_spec = spec;
        block_spec.BLOCK0 = u32(first);
        const shader::conv2d::Push push{.IN_OFF = l.inputs[0].offset,
                                        .OUT_OFF = l.outputs[0].offset,
                                        .WT_OFF = weight_offset,
                                        .BIAS_OFF = bias_offset};
        const std::array<uint32_t, 3> groups{workgroups, u32(count), 1};
        return subgroup ? make_dispatch<shader::conv2d_subgroup>(block_spec, push, groups)
                        : make_dispatch<shader::conv2d>(block_spec, push, groups);
      });
}

// Winograd F(2x2, 3x3) applies to 3x3 kernels with stride 1 and dilation 1 in one group.
bool winograd_applies(const ConvDispatchShape& s) {
  return s.kernel_h == 3 && s.kernel_w == 3 && s.stride_h == 1 && s.stride_w == 1 && s.dilation_h == 1 &&
         s.dilation_w == 1 && s.group == 1;
}

bool use_winograd(const ConvDispatchShape& s, const NodeLowering& l) {
  if (!winograd_applies(s) || l.conv_algorithm == ConvAlgorithm::Direct) return false;
  if (l.conv_algorithm == ConvAlgorithm::Winograd) return true;
  return winograd_pays(s, l.device);
}

// Transforms `weights` ([M, C, 3, 3]) to U = G g G^T per channel pair, packs them and `bias` for
// conv2d_winograd.glsl and returns its dispatches, as conv2d_dispatches does.
std::vector<Dispatch> winograd_dispatches(const ConvDispatchShape& s, const NodeLowering& l,
                                          const fb::Activation* activation, std::span<const float> weights,
                                          std::optional<std::span<const float>> bias) {
  const int64_t q = std::min<int64_t>(kWinogradChannels, ceil_div(s.out_channels, 4) * 4);
  const int64_t blocks = ceil_div(s.out_channels, q);
  const int64_t slice = 16 * q;  // as SLICE in conv2d_winograd.glsl
  const int64_t block_words = s.in_channels * slice;
  // G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1], in double so that U rounds once.
  constexpr double g_matrix[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
  std::vector<float> packed(static_cast<size_t>(blocks * block_words), 0.0f);
  for (int64_t oc = 0; oc < s.out_channels; ++oc)
    for (int64_t ic = 0; ic < s.in_channels; ++ic) {
      const float* g = weights.data() + (oc * s.in_channels + ic) * 9;
      double gg[4][3];  // G g
      for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 3; ++j)
          gg[i][j] = g_matrix[i][0] * g[j] + g_matrix[i][1] * g[3 + j] + g_matrix[i][2] * g[6 + j];
      float* dst = packed.data() + (oc / q) * block_words + ic * slice + oc % q;
      for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 4; ++j)
          dst[(i * 4 + j) * q] = static_cast<float>(gg[i][0] * g_matrix[j][0] + gg[i][1] * g_matrix[j][1] +
                                                    gg[i][2] * g_matrix[j][2]);
    }
  const std::vector<float> padded = bias ? bias_blocks(s, blocks, q, *bias) : std::vector<float>{};

  const int64_t tiles_h = ceil_div(s.out_h, 2), tiles_w = ceil_div(s.out_w, 2);
  const int64_t t = ceil_div(tiles_w, ceil_div(tiles_w, kWinogradTiles));
  const int64_t runs = ceil_div(tiles_w, t);
  const int64_t items = s.batch * tiles_h * runs;
  // The last tile row and column read 2 rows and columns past their outputs' windows.
  const bool padded_reads = s.pad_top > 0 || s.pad_left > 0 || 2 * tiles_h + 1 - s.pad_top >= s.in_h ||
                            2 * runs * t + 1 - s.pad_left >= s.in_w;
  const uint32_t local = local_size_for(items);
  const auto act = activation_spec(activation);
  const bool subgroup = subgroup_weights(l.device);
  const auto spec = with_sizes(shader::conv2d_winograd::Spec{.local_size_x = local,
                                                             .HAS_BIAS = bias.has_value(),
                                                             .PT = i32(s.pad_top),
                                                             .PL = i32(s.pad_left),
                                                             .Q = u32(q),
                                                             .T = u32(t),
                                                             .PADDED = padded_reads,
                                                             .ACT_KIND = act.kind,
                                                             .ACT_ALPHA = act.alpha,
                                                             .ACT_BETA = act.beta},
                                  s);
  const uint32_t workgroups = u32(ceil_div(items, local));
  return paged_block_dispatches(
      l, blocks, block_words, q, packed, bias ? &padded : nullptr,
      [&](int64_t first, int64_t count, uint32_t weight_offset, uint32_t bias_offset) {
        auto block_spec = spec;
        block_spec.BLOCK0 = u32(first);
        const shader::conv2d_winograd::Push push{.IN_OFF = l.inputs[0].offset,
                                                 .OUT_OFF = l.outputs[0].offset,
                                                 .WT_OFF = weight_offset,
                                                 .BIAS_OFF = bias_offset};
        const std::array<uint32_t, 3> groups{workgroups, u32(count), 1};
        return subgroup ? make_dispatch<shader::conv2d_winograd_subgroup>(block_spec, push, groups)
                        : make_dispatch<shader::conv2d_winograd>(block_spec, push, groups);
      });
}

}  // namespace

int64_t conv_output_length(int64_t size, int64_t kernel, int64_t stride, int64_t dilation, int64_t pad_begin,
                           int64_t pad_end) {
  const int64_t span = size + pad_begin + pad_end - ((kernel - 1) * dilation + 1);
  return span < 0 ? 0 : span / stride + 1;
}

ConvGeometry conv_geometry(const flatbuffers::Vector<int32_t>& kernel, const flatbuffers::Vector<int32_t>& strides,
                           const flatbuffers::Vector<int32_t>& dilations, const flatbuffers::Vector<int32_t>& pads,
                           int32_t group) {
  if (kernel.size() != 2 || strides.size() != 2 || dilations.size() != 2 || pads.size() != 4) return {};
  return {kernel.Get(0),    kernel.Get(1), strides.Get(0), strides.Get(1), dilations.Get(0), dilations.Get(1),
          pads.Get(0),      pads.Get(1),   pads.Get(2),    pads.Get(3),    group};
}

void check_conv_shapes(const NodeDesc& desc, const ConvGeometry& c, const Shape& x, const Shape& w, const Shape& y) {
  desc.require(x.size() == 4, "input must be NCHW (rank 4), has " + shape_string(x));
  desc.require(w.size() == 4, "weights must be [M, C/group, kH, kW], have " + shape_string(w));
  desc.require(y.size() == 4, "output must be NCHW (rank 4), has " + shape_string(y));
  desc.require(c.kernel_h > 0 && c.kernel_w > 0,
               "needs 2 positive kernel sizes, 2 strides, 2 dilations and 4 pads");
  desc.require(c.stride_h > 0 && c.stride_w > 0, "strides must be positive");
  desc.require(c.dilation_h > 0 && c.dilation_w > 0, "dilations must be positive");
  desc.require(c.pad_top >= 0 && c.pad_left >= 0 && c.pad_bottom >= 0 && c.pad_right >= 0,
               "pads must not be negative");
  desc.require(c.group > 0, "group must be positive, is " + std::to_string(c.group));
  desc.require(x[1] % c.group == 0, "group " + std::to_string(c.group) + " does not divide the " +
                                        std::to_string(x[1]) + " input channels");
  desc.require(w[0] % c.group == 0, "group " + std::to_string(c.group) + " does not divide the " +
                                        std::to_string(w[0]) + " output channels");
  desc.require(w[1] == x[1] / c.group, "weights " + shape_string(w) + " need " + std::to_string(x[1] / c.group) +
                                           " input channels per group (input " + shape_string(x) + ", group " +
                                           std::to_string(c.group) + ")");
  desc.require(w[2] == c.kernel_h && w[3] == c.kernel_w,
               "weights " + shape_string(w) + " do not match the kernel " + std::to_string(c.kernel_h) + "x" +
                   std::to_string(c.kernel_w));
  // A tap offset this large cannot be meant and would overflow the shader's index arithmetic.
  desc.require(c.kernel_h * c.kernel_w <= 1024 && (c.kernel_h - 1) * c.dilation_h < 65536 &&
                   (c.kernel_w - 1) * c.dilation_w < 65536 && c.stride_h < 65536 && c.stride_w < 65536 &&
                   c.pad_top < 65536 && c.pad_left < 65536 && c.pad_bottom < 65536 && c.pad_right < 65536,
               "kernel, stride, dilation or pads are implausibly large");

  const int64_t out_h = conv_output_length(x[2], c.kernel_h, c.stride_h, c.dilation_h, c.pad_top, c.pad_bottom);
  const int64_t out_w = conv_output_length(x[3], c.kernel_w, c.stride_w, c.dilation_w, c.pad_left, c.pad_right);
  desc.require(out_h > 0 && out_w > 0, "the dilated kernel is larger than the padded input " + shape_string(x));
  const Shape expected{x[0], w[0], out_h, out_w};
  desc.require(y == expected, "output shape " + shape_string(y) + " should be " + shape_string(expected));
  desc.require(static_cast<int64_t>(element_count(x)) <= kMaxTensorElements &&
                   static_cast<int64_t>(element_count(y)) <= kMaxTensorElements &&
                   static_cast<int64_t>(element_count(w)) <= kMaxTensorElements,
               "tensors of more than 2^31 - 1 elements are not supported");
}

namespace {

void check_conv2d(const NodeDesc& desc) {
  check_data_weights_bias(desc);
  const Shape& x = desc.inputs[0];
  const Shape& w = desc.inputs[1];
  const Shape& y = desc.outputs[0];
  const auto* p = desc.node.params_as_Conv2D();
  const ConvGeometry c = params_of(*p);
  check_conv_shapes(desc, c, x, w, y);
  if (desc.inputs.size() == 3) {
    desc.require(desc.inputs[2] == Shape{w[0]},
                 "bias " + shape_string(desc.inputs[2]) + " should be " + std::to_string(w[0]));
  }
  check_activation_params(desc, p->activation());

  const int64_t pixels = x[0] * y[2] * y[3];
  if (is_depthwise(x, y, c.group)) {
    desc.require(ceil_div(y[2] * ceil_div(y[3], kDepthwiseRun), kMaxLocalSize) <= kMaxGroups &&
                     x[0] * x[1] <= kMaxGroups,
                 "the output " + shape_string(y) + " is too large for one dispatch");
  } else {
    desc.require(ceil_div(pixels, kMaxLocalSize) <= kMaxGroups && c.group * ceil_div(w[0] / c.group, 4) <= kMaxGroups,
                 "the output " + shape_string(y) + " is too large for one dispatch");
  }
}

std::vector<Dispatch> lower_conv2d(const NodeLowering& l) {
  const Shape& x = l.inputs[0].shape;
  const Shape& y = l.outputs[0].shape;
  const auto* p = l.node.params_as_Conv2D();
  const ConvGeometry c = params_of(*p);
  const std::span<const float> weights = *l.constants[1];
  const std::optional<std::span<const float>> bias =
      l.constants.size() > 2 ? l.constants[2] : std::optional<std::span<const float>>{};

  if (!is_depthwise(x, y, c.group)) {
    const ConvDispatchShape s{x[0],         x[1],        x[2],       x[3],        y[1],        y[2],
                              y[3],         c.kernel_h,  c.kernel_w, c.stride_h,  c.stride_w,  c.dilation_h,
                              c.dilation_w, c.pad_top,   c.pad_left, c.group,     x[1] / c.group, y[1] / c.group};
    return use_winograd(s, l) ? winograd_dispatches(s, l, p->activation(), weights, bias)
                              : conv2d_dispatches(s, l, p->activation(), weights, bias);
  }

  const uint32_t weight_offset = l.weights.add(weights);
  const uint32_t bias_offset = bias ? l.weights.add(*bias) : 0;
  const int64_t items = y[2] * ceil_div(y[3], kDepthwiseRun);
  const uint32_t local = local_size_for(items);
  const auto act = activation_spec(p->activation());
  return {make_dispatch<shader::depthwise_conv2d>(
      with_sizes(with_window<shader::depthwise_conv2d::Spec>({.local_size_x = local,
                                                   .HAS_BIAS = bias.has_value(),
                                                   .R = kDepthwiseRun,
                                                   .ACT_KIND = act.kind,
                                                   .ACT_ALPHA = act.alpha,
                                                   .ACT_BETA = act.beta},
                                                  c), sizes_of(x, y)),
      {.IN_OFF = l.inputs[0].offset, .OUT_OFF = l.outputs[0].offset, .WT_OFF = weight_offset, .BIAS_OFF = bias_offset},
      {u32(ceil_div(items, local)), u32(x[0] * x[1]), 1})};
}

}  // namespace

template <>
const OpKind& op_kind_of<fb::OpParams::Conv2D>() {
  static const OpKind kind{.check = check_conv2d,
                           .lower = lower_conv2d, .inputs = kDataWeightsBias,
                           .macs = macs_per_weight_row,
                           .shapes = [](const ShapeQuery& q) {
                             return std::vector<Shape>{conv_output_shape(
                                 q, params_of(*q.desc.node.params_as_Conv2D()), q.desc.inputs.at(1).at(0))};
                           }};
  return kind;
}

}  // namespace vkbnn::detail
