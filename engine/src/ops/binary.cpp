// The binarized op family: Binarize (signs packed into bits), BinaryConv2D (grouped ones by
// binary_grouped_conv2d.comp) and BinaryFullyConnected (XOR/popcount dot products with the fused
// BinaryEpilogue). Binary max
// pooling is Pool2D on a Bit tensor (pool.cpp).

#include <algorithm>
#include <bit>
#include <cmath>
#include <map>

#include "ops/elementwise.hpp"
#include "ops/shader_codes.hpp"

namespace vkbnn::detail {
namespace {

using namespace epilogue;

// Where each epilogue input sits in a binary layer's input list (see BinaryEpilogue in the schema).
struct EpilogueInputs {
  static constexpr size_t scale = 2, shift = 3;
  std::optional<size_t> link, gamma, slope, shift_in, shift_out, threshold;
  size_t count = 4;
};

EpilogueInputs epilogue_inputs(const fb::BinaryEpilogue& e, bool bit_output) {
  EpilogueInputs in;
  size_t next = 4;
  if (e.link()) in.link = next++, in.gamma = next++;
  if (e.activation() == fb::BinaryActivationKind::PRelu) in.slope = next++;
  if (e.activation() == fb::BinaryActivationKind::RPRelu) in.shift_in = next++, in.slope = next++, in.shift_out = next++;
  if (bit_output) in.threshold = next++;
  in.count = next;
  return in;
}

// Checks the epilogue's inputs of a binary layer whose output is [n, m, oh, ow].
void check_epilogue(const NodeDesc& desc, const fb::BinaryEpilogue& e, int64_t n, int64_t m, int64_t oh, int64_t ow) {
  desc.require(e.activation() >= fb::BinaryActivationKind::MIN && e.activation() <= fb::BinaryActivationKind::MAX,
               "unknown activation kind " + std::to_string(static_cast<int>(e.activation())));
  const bool bit_output = desc.output_types[0] == fb::DataType::Bit;
  const EpilogueInputs in = epilogue_inputs(e, bit_output);
  desc.require(desc.inputs.size() == in.count,
               "expects " + std::to_string(in.count) + " inputs for its epilogue (X, W, scale, shift" +
                   (in.link ? ", X_real, gamma" : "") + (in.shift_in ? ", shift_in, slope, shift_out" : "") +
                   (in.slope && !in.shift_in ? ", slope" : "") + (bit_output ? ", threshold" : "") + "), has " +
                   std::to_string(desc.inputs.size()));
  for (std::optional<size_t> k : {std::optional<size_t>(in.scale), std::optional<size_t>(in.shift), in.gamma, in.slope,
                                  in.shift_in, in.shift_out, in.threshold}) {
    if (!k) continue;
    desc.require(desc.input_is_constant[*k] && desc.input_types[*k] == fb::DataType::Float32 &&
                     desc.inputs[*k] == Shape{m},
                 "epilogue input " + std::to_string(*k) + " must be a Float32 constant of shape [" + std::to_string(m) +
                     "], is " + shape_string(desc.inputs[*k]));
  }
  if (!e.link()) return;
  const auto& link = *e.link();
  const Shape& r = desc.inputs[*in.link];
  desc.require(!desc.input_is_constant[*in.link] && desc.input_types[*in.link] == fb::DataType::Float32,
               "the Elastic-Link input must be a Float32 activation");
  desc.require(link.channels() >= fb::LinkChannels::MIN && link.channels() <= fb::LinkChannels::MAX &&
                   link.group_order() >= fb::LinkGroupOrder::MIN && link.group_order() <= fb::LinkGroupOrder::MAX &&
                   link.reduce() >= fb::LinkReduce::MIN && link.reduce() <= fb::LinkReduce::MAX,
               "unknown Elastic-Link channel matching, group order or reduction");
  // The shader unrolls the pool window.
  desc.require(link.pool() >= 1 && link.pool() <= 8, "Elastic-Link pool must be 1..8, is " +
                                                          std::to_string(link.pool()));
  const int64_t pool = link.pool();
  const bool rank_ok = r.size() == 4 || (r.size() == 2 && oh == 1 && ow == 1 && pool == 1);
  desc.require(rank_ok && r[0] == n, "Elastic-Link input " + shape_string(r) + " does not match the batch and rank");
  const int64_t rh = r.size() == 4 ? r[2] : 1, rw = r.size() == 4 ? r[3] : 1;
  desc.require(ceil_div(rh, pool) == oh && ceil_div(rw, pool) == ow,
               "Elastic-Link input " + shape_string(r) + " pooled by " + std::to_string(pool) + " does not give the " +
                   std::to_string(oh) + "x" + std::to_string(ow) + " output");
  const int64_t c = r[1];
  switch (link.channels()) {
    case fb::LinkChannels::Identity:
      desc.require(c == m, "Elastic-Link Identity needs " + std::to_string(m) + " channels, has " + std::to_string(c));
      break;
    case fb::LinkChannels::Squeeze:
      desc.require(c > m && c % m == 0, "Elastic-Link Squeeze needs a multiple of " + std::to_string(m) +
                                            " channels above it, has " + std::to_string(c));
      break;
    case fb::LinkChannels::Expand:
      desc.require(m > c && m % c == 0, "Elastic-Link Expand needs " + std::to_string(c) + " channels dividing " +
                                            std::to_string(m));
      break;
  }
  // The shader loops over a Squeeze group and a pool window per output: keep that bounded.
  desc.require((link.channels() == fb::LinkChannels::Squeeze ? c / m : 1) <= 1024,
               "Elastic-Link reads too many values per output");
}

// A binary layer as binary_conv2d.comp sees it (a fully connected layer is a 1x1 conv on 1x1).
struct BinaryShape {
  int64_t batch, in_channels, in_h, in_w, out_channels, out_h, out_w;
  int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  int64_t pad_top = 0, pad_left = 0;
  bool zero_padding = true;
  int64_t groups = 1;
};

void check_dispatch_size(const NodeDesc& desc, const BinaryShape& s) {
  desc.require(static_cast<int64_t>(element_count(desc.inputs[0])) <= kMaxTensorElements &&
                   static_cast<int64_t>(element_count(desc.inputs[1])) <= kMaxTensorElements &&
                   s.batch * s.out_channels * s.out_h * s.out_w <= kMaxTensorElements,
               "tensors of more than 2^31 - 1 elements are not supported");
  desc.require(ceil_div(s.batch * s.out_h * s.out_w, kMaxLocalSize) <= kMaxGroups && ceil_div(s.out_channels, 4) <= kMaxGroups,
               "the output " + shape_string(desc.outputs[0]) + " is too large for one dispatch");
}

// The epilogue's per-channel parameters as one table of kParamRows rows of mp floats (rows as
// PARAM_* in binary_epilogue.glsl); returns its offset.
uint32_t add_param_table(const NodeLowering& l, const EpilogueInputs& in, int64_t m, int64_t mp) {
  std::vector<float> params(static_cast<size_t>(kParamRows * mp), 0.0f);
  auto fill = [&](ParamRow row, std::optional<size_t> input) {
    if (input) std::copy_n(l.constants[*input]->begin(), m, params.begin() + row * mp);
  };
  fill(Scale, in.scale), fill(Shift, in.shift), fill(Gamma, in.gamma), fill(Slope, in.slope);
  fill(ShiftIn, in.shift_in), fill(ShiftOut, in.shift_out), fill(Threshold, in.threshold);
  return l.weights.add(params);
}

// Both binary convolution shaders read X in operand slot 0 and the Elastic-Link input in slot 1.
Dispatch with_link_operand(Dispatch d, const EpilogueInputs& in) {
  if (in.link) d.operands = std::vector<uint32_t>{0, static_cast<uint32_t>(*in.link)};
  return d;
}

// The Elastic-Link constants, which both binary convolution shaders take by the same names.
template <typename Spec, typename Push>
void set_link(Spec& spec, Push& push, const NodeLowering& l, const fb::BinaryEpilogue& e, const EpilogueInputs& in) {
  const auto* link = e.link();
  const TensorRef* real = in.link ? &l.inputs[*in.link] : nullptr;
  spec.LINK = link != nullptr;
  push.LINK_OFF = real ? real->offset : 0;
  spec.LINK_C = real ? u32(real->shape[1]) : 1;
  spec.LINK_H = real && real->shape.size() == 4 ? i32(real->shape[2]) : 1;
  spec.LINK_W = real && real->shape.size() == 4 ? i32(real->shape[3]) : 1;
  spec.LINK_CHANNELS = link ? static_cast<uint32_t>(link->channels()) : 0;
  spec.LINK_STRIDED = link && link->group_order() == fb::LinkGroupOrder::Strided;
  spec.LINK_MEAN = !link || link->reduce() == fb::LinkReduce::Mean;
  spec.LINK_POOL = link ? i32(link->pool()) : 1;
}

// binary_grouped_conv2d.comp: the Bit weights [M][CW/group][taps] as stored (tail bits cleared).
Dispatch grouped_dispatch(const BinaryShape& s, const NodeLowering& l, const fb::BinaryEpilogue& e) {
  const bool bit_output = l.outputs[0].type == fb::DataType::Bit;
  const int64_t q = bit_output ? 32 : 4;
  const int64_t cg = s.in_channels / s.groups, cwg = ceil_div(cg, 32), taps = s.kernel_h * s.kernel_w;
  const uint32_t tail = cg % 32 ? (1u << (cg % 32)) - 1 : 0xFFFFFFFFu;
  std::vector<uint32_t> words = l.constant_words(1);
  for (int64_t m = 0; m < s.out_channels; ++m)
    for (int64_t t = 0; t < taps; ++t) words[static_cast<size_t>((m * cwg + cwg - 1) * taps + t)] &= tail;
  const uint32_t weight_offset = l.weights.add_words(words);
  const EpilogueInputs in = epilogue_inputs(e, bit_output);
  const uint32_t param_offset = add_param_table(l, in, s.out_channels, s.out_channels);
  const int64_t positions = s.batch * s.out_h * s.out_w;
  const uint32_t local = u32(std::clamp<int64_t>(ceil_div(positions, 8) * 8, 8, kMaxLocalSize));
  auto spec = with_sizes(with_window<shader::binary_grouped_conv2d::Spec>({.local_size_x = local,
                                                                .GROUPS = u32(s.groups),
                                                                .Q = u32(q),
                                                                .ZERO_PADDING = s.zero_padding,
                                                                .ACT_KIND = static_cast<uint32_t>(e.activation()),
                                                                .ACT_AFTER_LINK = e.activation_after_link(),
                                                                .BIT_OUTPUT = bit_output},
                                                               s), s);
  shader::binary_grouped_conv2d::Push push{
      .IN_OFF = l.inputs[0].offset, .OUT_OFF = l.outputs[0].offset, .WT_OFF = weight_offset, .PARAM_OFF = param_offset};
  set_link(spec, push, l, e, in);
  return with_link_operand(make_dispatch<shader::binary_grouped_conv2d>(
                               spec, push, {u32(ceil_div(positions, local)), u32(ceil_div(s.out_channels, q)), 1}),
                           in);
}

// Zero padding: which kernel taps along one axis leave the input, per output coordinate, as a few
// classes (for a 3x3 kernel padded by 1: the first, the inner and the last coordinates).
struct TapClasses {
  std::vector<uint32_t> of;                // the class of each output coordinate
  std::vector<std::vector<bool>> outside;  // per class, per tap
};

TapClasses tap_classes(int64_t out, int64_t in, int64_t kernel, int64_t stride, int64_t dilation, int64_t pad) {
  TapClasses classes;
  std::map<std::vector<bool>, uint32_t> index;
  for (int64_t o = 0; o < out; ++o) {
    std::vector<bool> outside(static_cast<size_t>(kernel));
    for (int64_t k = 0; k < kernel; ++k) {
      const int64_t i = o * stride - pad + k * dilation;
      outside[static_cast<size_t>(k)] = i < 0 || i >= in;
    }
    const auto [it, added] = index.emplace(outside, static_cast<uint32_t>(classes.outside.size()));
    if (added) classes.outside.push_back(std::move(outside));
    classes.of.push_back(it->second);
  }
  return classes;
}

// The padding correction table's words (see binary_conv2d.comp) for mp output channels.
int64_t border_table_words(const TapClasses& rows, const TapClasses& columns, int64_t mp) {
  return ceil_div(static_cast<int64_t>(rows.of.size() + columns.of.size()), 4) * 4 +
         static_cast<int64_t>(rows.outside.size() * columns.outside.size()) * mp;
}

constexpr int64_t kMaxBorderTableWords = int64_t{1} << 24;

// The tile of accumulators one invocation of binary_conv2d.comp keeps: r outputs along a row
// times q output channels.
struct BinaryTile {
  int64_t r, q;
};

// As many accumulators as fit in registers beside the input span and the weights. On a CPU
// device every value of a shader takes a vector register (its lanes are invocations): measured on
// lavapipe with 32 registers (AVX-512VL), r = 4, q = 8 took 64 channels at 56x56 from 2.2 to
// 1.2 ms of CPU time against r = 8, q = 8, which spills. A GPU thread has far more registers.
BinaryTile binary_tile(const BinaryShape& s, bool bit_output, const DeviceInfo& device) {
  const int64_t registers = device.cpu_vector_registers ? device.cpu_vector_registers : 64;
  const int64_t qmax = registers >= 32 ? 8 : 4, rmax = std::max<int64_t>(registers / qmax, 4);
  // A packed output needs whole words (q = 32); its r of 4 was measured on lavapipe.
  if (bit_output) return {ceil_div(s.out_w, ceil_div(s.out_w, 4)), 32};
  const int64_t q = std::min<int64_t>(qmax, ceil_div(s.out_channels, 4) * 4);
  // Whole runs of 4 outputs where the row splits into them, so that the epilogue works on vec4s.
  if (s.out_w % 4 == 0) {
    int64_t r = rmax / 4 * 4;
    while (r > 4 && s.out_w % r != 0) r -= 4;
    return {r, q};
  }
  // Elsewhere (7 or 14 wide) the epilogue is per pixel: fewer, longer runs won there (256 channels
  // at 14x14: 1.5 ms of CPU time with r = 7 against 2.9 ms with r = 4 on lavapipe).
  return {ceil_div(s.out_w, ceil_div(s.out_w, 2 * rmax)), q};
}

// binary_conv2d.comp's SWAR popcount instead of bitCount, for CPU devices (on GPUs bitCount is
// an instruction). Measured on lavapipe (AVX2 popcount as a nibble lookup, 3x3, process CPU time,
// 6 interleaved rounds): 128 channels at 28x28 0.81x, 256 at 14x14 0.89x, 512 at 7x7 0.82x the time
// of bitCount, but 64 at 56x56 1.10x: with two channel words the extra registers cost more.
bool swar_popcount(const BinaryShape& s, const DeviceInfo& device) {
  return device.cpu_vector_registers > 0 && s.in_channels > 64;
}

// Repacks the Bit weights [M][CW][taps] into binary_conv2d.comp's blocks and returns its dispatch.
Dispatch binary_dispatch(const BinaryShape& s, const NodeLowering& l, const fb::BinaryEpilogue& e) {
  const bool bit_output = l.outputs[0].type == fb::DataType::Bit;
  const BinaryTile tile = binary_tile(s, bit_output, l.device);
  const int64_t q = tile.q, r = tile.r;
  const int64_t blocks = ceil_div(s.out_channels, q);
  const int64_t mp = blocks * q;
  const int64_t taps = s.kernel_h * s.kernel_w;
  const int64_t cw = ceil_div(s.in_channels, 32);
  const uint32_t tail = s.in_channels % 32 ? (1u << (s.in_channels % 32)) - 1 : 0xFFFFFFFFu;

  const std::vector<uint32_t> words = l.constant_words(1);
  std::vector<uint32_t> packed(static_cast<size_t>(blocks * taps * cw * q), 0);
  // Per tap and output channel, what the tap adds when it reads zeros: sum_c w.
  std::vector<int64_t> tap_sum(static_cast<size_t>(taps * mp), 0);
  for (int64_t m = 0; m < s.out_channels; ++m)
    for (int64_t t = 0; t < taps; ++t) {
      int64_t negative = 0;
      for (int64_t c = 0; c < cw; ++c) {
        // A file's stray bits past C would count as channels: clear them.
        const uint32_t word = words[static_cast<size_t>((m * cw + c) * taps + t)] & (c == cw - 1 ? tail : ~0u);
        packed[static_cast<size_t>((((m / q) * taps + t) * cw + c) * q + m % q)] = word;
        negative += std::popcount(word);
      }
      tap_sum[static_cast<size_t>(t * mp + m)] = s.in_channels - 2 * negative;
    }
  const uint32_t weight_offset = l.weights.add_words(packed);

  const int64_t items = s.batch * s.out_h * ceil_div(s.out_w, r);
  const int64_t span = (r - 1) * s.stride_w + (s.kernel_w - 1) * s.dilation_w + 1;
  const bool padded = s.pad_top > 0 || s.pad_left > 0 ||
                      (s.out_h - 1) * s.stride_h + (s.kernel_h - 1) * s.dilation_h >= s.in_h + s.pad_top ||
                      (ceil_div(s.out_w, r) - 1) * r * s.stride_w + span > s.in_w + s.pad_left;
  uint32_t border_offset = 0;
  if (padded && s.zero_padding) {
    const TapClasses rows = tap_classes(s.out_h, s.in_h, s.kernel_h, s.stride_h, s.dilation_h, s.pad_top);
    const TapClasses columns = tap_classes(s.out_w, s.in_w, s.kernel_w, s.stride_w, s.dilation_w, s.pad_left);
    std::vector<uint32_t> table(static_cast<size_t>(border_table_words(rows, columns, mp)), 0);
    const size_t row_stride = columns.outside.size() * static_cast<size_t>(mp);
    for (size_t y = 0; y < rows.of.size(); ++y) table[y] = rows.of[y] * static_cast<uint32_t>(row_stride);
    for (size_t x = 0; x < columns.of.size(); ++x)
      table[rows.of.size() + x] = columns.of[x] * static_cast<uint32_t>(mp);
    const size_t start = static_cast<size_t>(ceil_div(static_cast<int64_t>(rows.of.size() + columns.of.size()), 4) * 4);
    for (size_t rc = 0; rc < rows.outside.size(); ++rc)
      for (size_t cc = 0; cc < columns.outside.size(); ++cc)
        for (int64_t ky = 0; ky < s.kernel_h; ++ky)
          for (int64_t kx = 0; kx < s.kernel_w; ++kx) {
            if (!rows.outside[rc][static_cast<size_t>(ky)] && !columns.outside[cc][static_cast<size_t>(kx)]) continue;
            uint32_t* correction = &table[start + rc * row_stride + cc * static_cast<size_t>(mp)];
            const int64_t* sums = &tap_sum[static_cast<size_t>((ky * s.kernel_w + kx) * mp)];
            for (int64_t m = 0; m < mp; ++m) correction[m] += static_cast<uint32_t>(sums[m]);
          }
    border_offset = l.weights.add_words(table);
  }

  const EpilogueInputs in = epilogue_inputs(e, bit_output);
  const uint32_t param_offset = add_param_table(l, in, s.out_channels, mp);
  const uint32_t local = u32(std::clamp<int64_t>(ceil_div(items, 8) * 8, 8, kMaxLocalSize));
  auto spec = with_sizes(with_window<shader::binary_conv2d::Spec>({.local_size_x = local,
                                                        .Q = u32(q),
                                                        .R = u32(r),
                                                        .PADDED = padded,
                                                        .ZERO_PADDING = s.zero_padding,
                                                        .ACT_KIND = static_cast<uint32_t>(e.activation()),
                                                        .ACT_AFTER_LINK = e.activation_after_link(),
                                                        .BIT_OUTPUT = bit_output,
                                                        .MP = u32(mp),
                                                        .SWAR_POPCOUNT = swar_popcount(s, l.device)},
                                                       s), s);
  shader::binary_conv2d::Push push{.IN_OFF = l.inputs[0].offset,
                                   .OUT_OFF = l.outputs[0].offset,
                                   .WT_OFF = weight_offset,
                                   .BORDER_OFF = border_offset,
                                   .PARAM_OFF = param_offset};
  set_link(spec, push, l, e, in);
  return with_link_operand(
      make_dispatch<shader::binary_conv2d>(spec, push, {u32(ceil_div(items, local)), u32(blocks), 1}), in);
}

void require_bits(const NodeDesc& desc) {
  desc.require(desc.input_types[0] == fb::DataType::Bit && !desc.input_is_constant[0],
               "input X must be a packed-bit (Bit) activation");
  desc.require(desc.input_types[1] == fb::DataType::Bit && desc.input_is_constant[1],
               "weights W must be a packed-bit (Bit) constant");
  desc.require(desc.outputs.size() == 1, "expects 1 output");
}

void check_binarize(const NodeDesc& desc) {
  desc.require((desc.inputs.size() == 1 || desc.inputs.size() == 2) && desc.outputs.size() == 1,
               "expects inputs X and optionally threshold, and 1 output");
  const Shape& x = desc.inputs[0];
  desc.require(desc.input_types[0] == fb::DataType::Float32, "input X must be a Float32 activation");
  desc.require(x.size() == 2 || x.size() == 4, "input must be [N, C] or NCHW, has " + shape_string(x));
  desc.require(desc.output_types[0] == fb::DataType::Bit && desc.outputs[0] == x,
               "output must be Bit with the input's shape " + shape_string(x));
  if (desc.inputs.size() == 2)
    desc.require(desc.input_types[1] == fb::DataType::Float32 && desc.inputs[1] == Shape{x[1]},
                 "threshold must be a Float32 constant of shape [" + std::to_string(x[1]) + "]");
  desc.require(static_cast<int64_t>(element_count(x)) <= kMaxTensorElements, "tensors of more than 2^31 - 1 elements are not supported");
}

std::vector<Dispatch> lower_binarize(const NodeLowering& l) {
  const Shape& x = l.inputs[0].shape;
  const size_t inner = element_count(x) / static_cast<size_t>(x[0] * x[1]);
  const size_t count = storage_words(x, fb::DataType::Bit);
  const bool has_threshold = l.constants.size() > 1;
  const uint32_t threshold = has_threshold ? l.weights.add(*l.constants[1]) : 0;
  const Grid grid = grid_for(count);
  return {make_dispatch<shader::binarize>(
      {.COUNT = static_cast<uint32_t>(count),
       .STRIDE = grid.stride,
       .HAS_THRESHOLD = has_threshold,
       .C = u32(x[1]),
       .INNER = static_cast<uint32_t>(inner)},
      {.IN_OFF = l.inputs[0].offset, .OUT_OFF = l.outputs[0].offset, .THRESHOLD_OFF = threshold}, {grid.groups, 1, 1})};
}

void check_binary_conv2d(const NodeDesc& desc) {
  desc.require(desc.inputs.size() >= 4, "expects inputs X, W, scale, shift and the epilogue's");
  require_bits(desc);
  const Shape& x = desc.inputs[0];
  const Shape& w = desc.inputs[1];
  const Shape& y = desc.outputs[0];
  desc.require(x.size() == 4, "input must be NCHW (rank 4), has " + shape_string(x));
  const auto* p = desc.node.params_as_BinaryConv2D();
  const int64_t groups = p->group();
  desc.require(groups >= 1 && x[1] % groups == 0, "group " + std::to_string(groups) + " does not divide the " +
                                                      std::to_string(x[1]) + " input channels");
  desc.require(w.size() == 4 && w[1] == x[1] / groups && w[0] % groups == 0,
               "weights must be [M, " + std::to_string(x[1] / groups) + ", kH, kW] with M a multiple of group " +
                   std::to_string(groups) + ", have " + shape_string(w));
  desc.require(p->kernel()->size() == 2 && p->strides()->size() == 2 && p->dilations()->size() == 2 &&
                   p->pads()->size() == 4,
               "needs 2 kernel sizes, 2 strides, 2 dilations and 4 pads");
  desc.require(p->padding() >= fb::BinaryPadding::MIN && p->padding() <= fb::BinaryPadding::MAX, "unknown padding");
  BinaryShape s{x[0], x[1], x[2], x[3], w[0], 0, 0, p->kernel()->Get(0), p->kernel()->Get(1), p->strides()->Get(0),
                p->strides()->Get(1), p->dilations()->Get(0), p->dilations()->Get(1), p->pads()->Get(0), p->pads()->Get(1)};
  const int64_t pad_bottom = p->pads()->Get(2), pad_right = p->pads()->Get(3);
  desc.require(w[2] == s.kernel_h && w[3] == s.kernel_w, "weights " + shape_string(w) + " do not match the kernel");
  desc.require(s.kernel_h > 0 && s.kernel_w > 0 && s.stride_h > 0 && s.stride_w > 0 && s.dilation_h > 0 &&
                   s.dilation_w > 0,
               "kernel sizes, strides and dilations must be positive");
  desc.require(s.pad_top >= 0 && s.pad_left >= 0 && pad_bottom >= 0 && pad_right >= 0, "pads must not be negative");
  desc.require(s.kernel_h * s.kernel_w <= 121 && s.stride_h <= 64 && s.stride_w <= 64 && s.dilation_h <= 64 &&
                   s.dilation_w <= 64 && s.pad_top < 1024 && s.pad_left < 1024 && pad_bottom < 1024 && pad_right < 1024,
               "kernel, stride, dilation or pads are implausibly large");
  const int64_t span_h = x[2] + s.pad_top + pad_bottom - ((s.kernel_h - 1) * s.dilation_h + 1);
  const int64_t span_w = x[3] + s.pad_left + pad_right - ((s.kernel_w - 1) * s.dilation_w + 1);
  desc.require(span_h >= 0 && span_w >= 0, "the dilated kernel is larger than the padded input " + shape_string(x));
  const Shape expected{x[0], w[0], span_h / s.stride_h + 1, span_w / s.stride_w + 1};
  desc.require(y == expected, "output shape " + shape_string(y) + " should be " + shape_string(expected));
  s.out_h = y[2], s.out_w = y[3];
  check_epilogue(desc, *p->epilogue(), y[0], y[1], y[2], y[3]);
  check_dispatch_size(desc, s);
  if (p->padding() == fb::BinaryPadding::Zero && groups == 1) {
    const TapClasses rows = tap_classes(s.out_h, s.in_h, s.kernel_h, s.stride_h, s.dilation_h, s.pad_top);
    const TapClasses columns = tap_classes(s.out_w, s.in_w, s.kernel_w, s.stride_w, s.dilation_w, s.pad_left);
    desc.require(border_table_words(rows, columns, ceil_div(s.out_channels, 32) * 32) <= kMaxBorderTableWords,
                 "the zero-padding correction table of this layer (" + std::to_string(rows.outside.size()) + " x " +
                     std::to_string(columns.outside.size()) + " border classes) is too large");
  }
}

std::vector<Dispatch> lower_binary_conv2d(const NodeLowering& l) {
  const Shape& x = l.inputs[0].shape;
  const Shape& y = l.outputs[0].shape;
  const auto* p = l.node.params_as_BinaryConv2D();
  const BinaryShape s{x[0],
                      x[1],
                      x[2],
                      x[3],
                      y[1],
                      y[2],
                      y[3],
                      p->kernel()->Get(0),
                      p->kernel()->Get(1),
                      p->strides()->Get(0),
                      p->strides()->Get(1),
                      p->dilations()->Get(0),
                      p->dilations()->Get(1),
                      p->pads()->Get(0),
                      p->pads()->Get(1),
                      p->padding() == fb::BinaryPadding::Zero,
                      p->group()};
  if (s.groups > 1) return {grouped_dispatch(s, l, *p->epilogue())};
  return {binary_dispatch(s, l, *p->epilogue())};
}

void check_binary_fully_connected(const NodeDesc& desc) {
  desc.require(desc.inputs.size() >= 4, "expects inputs X, W, scale, shift and the epilogue's");
  require_bits(desc);
  const Shape& x = desc.inputs[0];
  const Shape& w = desc.inputs[1];
  desc.require(x.size() == 2, "input must be [N, K], has " + shape_string(x));
  desc.require(w.size() == 2 && w[1] == x[1],
               "weights must be [M, " + std::to_string(x[1]) + "], have " + shape_string(w));
  const Shape expected{x[0], w[0]};
  desc.require(desc.outputs[0] == expected,
               "output shape " + shape_string(desc.outputs[0]) + " should be " + shape_string(expected));
  const auto* epilogue = desc.node.params_as_BinaryFullyConnected()->epilogue();
  check_epilogue(desc, *epilogue, x[0], w[0], 1, 1);
  check_dispatch_size(desc, {x[0], x[1], 1, 1, w[0], 1, 1});
}

std::vector<Dispatch> lower_binary_fully_connected(const NodeLowering& l) {
  const Shape& x = l.inputs[0].shape;
  const BinaryShape s{x[0], x[1], 1, 1, l.inputs[1].shape[0], 1, 1};
  return {binary_dispatch(s, l, *l.node.params_as_BinaryFullyConnected()->epilogue())};
}

Precision binary_precision(const NodeDesc&) { return Precision::Binary; }

std::vector<Shape> binary_conv2d_shapes(const ShapeQuery& q) {
  const auto* p = q.desc.node.params_as_BinaryConv2D();
  const ConvGeometry g = conv_geometry(*p->kernel(), *p->strides(), *p->dilations(), *p->pads(), p->group());
  return {conv_output_shape(q, g, q.desc.inputs.at(1).at(0))};
}

}  // namespace

template <>
const OpKind& op_kind_of<fb::OpParams::Binarize>() {
  static const OpKind kind{.check = check_binarize, .lower = lower_binarize, .typed = true, .inputs = {{"input X", InputRole::Activation}, {"threshold", InputRole::Weight}}, .shapes = [](const ShapeQuery& q) { return q.same_as(0); }};
  return kind;
}

template <>
const OpKind& op_kind_of<fb::OpParams::BinaryConv2D>() {
  static const OpKind kind{.check = check_binary_conv2d,
                           .lower = lower_binary_conv2d,
                           .typed = true,
                           .precision = binary_precision,
                           .macs = macs_per_weight_row,
                           .shapes = binary_conv2d_shapes};
  return kind;
}

template <>
const OpKind& op_kind_of<fb::OpParams::BinaryFullyConnected>() {
  static const OpKind kind{.check = check_binary_fully_connected,
                           .lower = lower_binary_fully_connected,
                           .typed = true,
                           .precision = binary_precision,
                           .macs = macs_per_weight_row,
                           .shapes = fully_connected_shapes};
  return kind;
}

}  // namespace vkbnn::detail
