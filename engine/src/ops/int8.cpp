// The int8 ops: Quantize, Dequantize, Int8Conv2D, Int8FullyConnected (run as a convolution),
// Int8Add, Int8GlobalAveragePool and max pooling of Int8 tensors (called from pool.cpp).
// Integer results are defined bit for bit by the schema, so every device computes the same.

#include <algorithm>
#include <cstring>

#include "ops/elementwise.hpp"

namespace vkbnn::detail {
namespace {

bool is_int8(const NodeDesc& desc, size_t input) { return desc.input_types[input] == fb::DataType::Int8; }

std::vector<int32_t> int32_values(std::span<const uint8_t> bytes) {
  std::vector<int32_t> values(bytes.size() / sizeof(int32_t));
  std::memcpy(values.data(), bytes.data(), values.size() * sizeof(int32_t));
  return values;
}

// Inputs 2..4 of Int8Conv2D and Int8FullyConnected: Int32 constants [M] for the bias, the
// multipliers and the shifts, whose ranges the shaders rely on.
void check_requantization(const NodeDesc& desc, int64_t out_channels, int32_t clamp_min, int32_t clamp_max) {
  const char* names[] = {"bias", "multiplier", "shift"};
  for (size_t i = 2; i < 5; ++i) {
    desc.require(desc.input_types[i] == fb::DataType::Int32 &&
                     desc.inputs[i] == Shape{out_channels},
                 std::string(names[i - 2]) + " must be an Int32 constant [" + std::to_string(out_channels) + "]");
  }
  for (int32_t m : int32_values(desc.input_data[3]))
    desc.require(m >= 0, "multiplier " + std::to_string(m) + " is negative");
  for (int32_t s : int32_values(desc.input_data[4]))
    desc.require(s >= 1 && s <= 62, "shift " + std::to_string(s) + " is outside [1, 62]");
  desc.require(clamp_min >= -128 && clamp_min <= clamp_max && clamp_max <= 127,
               "clamp [" + std::to_string(clamp_min) + ", " + std::to_string(clamp_max) + "] is not inside [-128, 127]");
}

void check_int8_io(const NodeDesc& desc, size_t inputs) {
  desc.require(desc.inputs.size() == inputs && desc.outputs.size() == 1,
               "expects " + std::to_string(inputs) + " inputs and 1 output");
  desc.require(is_int8(desc, 0), "input X must be an Int8 activation");
  desc.require(desc.output_types[0] == fb::DataType::Int8, "output must be Int8");
}

// Channels (axis 1) and the elements per channel of a rank >= 2 tensor.
std::pair<int64_t, int64_t> channels_and_plane(const Shape& s) {
  return {s[1], static_cast<int64_t>(element_count(s)) / (s[0] * s[1])};
}

// Signed bytes of an Int8 constant of `shape`, in row-major order of the shape.
std::vector<int8_t> unpack_int8(std::span<const float> words, const Shape& shape) {
  const auto* bytes = reinterpret_cast<const int8_t*>(words.data());
  std::vector<int8_t> values(element_count(shape));
  for_each_packed(shape, 4,
                  [&](uint64_t element, uint64_t word, uint64_t byte) { values[element] = bytes[word * 4 + byte]; });
  return values;
}

std::vector<int32_t> constant_ints(const NodeLowering& l, size_t index) {
  std::vector<int32_t> values(l.constants[index]->size());
  std::memcpy(values.data(), l.constants[index]->data(), values.size() * sizeof(int32_t));
  return values;
}

// The epilogue table of int8_conv2d.glsl and int8_depthwise_conv2d.comp: per output channel
// (padded to `padded` with harmless entries) one ivec4 of bias, multiplier, shift.
uint32_t add_epilogue(const NodeLowering& l, int64_t out_channels, int64_t padded) {
  const std::vector<int32_t> bias = constant_ints(l, 2), multiplier = constant_ints(l, 3), shift = constant_ints(l, 4);
  std::vector<uint32_t> epilogue(static_cast<size_t>(padded * 4), 0);
  for (int64_t oc = 0; oc < padded; ++oc) {
    const bool real = oc < out_channels;
    const auto i = static_cast<size_t>(oc);
    epilogue[i * 4] = real ? static_cast<uint32_t>(bias[i]) : 0;
    epilogue[i * 4 + 1] = real ? static_cast<uint32_t>(multiplier[i]) : 0;
    epilogue[i * 4 + 2] = real ? static_cast<uint32_t>(shift[i]) : 1;
  }
  return l.weights.add_words(epilogue);
}

uint32_t zero_point_word(const NodeLowering& l) {
  return static_cast<uint8_t>(l.inputs[0].quant.zero_point) * 0x01010101u;
}

uint32_t local_size(int64_t items) {
  return static_cast<uint32_t>(std::clamp<int64_t>(ceil_div(items, 8) * 8, 8, kMaxLocalSize));
}

// Up to 16 outputs along a row, rows split into equal runs, so that each loaded weight feeds
// that many pixels (on lavapipe a load is a gather over the lanes).
int64_t run_length(int64_t out_w) { return ceil_div(out_w, ceil_div(out_w, 16)); }

// One Int8 convolution as int8_conv2d(_dot) runs it. weights: [M][ICG][KH][KW] signed bytes.
struct Int8ConvJob {
  int64_t batch, in_channels, in_h, in_w, out_channels, out_h, out_w;
  ConvGeometry g;
  std::vector<int8_t> weights;
  int32_t clamp_min, clamp_max;
};

Dispatch int8_conv_dispatch(const Int8ConvJob& j, const NodeLowering& l) {
  const ConvGeometry& g = j.g;
  const int64_t icg = j.in_channels / g.group, ocg = j.out_channels / g.group;
  const int64_t c4 = ceil_div(j.in_channels, 4), taps = g.kernel_h * g.kernel_w;
  // Words a block of q output channels spans from its first channel's group to its last's.
  auto words_for = [&](int64_t q, int64_t block) {
    const int64_t first_oc = block * q, last_oc = std::min(j.out_channels, first_oc + q) - 1;
    return (last_oc / ocg * icg + icg - 1) / 4 - (first_oc / ocg * icg) / 4 + 1;
  };
  auto max_words = [&](int64_t q) {
    int64_t most = 0;
    for (int64_t b = 0; b < ceil_div(j.out_channels, q); ++b) most = std::max(most, words_for(q, b));
    return most;
  };
  // As many output channels per invocation as there are, up to 32, unless that makes grouped
  // blocks read more words. 32 x 16 tiles measured best on lavapipe (int8 ResNet-18, 2 busy
  // cores, p10): 8 x 4 230 ms, 8 x 16 186, 16 x 16 167, 32 x 16 148, 64 x 16 178; larger tiles
  // also compile slower.
  int64_t q = 4;
  for (int64_t wider : {8, 16, 32})
    if (j.out_channels > q && max_words(wider) == max_words(4)) q = wider;
  const int64_t words = max_words(q), blocks = ceil_div(j.out_channels, q);
  const int64_t r = run_length(j.out_w);
  const bool dot = l.device.integer_dot_product;

  // [block][tap][word][q]: four packed input channels per output channel (int8_conv2d.glsl).
  std::vector<uint32_t> packed(static_cast<size_t>(blocks * taps * words * q), 0);
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t first = (b * q / ocg * icg) / 4;
    for (int64_t t = 0; t < taps; ++t)
      for (int64_t wd = 0; wd < words; ++wd)
        for (int64_t lane = 0; lane < q; ++lane) {
          const int64_t oc = b * q + lane;
          if (oc >= j.out_channels) continue;
          const int64_t group_first = oc / ocg * icg;
          for (int64_t k = 0; k < 4; ++k) {
            const int64_t ci = (first + wd) * 4 + k - group_first;
            if (ci < 0 || ci >= icg) continue;
            const auto v = static_cast<uint8_t>(j.weights[static_cast<size_t>((oc * icg + ci) * taps + t)]);
            packed[static_cast<size_t>(((b * taps + t) * words + wd) * q + lane)] |= uint32_t{v} << (8 * k);
          }
        }
  }
  const uint32_t weight_offset = l.weights.add_words(packed);

