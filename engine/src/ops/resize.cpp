// Resize of H and W (nearest or bilinear). For every output row and column the source indices
// and the weight are computed here in double precision, as ONNX's reference computes them (a
// float coordinate could land on the other side of a rounding boundary), and read by the shader
// from the weight buffer.

#include <cmath>

#include "ops/elementwise.hpp"

namespace vkbnn::detail {
namespace {

constexpr int64_t kMaxResizeLength = int64_t{1} << 24;

struct AxisTable {
  std::vector<uint32_t> indices;  // i0, i1 per output position
  std::vector<float> weights;     // of i1
};

// x_original of output position x, ONNX's definitions; `length` is scale * input length.
double source_coordinate(fb::ResizeCoordinates mode, double x, double scale, double length, int64_t in) {
  switch (mode) {
    case fb::ResizeCoordinates::HalfPixel: return (x + 0.5) / scale - 0.5;
    case fb::ResizeCoordinates::Asymmetric: return x / scale;
    case fb::ResizeCoordinates::AlignCorners:
      return length == 1 ? 0.0 : x * static_cast<double>(in - 1) / (length - 1);
    case fb::ResizeCoordinates::PytorchHalfPixel: return length == 1 ? -0.5 : (x + 0.5) / scale - 0.5;
    case fb::ResizeCoordinates::TfHalfPixelForNn: return (x + 0.5) / scale;
  }
  return 0;
}

AxisTable axis_table(const fb::Resize& p, int64_t in, int64_t out, double scale) {
  AxisTable t;
  const double length = scale * static_cast<double>(in);
  auto clamp_index = [&](double i) { return static_cast<uint32_t>(std::clamp<double>(i, 0, static_cast<double>(in - 1))); };
  for (int64_t o = 0; o < out; ++o) {
    const double x = source_coordinate(p.coordinates(), static_cast<double>(o), scale, length, in);
    const double lower = std::floor(x), frac = x - lower;
    if (p.mode() == fb::ResizeMode::Linear) {
      t.indices.push_back(clamp_index(lower));
      t.indices.push_back(clamp_index(lower + 1));
      t.weights.push_back(static_cast<float>(frac));
      continue;
    }
    double nearest = lower;
    switch (p.nearest()) {
      case fb::ResizeNearest::RoundPreferFloor: nearest = frac > 0.5 ? lower + 1 : lower; break;
      case fb::ResizeNearest::RoundPreferCeil: nearest = frac >= 0.5 ? lower + 1 : lower; break;
      case fb::ResizeNearest::Floor: nearest = lower; break;
      case fb::ResizeNearest::Ceil: nearest = frac > 0 ? lower + 1 : lower; break;
    }
    t.indices.push_back(clamp_index(nearest));
    t.indices.push_back(clamp_index(nearest));
    t.weights.push_back(0.0f);
  }
  return t;
}

double scale_of(const fb::Resize& p, size_t axis, int64_t in, int64_t out) {
  if (p.scales()) return static_cast<double>(p.scales()->Get(static_cast<flatbuffers::uoffset_t>(axis)));
  return static_cast<double>(out) / static_cast<double>(in);
}

void check_resize(const NodeDesc& desc) {
  desc.require(desc.inputs.size() == 1 && desc.outputs.size() == 1, "expects 1 input and 1 output");
  const Shape& x = desc.inputs[0];
  const Shape& y = desc.outputs[0];
  desc.require(x.size() == 4 && y.size() == 4, "resizes NCHW tensors, input is " + shape_string(x));
  desc.require(y[0] == x[0] && y[1] == x[1], "output " + shape_string(y) + " must keep N and C of " + shape_string(x));
  desc.require(y[2] <= kMaxResizeLength && y[3] <= kMaxResizeLength, "output " + shape_string(y) + " is too large");
  const auto* p = desc.node.params_as_Resize();
  desc.require(p->mode() >= fb::ResizeMode::MIN && p->mode() <= fb::ResizeMode::MAX, "unknown resize mode");
  desc.require(p->coordinates() >= fb::ResizeCoordinates::MIN && p->coordinates() <= fb::ResizeCoordinates::MAX,
               "unknown coordinate transformation");
  desc.require(p->nearest() >= fb::ResizeNearest::MIN && p->nearest() <= fb::ResizeNearest::MAX,
               "unknown nearest mode");
  if (p->scales()) {
    desc.require(p->scales()->size() == 2, "needs 2 scales (H and W), has " + std::to_string(p->scales()->size()));
    for (float s : *p->scales()) desc.require(std::isfinite(s) && s > 0, "scales must be positive and finite");
  }
}

std::vector<Dispatch> lower_resize(const NodeLowering& l) {
  const Shape& x = l.inputs[0].shape;
  const Shape& y = l.outputs[0].shape;
  const auto& p = *l.node.params_as_Resize();
  const AxisTable rows = axis_table(p, x[2], y[2], scale_of(p, 0, x[2], y[2]));
  const AxisTable cols = axis_table(p, x[3], y[3], scale_of(p, 1, x[3], y[3]));
  const uint32_t row_indices = l.weights.add_words(rows.indices), row_weights = l.weights.add(rows.weights);
  const uint32_t col_indices = l.weights.add_words(cols.indices), col_weights = l.weights.add(cols.weights);
  const size_t count = element_count(y);
  const Grid grid = grid_for(count);
  auto u32 = [](int64_t v) { return static_cast<uint32_t>(v); };
  return {make_dispatch<shader::resize>({.COUNT = u32(static_cast<int64_t>(count)),
                                         .STRIDE = grid.stride,
                                         .IH = u32(x[2]),
                                         .IW = u32(x[3]),
                                         .OH = u32(y[2]),
                                         .OW = u32(y[3])},
                                        {.IN_OFF = l.inputs[0].offset,
                                         .OUT_OFF = l.outputs[0].offset,
                                         .ROW_INDICES = row_indices,
                                         .ROW_WEIGHTS = row_weights,
                                         .COL_INDICES = col_indices,
                                         .COL_WEIGHTS = col_weights},
                                        {grid.groups, 1, 1})};
}

// With scales the output is floor(length * scale), as ONNX computes it; a Resize to sizes has a
// fixed output.
std::vector<Shape> resize_shapes(const ShapeQuery& q) {
  const auto* scales = q.desc.node.params_as_Resize()->scales();
  if (!scales) {
    if (q.inputs != q.desc.inputs)
      q.pins("it resizes to the fixed size " + shape_string(q.desc.outputs.at(0)) + " (sizes, not scales)");
    return q.desc.outputs;
  }
  Shape y = q.inputs.at(0);
  if (y.size() != 4 || scales->size() != 2) q.desc.fail("resizes H and W of NCHW tensors");
  for (size_t i = 0; i < 2; ++i) {
    const double length = std::floor(static_cast<double>(y[2 + i]) * scales->Get(static_cast<flatbuffers::uoffset_t>(i)));
    if (!(length >= 1 && length <= kMaxResizeLength))
      q.desc.fail("input " + shape_string(q.inputs[0]) + " resizes to a length outside 1 to " +
                  std::to_string(kMaxResizeLength));
    y[2 + i] = static_cast<int64_t>(length);
  }
  return {y};
}

}  // namespace

template <>
const OpKind& op_kind_of<fb::OpParams::Resize>() {
  static const OpKind kind{.check = check_resize, .lower = lower_resize, .inputs = kOneActivation, .shapes = resize_shapes};
  return kind;
}

}  // namespace vkbnn::detail
