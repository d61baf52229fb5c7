// Pool2D (max and average windows, max also on packed bits and int8) and GlobalPool (over all spatial
// positions).

#include <algorithm>

#include "ops/elementwise.hpp"

namespace vkbnn::detail {
namespace {

struct PoolAxis {
  int64_t size, kernel, stride, dilation, pad_begin, pad_end;
  int64_t extent() const { return (kernel - 1) * dilation + 1; }
};

// Kernel taps [first, last) of the window starting at `start` that land in [0, size).
std::pair<int64_t, int64_t> taps_inside(const PoolAxis& a, int64_t start) {
  int64_t first = start >= 0 ? 0 : (-start + a.dilation - 1) / a.dilation;
  int64_t last = start >= a.size ? 0 : std::min(a.kernel, (a.size - start + a.dilation - 1) / a.dilation);
  return {first, last};
}

// Checks one spatial axis: the output length is the floor- or ceil-mode one (ceil mode drops a
// last window that would start in the end padding, as ONNX and PyTorch do), and every window
// covers at least one input element, so max and average are defined.
void check_pool_axis(const NodeDesc& desc, const PoolAxis& a, int64_t out, const char* axis) {
  const std::string where = std::string(" along ") + axis;
  desc.require(a.kernel > 0 && a.stride > 0 && a.dilation > 0,
               "kernel, stride and dilation must be positive" + where);
  desc.require(a.pad_begin >= 0 && a.pad_end >= 0, "pads must not be negative" + where);
  const int64_t span = a.size + a.pad_begin + a.pad_end - a.extent();
  desc.require(span >= 0, "the window (extent " + std::to_string(a.extent()) + ") is larger than the padded input" +
                              where);
  const int64_t floor_out = span / a.stride + 1;
  int64_t ceil_out = (span + a.stride - 1) / a.stride + 1;
  if ((ceil_out - 1) * a.stride >= a.size + a.pad_begin) --ceil_out;
  desc.require(out == floor_out || out == ceil_out,
               "output length " + std::to_string(out) + where + " should be " + std::to_string(floor_out) +
                   (ceil_out != floor_out ? " (or " + std::to_string(ceil_out) + " in ceil mode)" : ""));
  for (int64_t o = 0; o < out; ++o) {
    auto [first, last] = taps_inside(a, o * a.stride - a.pad_begin);
    desc.require(first < last, "output position " + std::to_string(o) + where + " has a window entirely in padding");
  }
}

void check_pool2d(const NodeDesc& desc) {
  desc.require(desc.inputs.size() == 1 && desc.outputs.size() == 1, "expects 1 input and 1 output");
  const Shape& x = desc.inputs[0];
  const Shape& y = desc.outputs[0];
  desc.require(x.size() == 4, "input must be NCHW (rank 4), has " + shape_string(x));
  desc.require(y.size() == 4 && y[0] == x[0] && y[1] == x[1],
               "output " + shape_string(y) + " must keep the batch and channels of input " + shape_string(x));
  const auto* p = desc.node.params_as_Pool2D();
  desc.require(p->kind() >= fb::PoolKind::MIN && p->kind() <= fb::PoolKind::MAX,
               "unknown pool kind " + std::to_string(static_cast<int>(p->kind())));
  desc.require(desc.input_types[0] == desc.output_types[0], "input and output must have the same data type");
  desc.require(desc.input_types[0] == fb::DataType::Float32 || p->kind() == fb::PoolKind::Max,
               "only max pooling applies to packed bits and int8");
  desc.require(desc.input_types[0] != fb::DataType::Int8 ||
                   (desc.input_quant[0].scale == desc.output_quant[0].scale &&
                    desc.input_quant[0].zero_point == desc.output_quant[0].zero_point),
               "int8 max pooling needs the same quantization for input and output");
  desc.require(p->kernel()->size() == 2 && p->strides()->size() == 2 && p->dilations()->size() == 2 &&
                   p->pads()->size() == 4,
               "needs 2 kernel sizes, 2 strides, 2 dilations and 4 pads");
  for (int i = 0; i < 2; ++i)
    check_pool_axis(desc,
                    {x[2 + i], p->kernel()->Get(i), p->strides()->Get(i), p->dilations()->Get(i), p->pads()->Get(i),
                     p->pads()->Get(2 + i)},
                    y[2 + i], i == 0 ? "H" : "W");
}

std::vector<Dispatch> lower_pool2d(const NodeLowering& l) {
  const Shape& x = l.inputs[0].shape;
  const Shape& y = l.outputs[0].shape;
  const auto* p = l.node.params_as_Pool2D();
  const ConvGeometry g = conv_geometry(*p->kernel(), *p->strides(), *p->dilations(), *p->pads(), 1);
  const uint32_t in = l.inputs[0].offset, out = l.outputs[0].offset;
  if (l.inputs[0].type == fb::DataType::Int8) return lower_int8_max_pool2d(l);
  if (l.inputs[0].type == fb::DataType::Bit) {
    const size_t count = static_cast<size_t>(y[0] * ((y[1] + 31) / 32) * y[2] * y[3]);
    const Grid grid = grid_for(count);
    return {make_dispatch<shader::binary_max_pool2d>(
        with_sizes(with_window<shader::binary_max_pool2d::Spec>(
                       {.COUNT = u32(static_cast<int64_t>(count)), .STRIDE = grid.stride}, g),
                   sizes_of(x, y)),
        {.IN_OFF = in, .OUT_OFF = out}, {grid.groups, 1, 1})};
  }
  // The row path (pool2d.comp) covers four outputs' taps with at most kMaxBlocks aligned vec4s
  // per input row, and unrolls rows, so it is kept to small windows.
  constexpr int64_t kMaxBlocks = 4, kMaxRows = 7;
  const int64_t lead = (4 - g.pad_left % 4) % 4;
  const int64_t span = 3 * g.stride_w + (g.kernel_w - 1) * g.dilation_w + 1;
  const int64_t blocks = (lead + span + 3) / 4;
  const bool rows4 = x[3] % 4 == 0 && vec4_aligned({in}) && blocks <= kMaxBlocks && g.kernel_h <= kMaxRows;
  const size_t planes_rows = static_cast<size_t>(y[0] * y[1] * y[2]);
  const size_t count = rows4 ? planes_rows * static_cast<size_t>((y[3] + 3) / 4) : element_count(y);
  const Grid grid = grid_for(count);
  return {make_dispatch<shader::pool2d>(
      with_sizes(with_window<shader::pool2d::Spec>({.COUNT = u32(static_cast<int64_t>(count)),
                                         .STRIDE = grid.stride,
                                         .PB = i32(g.pad_bottom),
                                         .PR = i32(g.pad_right),
                                         .AVERAGE = p->kind() == fb::PoolKind::Average,
                                         .COUNT_PAD = p->count_include_pad(),
                                         .ROWS4 = rows4,
                                         .BLOCKS = u32(blocks),
                                         .LEAD = i32(lead),
                                         .OUT_VEC4 = y[3] % 4 == 0 && vec4_aligned({out})},
                                        g), sizes_of(x, y)),
      {.IN_OFF = in, .OUT_OFF = out}, {grid.groups, 1, 1})};
}

void check_global_pool(const NodeDesc& desc) {
  desc.require(desc.inputs.size() == 1 && desc.outputs.size() == 1, "expects 1 input and 1 output");
  const Shape& x = desc.inputs[0];
  desc.require(x.size() >= 3, "input must have spatial axes after N and C, has " + shape_string(x));
  Shape expected(x.size(), 1);
  expected[0] = x[0];
  expected[1] = x[1];
  desc.require(desc.outputs[0] == expected,
               "output shape " + shape_string(desc.outputs[0]) + " should be " + shape_string(expected));
  const auto kind = desc.node.params_as_GlobalPool()->kind();
  desc.require(kind >= fb::PoolKind::MIN && kind <= fb::PoolKind::MAX,
               "unknown pool kind " + std::to_string(static_cast<int>(kind)));
}

std::vector<Dispatch> lower_global_pool(const NodeLowering& l) {
  const Shape& x = l.inputs[0].shape;
  const auto channels = static_cast<uint32_t>(x[0] * x[1]);
  const auto size = static_cast<uint32_t>(element_count(x) / channels);
  const uint32_t in = l.inputs[0].offset;
  const bool vec4 = size % 4 == 0 && vec4_aligned({in});
  const Grid grid = grid_for(channels);
  return {make_dispatch<shader::global_pool>(
      {.PLANES = channels,
       .STRIDE = grid.stride,
       .SIZE = size,
       .VEC4 = vec4,
       .AVERAGE = l.node.params_as_GlobalPool()->kind() == fb::PoolKind::Average},
      {.IN_OFF = in, .OUT_OFF = l.outputs[0].offset}, {grid.groups, 1, 1})};
}

// Floor or ceil mode as the model records it (Pool2D.ceil_mode, since format 1.6).
std::vector<Shape> pool2d_shapes(const ShapeQuery& q) {
  const auto* p = q.desc.node.params_as_Pool2D();
  const ConvGeometry g = conv_geometry(*p->kernel(), *p->strides(), *p->dilations(), *p->pads(), 1);
  Shape y = conv_output_shape(q, g, q.inputs.at(0).at(1));
  if (p->ceil_mode()) {
    const Shape& x = q.inputs[0];
    const std::array<PoolAxis, 2> axes{PoolAxis{x[2], g.kernel_h, g.stride_h, g.dilation_h, g.pad_top, g.pad_bottom},
                                       PoolAxis{x[3], g.kernel_w, g.stride_w, g.dilation_w, g.pad_left, g.pad_right}};
    for (size_t i = 0; i < 2; ++i) {
      const PoolAxis& a = axes[i];
      int64_t ceil_out = (a.size + a.pad_begin + a.pad_end - a.extent() + a.stride - 1) / a.stride + 1;
      if ((ceil_out - 1) * a.stride >= a.size + a.pad_begin) --ceil_out;
      y[2 + i] = std::max(y[2 + i], ceil_out);
    }
  }
  return {y};
}

std::vector<Shape> global_pool_shapes(const ShapeQuery& q) {
  Shape y(q.inputs.at(0).size(), 1);
  if (y.size() < 3) q.desc.fail("input must have spatial axes after N and C");
  y[0] = q.inputs[0][0];
  y[1] = q.inputs[0][1];
  return {y};
}

}  // namespace

template <>
const OpKind& op_kind_of<fb::OpParams::Pool2D>() {
  static const OpKind kind{.check = check_pool2d, .lower = lower_pool2d, .typed = true, .inputs = kOneActivation, .shapes = pool2d_shapes};
  return kind;
}

template <>
const OpKind& op_kind_of<fb::OpParams::GlobalPool>() {
  static const OpKind kind{.check = check_global_pool, .lower = lower_global_pool, .inputs = kOneActivation, .shapes = global_pool_shapes};
  return kind;
}

}  // namespace vkbnn::detail