  const uint32_t epilogue_offset = add_epilogue(l, j.out_channels, blocks * q);

  const int64_t runs = ceil_div(j.out_w, r);
  const int64_t items = j.batch * j.out_h * runs;
  const bool padded = g.pad_top > 0 || g.pad_left > 0 ||
                      (j.out_h - 1) * g.stride_h + (g.kernel_h - 1) * g.dilation_h >= j.in_h ||
                      (runs * r - 1) * g.stride_w + (g.kernel_w - 1) * g.dilation_w >= j.in_w;
  const uint32_t local = local_size(items);
  const auto spec = with_sizes(with_window<shader::int8_conv2d::Spec>({.local_size_x = local,
                                                            .C4 = u32(c4),
                                                            .ICG = u32(icg),
                                                            .OCG = u32(ocg),
                                                            .WORDS = u32(words),
                                                            .Q = u32(q),
                                                            .R = u32(r),
                                                            .ZP_WORD = zero_point_word(l),
                                                            .ZP_OUT = l.outputs[0].quant.zero_point,
                                                            .CMIN = j.clamp_min,
                                                            .CMAX = j.clamp_max,
                                                            .PADDED = padded},
                                                           g), j);
  const shader::int8_conv2d::Push push{.IN_OFF = l.inputs[0].offset,
                                       .OUT_OFF = l.outputs[0].offset,
                                       .WT_OFF = weight_offset,
                                       .EPI_OFF = epilogue_offset};
  const std::array<uint32_t, 3> groups{u32(ceil_div(items, local)), u32(blocks), 1};
  return dot ? make_dispatch<shader::int8_conv2d_dot>(spec, push, groups)
             : make_dispatch<shader::int8_conv2d>(spec, push, groups);
}

// A depthwise Int8Conv2D (group = channels in = channels out) on int8_depthwise_conv2d.comp.
Dispatch int8_depthwise_dispatch(const Int8ConvJob& j, const NodeLowering& l) {
  const ConvGeometry& g = j.g;
  const int64_t c4 = ceil_div(j.in_channels, 4), taps = g.kernel_h * g.kernel_w;
  std::vector<uint32_t> packed(static_cast<size_t>(c4 * taps), 0);
  for (int64_t c = 0; c < j.in_channels; ++c)
    for (int64_t t = 0; t < taps; ++t)
      packed[static_cast<size_t>((c / 4) * taps + t)] |=
          uint32_t{static_cast<uint8_t>(j.weights[static_cast<size_t>(c * taps + t)])} << (8 * (c % 4));
  const uint32_t weight_offset = l.weights.add_words(packed);
  const uint32_t epilogue_offset = add_epilogue(l, j.in_channels, c4 * 4);
  const int64_t r = run_length(j.out_w);
  const int64_t items = j.batch * j.out_h * ceil_div(j.out_w, r);
  const uint32_t local = local_size(items);
  return make_dispatch<shader::int8_depthwise_conv2d>(
      with_sizes(with_window<shader::int8_depthwise_conv2d::Spec>({.local_size_x = local,
                                                        .R = u32(r),
                                                        .ZP_WORD = zero_point_word(l),
                                                        .ZP_OUT = l.outputs[0].quant.zero_point,
                                                        .CMIN = j.clamp_min,
                                                        .CMAX = j.clamp_max},
                                                       g), j),
      {.IN_OFF = l.inputs[0].offset,
       .OUT_OFF = l.outputs[0].offset,
       .WT_OFF = weight_offset,
       .EPI_OFF = epilogue_offset},
      {u32(ceil_div(items, local)), u32(c4), 1});
}

void check_dispatch_size(const NodeDesc& desc, int64_t pixels, int64_t out_channels) {
  desc.require(ceil_div(pixels, kMaxLocalSize) <= kMaxGroups && ceil_div(out_channels, 4) <= kMaxGroups,
               "the output " + shape_string(desc.outputs[0]) + " is too large for one dispatch");
}

// Element-wise int8 launches walk their items (words, or elements for Dequantize) with a grid
// stride: the lowering fills the rest of `spec`, this its COUNT and STRIDE.
template <typename S>
Dispatch grid_dispatch(size_t items, typename S::Spec spec, const typename S::Push& push) {
  const Grid grid = grid_for(items);
  spec.COUNT = u32(static_cast<int64_t>(items));
  spec.STRIDE = grid.stride;
  return make_dispatch<S>(spec, push, {grid.groups, 1, 1});
}

// Quantize and Dequantize: one activation of type `from` in, the same shape of type `to` out.
void check_conversion(const NodeDesc& desc, fb::DataType from, fb::DataType to) {
  desc.require(desc.inputs.size() == 1 && desc.outputs.size() == 1, "expects 1 input and 1 output");
  desc.require(desc.input_types[0] == from,
               std::string("input must be a ") + fb::EnumNameDataType(from) + " activation");
  desc.require(desc.output_types[0] == to, std::string("output must be ") + fb::EnumNameDataType(to));
  desc.require(desc.inputs[0].size() >= 2, "input must have a channel axis, has " + shape_string(desc.inputs[0]));
  desc.require(desc.outputs[0] == desc.inputs[0], "output shape " + shape_string(desc.outputs[0]) +
                                                      " should be the input's " + shape_string(desc.inputs[0]));
}

void check_quantize(const NodeDesc& desc) { check_conversion(desc, fb::DataType::Float32, fb::DataType::Int8); }

std::vector<Dispatch> lower_quantize(const NodeLowering& l) {
  const auto [channels, plane] = channels_and_plane(l.inputs[0].shape);
  const float inv_scale = 1.0f / l.outputs[0].quant.scale;
  return {grid_dispatch<shader::quantize>(
      storage_words(l.outputs[0].shape, fb::DataType::Int8),
      {.C = u32(channels), .PLANE = u32(plane), .INV_SCALE = inv_scale, .ZP = l.outputs[0].quant.zero_point},
      {.IN_OFF = l.inputs[0].offset, .OUT_OFF = l.outputs[0].offset})};
}

void check_dequantize(const NodeDesc& desc) { check_conversion(desc, fb::DataType::Int8, fb::DataType::Float32); }

std::vector<Dispatch> lower_dequantize(const NodeLowering& l) {
  const auto [channels, plane] = channels_and_plane(l.inputs[0].shape);
  const Quant q = l.inputs[0].quant;
  return {grid_dispatch<shader::dequantize>(
      element_count(l.outputs[0].shape),
      {.C = u32(channels), .PLANE = u32(plane), .SCALE = q.scale, .ZP = q.zero_point},
      {.IN_OFF = l.inputs[0].offset, .OUT_OFF = l.outputs[0].offset})};
}

void check_int8_conv2d(const NodeDesc& desc) {
  check_int8_io(desc, 5);
  desc.require(is_int8(desc, 1), "weights W must be an Int8 constant");
  const auto* p = desc.node.params_as_Int8Conv2D();
  const ConvGeometry g = conv_geometry(*p->kernel(), *p->strides(), *p->dilations(), *p->pads(), p->group());
  check_conv_shapes(desc, g, desc.inputs[0], desc.inputs[1], desc.outputs[0]);
  check_requantization(desc, desc.inputs[1][0], p->clamp_min(), p->clamp_max());
  const Shape& y = desc.outputs[0];
  check_dispatch_size(desc, y[0] * y[2] * y[3], y[1]);
}

std::vector<Shape> int8_conv2d_shapes(const ShapeQuery& q) {
  const auto* p = q.desc.node.params_as_Int8Conv2D();
  const ConvGeometry g = conv_geometry(*p->kernel(), *p->strides(), *p->dilations(), *p->pads(), p->group());
  return {conv_output_shape(q, g, q.desc.inputs.at(1).at(0))};
}

// The requantization multiplier divides by the plane's positions, so the plane is fixed.
std::vector<Shape> int8_global_average_pool_shapes(const ShapeQuery& q) {
  const Shape& x = q.inputs.at(0);
  const Shape& converted = q.desc.inputs.at(0);
  if (x.size() != converted.size() || !std::equal(x.begin() + 2, x.end(), converted.begin() + 2))
    q.pins("its requantization multiplier averages " + std::to_string(element_count(converted) / (converted[0] * converted[1])) +
           " positions");
  return {{x[0], x[1], 1, 1}};
}

std::vector<Dispatch> lower_int8_conv2d(const NodeLowering& l) {
  const Shape& x = l.inputs[0].shape;
  const Shape& y = l.outputs[0].shape;
  const auto* p = l.node.params_as_Int8Conv2D();
  const ConvGeometry g = conv_geometry(*p->kernel(), *p->strides(), *p->dilations(), *p->pads(), p->group());
  const Int8ConvJob job{x[0], x[1], x[2], x[3], y[1], y[2], y[3], g, unpack_int8(*l.constants[1], l.inputs[1].shape),
                        p->clamp_min(), p->clamp_max()};
  const bool depthwise = g.group == x[1] && g.group == y[1];
  return {depthwise ? int8_depthwise_dispatch(job, l) : int8_conv_dispatch(job, l)};
}

void check_int8_fully_connected(const NodeDesc& desc) {
  check_int8_io(desc, 5);
  desc.require(is_int8(desc, 1), "weights W must be an Int8 constant");
  const Shape& x = desc.inputs[0];
  const Shape& w = desc.inputs[1];
  desc.require(x.size() == 2 || x.size() == 4, "input must be [N, K] or [N, C, H, W], has " + shape_string(x));
  desc.require(w.size() == 2, "weights must be [M, K], have " + shape_string(w));
  const int64_t k = static_cast<int64_t>(element_count(x)) / x[0];
  desc.require(w[1] == k, "weights " + shape_string(w) + " need K = " + std::to_string(k) + " for input " +
                              shape_string(x));
  desc.require(desc.outputs[0] == Shape{x[0], w[0]},
               "output shape " + shape_string(desc.outputs[0]) + " should be [" + std::to_string(x[0]) + "x" +
                   std::to_string(w[0]) + "]");
  const auto* p = desc.node.params_as_Int8FullyConnected();
  check_requantization(desc, w[0], p->clamp_min(), p->clamp_max());
  desc.require(x[0] <= kMaxGroups * kMaxLocalSize, "batch " + std::to_string(x[0]) + " is too large");
  check_dispatch_size(desc, x[0], w[0]);
}

std::vector<Dispatch> lower_int8_fully_connected(const NodeLowering& l) {
  // A matmul over a flattened [N, C, H, W] input is a convolution whose kernel covers the input.
  const Shape& x = l.inputs[0].shape;
  const Shape& w = l.inputs[1].shape;
  const int64_t h = x.size() == 4 ? x[2] : 1, wd = x.size() == 4 ? x[3] : 1;
  ConvGeometry g{h, wd, 1, 1, 1, 1, 0, 0, 0, 0, 1};
  const auto* p = l.node.params_as_Int8FullyConnected();
  return {int8_conv_dispatch({x[0], x[1], h, wd, w[0], 1, 1, g, unpack_int8(*l.constants[1], w), p->clamp_min(),
                              p->clamp_max()},
                             l)};
}

void check_int8_add(const NodeDesc& desc) {
  check_int8_io(desc, 2);
  desc.require(is_int8(desc, 1), "input B must be an Int8 activation");
  desc.require(desc.inputs[0].size() >= 2, "inputs must have a channel axis, have " + shape_string(desc.inputs[0]));
  desc.require(desc.inputs[1] == desc.inputs[0] && desc.outputs[0] == desc.inputs[0],
               "inputs " + shape_string(desc.inputs[0]) + ", " + shape_string(desc.inputs[1]) + " and output " +
                   shape_string(desc.outputs[0]) + " must have one shape");
  const auto* p = desc.node.params_as_Int8Add();
  constexpr int32_t kLimit = 1 << 21;
  desc.require(std::abs(p->multiplier_a()) < kLimit && std::abs(p->multiplier_b()) < kLimit,
               "multipliers must be below 2^21 in magnitude");
  desc.require(p->shift() >= 1 && p->shift() <= 30, "shift " + std::to_string(p->shift()) + " is outside [1, 30]");
  desc.require(p->clamp_min() >= -128 && p->clamp_min() <= p->clamp_max() && p->clamp_max() <= 127,
               "clamp is not inside [-128, 127]");
}

std::vector<Dispatch> lower_int8_add(const NodeLowering& l) {
  const auto* p = l.node.params_as_Int8Add();
  const auto [channels, plane] = channels_and_plane(l.outputs[0].shape);
  return {grid_dispatch<shader::int8_add>(
      storage_words(l.outputs[0].shape, fb::DataType::Int8),
      {.C = u32(channels),
       .PLANE = u32(plane),
       .ZA = l.inputs[0].quant.zero_point,
       .ZB = l.inputs[1].quant.zero_point,
       .ZY = l.outputs[0].quant.zero_point,
       .MA = i32(p->multiplier_a()),
       .MB = i32(p->multiplier_b()),
       .SHIFT = i32(p->shift()),
       .CMIN = i32(p->clamp_min()),
       .CMAX = i32(p->clamp_max())},
      {.A_OFF = l.inputs[0].offset, .B_OFF = l.inputs[1].offset, .OUT_OFF = l.outputs[0].offset})};
}

void check_int8_global_average_pool(const NodeDesc& desc) {
  check_int8_io(desc, 1);
  const Shape& x = desc.inputs[0];
  desc.require(x.size() == 4, "input must be NCHW (rank 4), has " + shape_string(x));
  desc.require(desc.outputs[0] == Shape{x[0], x[1], 1, 1},
               "output shape " + shape_string(desc.outputs[0]) + " should be [" + std::to_string(x[0]) + "x" +
                   std::to_string(x[1]) + "x1x1]");
  // The integer sum of a plane must fit int32.
  desc.require(x[2] * x[3] <= (1 << 23), "the spatial size " + shape_string(x) + " is too large");
  const auto* p = desc.node.params_as_Int8GlobalAveragePool();
  desc.require(p->multiplier() >= 0, "multiplier is negative");
  desc.require(p->shift() >= 1 && p->shift() <= 62, "shift " + std::to_string(p->shift()) + " is outside [1, 62]");
}

std::vector<Dispatch> lower_int8_global_average_pool(const NodeLowering& l) {
  const Shape& x = l.inputs[0].shape;
  const auto* p = l.node.params_as_Int8GlobalAveragePool();
  return {grid_dispatch<shader::int8_global_avg_pool>(storage_words(l.outputs[0].shape, fb::DataType::Int8),
                                                     {.C = u32(x[1]),
                                                      .PLANE = u32(x[2] * x[3]),
                                                      .ZP_IN = l.inputs[0].quant.zero_point,
                                                      .ZP_OUT = l.outputs[0].quant.zero_point,
                                                      .MULTIPLIER = i32(p->multiplier()),
                                                      .SHIFT = i32(p->shift())},
                                                     {.IN_OFF = l.inputs[0].offset, .OUT_OFF = l.outputs[0].offset})};
}

}  // namespace

