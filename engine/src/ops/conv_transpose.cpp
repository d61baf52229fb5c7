// ConvTranspose2D: grouped, strided, dilated transposed convolution of NCHW tensors with a fused
// activation, on conv_transpose2d.comp.

#include "ops/elementwise.hpp"

namespace vkbnn::detail {
namespace {

ConvGeometry params_of(const fb::ConvTranspose2D& p) {
  return conv_geometry(*p.kernel(), *p.strides(), *p.dilations(), *p.pads(), p.group());
}

void check_conv_transpose2d(const NodeDesc& desc) {
  check_data_weights_bias(desc);
  const Shape& x = desc.inputs[0];
  const Shape& w = desc.inputs[1];
  const Shape& y = desc.outputs[0];
  const auto* p = desc.node.params_as_ConvTranspose2D();
  const ConvGeometry c = params_of(*p);
  desc.require(x.size() == 4, "input must be NCHW (rank 4), has " + shape_string(x));
  desc.require(w.size() == 4, "weights must be [C, M/group, kH, kW], have " + shape_string(w));
  desc.require(y.size() == 4, "output must be NCHW (rank 4), has " + shape_string(y));
  desc.require(c.kernel_h > 0 && c.kernel_w > 0, "needs 2 positive kernel sizes, 2 strides, 2 dilations and 4 pads");
  desc.require(c.stride_h > 0 && c.stride_w > 0, "strides must be positive");
  desc.require(c.dilation_h > 0 && c.dilation_w > 0, "dilations must be positive");
  desc.require(c.pad_top >= 0 && c.pad_left >= 0, "the top and left pads must not be negative");
  // Bounds that keep the shader's int arithmetic and the output length below far from overflow.
  desc.require(c.kernel_h * c.kernel_w <= 1024 && (c.kernel_h - 1) * c.dilation_h < 65536 &&
                   (c.kernel_w - 1) * c.dilation_w < 65536 && c.stride_h < 65536 && c.stride_w < 65536 &&
                   c.pad_top < 65536 && c.pad_left < 65536 && c.pad_bottom < 65536 && c.pad_right < 65536 &&
                   c.pad_bottom > -65536 && c.pad_right > -65536,
               "kernel, stride, dilation or pads are implausibly large");
  desc.require(c.group > 0, "group must be positive, is " + std::to_string(c.group));
  desc.require(x[1] == w[0], "weights " + shape_string(w) + " need as many input channels as the input " +
                                 shape_string(x) + " (" + std::to_string(x[1]) + ")");
  desc.require(x[1] % c.group == 0, "group " + std::to_string(c.group) + " does not divide the " +
                                        std::to_string(x[1]) + " input channels");
  desc.require(w[2] == c.kernel_h && w[3] == c.kernel_w,
               "weights " + shape_string(w) + " do not match the kernel " + std::to_string(c.kernel_h) + "x" +
                   std::to_string(c.kernel_w));
  desc.require(element_count(x) <= kMaxTensorElements &&
                   element_count(w) <= kMaxTensorElements &&
                   x[2] < 65536 && x[3] < 65536,
               "the input or the weights are too large");
  const int64_t out_h = (x[2] - 1) * c.stride_h + (c.kernel_h - 1) * c.dilation_h + 1 - c.pad_top - c.pad_bottom;
  const int64_t out_w = (x[3] - 1) * c.stride_w + (c.kernel_w - 1) * c.dilation_w + 1 - c.pad_left - c.pad_right;
  desc.require(out_h > 0 && out_w > 0, "the pads crop the whole output of input " + shape_string(x));
  const Shape expected{x[0], w[1] * c.group, out_h, out_w};
  desc.require(y == expected, "output shape " + shape_string(y) + " should be " + shape_string(expected));
  desc.require(element_count(y) <= kMaxTensorElements,
               "tensors of more than 2^31 - 1 elements are not supported");
  if (desc.inputs.size() == 3)
    desc.require(desc.inputs[2] == Shape{y[1]}, "bias " + shape_string(desc.inputs[2]) + " should be " +
                                                    std::to_string(y[1]));
  check_activation_params(desc, p->activation());
}

std::vector<Dispatch> lower_conv_transpose2d(const NodeLowering& l) {
  const Shape& x = l.inputs[0].shape;
  const Shape& y = l.outputs[0].shape;
  const auto* p = l.node.params_as_ConvTranspose2D();
  const ConvGeometry c = params_of(*p);
  const std::span<const float> weights = *l.constants[1];
  const int64_t icg = x[1] / c.group, ocg = y[1] / c.group, taps = c.kernel_h * c.kernel_w;
  // ONNX's [C][OCG][taps] to [M][ICG][taps]: channel c = g * ICG + ic feeds m = g * OCG + oc.
  std::vector<float> packed(weights.size());
  for (int64_t g = 0; g < c.group; ++g)
    for (int64_t ic = 0; ic < icg; ++ic)
      for (int64_t oc = 0; oc < ocg; ++oc)
        for (int64_t t = 0; t < taps; ++t)
          packed[static_cast<size_t>(((g * ocg + oc) * icg + ic) * taps + t)] =
              weights[static_cast<size_t>(((g * icg + ic) * ocg + oc) * taps + t)];
  const uint32_t weight_offset = l.weights.add(packed);
  const bool has_bias = l.constants.size() > 2;
  const uint32_t bias_offset = has_bias ? l.weights.add(*l.constants[2]) : 0;
  const size_t count = element_count(y);
  const Grid grid = grid_for(count);
  const auto act = activation_spec(p->activation());
  return {make_dispatch<shader::conv_transpose2d>(
      with_sizes(with_window<shader::conv_transpose2d::Spec>({.COUNT = u32(static_cast<int64_t>(count)),
                                                   .STRIDE = grid.stride,
                                                   .HAS_BIAS = has_bias,
                                                   .ICG = u32(icg),
                                                   .OCG = u32(ocg),
                                                   .ACT_KIND = act.kind,
                                                   .ACT_ALPHA = act.alpha,
                                                   .ACT_BETA = act.beta},
                                                  c), sizes_of(x, y)),
      {.IN_OFF = l.inputs[0].offset, .OUT_OFF = l.outputs[0].offset, .WT_OFF = weight_offset, .BIAS_OFF = bias_offset},
      {grid.groups, 1, 1})};
}

// Every input element meets each weight of its channel's row once (taps landing outside the
// output included, as ONNX counts the full transposed convolution).
uint64_t macs_of(const NodeDesc& desc) {
  const Shape& w = desc.inputs.at(1);
  return static_cast<uint64_t>(element_count(desc.inputs.at(0))) * (element_count(w) / static_cast<uint64_t>(w.at(0)));
}

std::vector<Shape> shapes_of(const ShapeQuery& q) {
  const Shape& x = q.inputs.at(0);
  if (x.size() != 4) q.desc.fail("input must be NCHW (rank 4), has " + shape_string(x));
  const ConvGeometry c = params_of(*q.desc.node.params_as_ConvTranspose2D());
  auto length = [](int64_t in, int64_t k, int64_t s, int64_t d, int64_t begin, int64_t end) {
    return (in - 1) * s + (k - 1) * d + 1 - begin - end;
  };
  const int64_t h = length(x[2], c.kernel_h, c.stride_h, c.dilation_h, c.pad_top, c.pad_bottom);
  const int64_t w = length(x[3], c.kernel_w, c.stride_w, c.dilation_w, c.pad_left, c.pad_right);
  if (h < 1 || w < 1) q.desc.fail("input " + shape_string(x) + " is too small for the pads it crops");
  return {{x[0], q.desc.outputs.at(0).at(1), h, w}};
}

}  // namespace

template <>
const OpKind& op_kind_of<fb::OpParams::ConvTranspose2D>() {
  static const OpKind kind{
      .check = check_conv_transpose2d, .lower = lower_conv_transpose2d, .inputs = kDataWeightsBias, .macs = macs_of, .shapes = shapes_of};
  return kind;
}

}  // namespace vkbnn::detail