template <>
const OpKind& op_kind_of<fb::OpParams::Quantize>() {
  static const OpKind kind{.check = check_quantize, .lower = lower_quantize, .typed = true, .inputs = kOneActivation, .shapes = [](const ShapeQuery& q) { return q.same_as(0); }};
  return kind;
}

template <>
const OpKind& op_kind_of<fb::OpParams::Dequantize>() {
  static const OpKind kind{.check = check_dequantize, .lower = lower_dequantize, .typed = true, .inputs = kOneActivation, .shapes = [](const ShapeQuery& q) { return q.same_as(0); }};
  return kind;
}

template <>
const OpKind& op_kind_of<fb::OpParams::Int8Conv2D>() {
  static const OpKind kind{.check = check_int8_conv2d,
                           .lower = lower_int8_conv2d,
                           .typed = true, .inputs = {{"input X", InputRole::Activation}, {"weights W", InputRole::Weight}, {"bias", InputRole::Weight}, {"multiplier", InputRole::Weight}, {"shift", InputRole::Weight}},
                           .macs = macs_per_weight_row,
                           .shapes = int8_conv2d_shapes};
  return kind;
}

template <>
const OpKind& op_kind_of<fb::OpParams::Int8FullyConnected>() {
  static const OpKind kind{.check = check_int8_fully_connected,
                           .lower = lower_int8_fully_connected,
                           .typed = true, .inputs = {{"input X", InputRole::Activation}, {"weights W", InputRole::Weight}, {"bias", InputRole::Weight}, {"multiplier", InputRole::Weight}, {"shift", InputRole::Weight}},
                           .macs = macs_per_weight_row,
                           .shapes = fully_connected_shapes};
  return kind;
}

template <>
const OpKind& op_kind_of<fb::OpParams::Int8Add>() {
  static const OpKind kind{.check = check_int8_add, .lower = lower_int8_add, .typed = true, .inputs = {{"input A", InputRole::Activation}, {"input B", InputRole::Activation}}, .shapes = [](const ShapeQuery& q) { return std::vector<Shape>{broadcast_inputs(q)}; }};
  return kind;
}

template <>
const OpKind& op_kind_of<fb::OpParams::Int8GlobalAveragePool>() {
  static const OpKind kind{.check = check_int8_global_average_pool,
                           .lower = lower_int8_global_average_pool,
                           .typed = true, .inputs = kOneActivation,
                           .shapes = int8_global_average_pool_shapes};
  return kind;
}

std::vector<Dispatch> lower_int8_max_pool2d(const NodeLowering& l) {
  const Shape& x = l.inputs[0].shape;
  const Shape& y = l.outputs[0].shape;
  const auto* p = l.node.params_as_Pool2D();
  const ConvGeometry g = conv_geometry(*p->kernel(), *p->strides(), *p->dilations(), *p->pads(), 1);
  return {grid_dispatch<shader::int8_max_pool2d>(
      storage_words(y, fb::DataType::Int8),
      with_sizes(with_window<shader::int8_max_pool2d::Spec>({}, g), sizes_of(x, y)),
      {.IN_OFF = l.inputs[0].offset, .OUT_OFF = l.outputs[0].offset})};
}

}  // namespace vkbnn::detail
