#include <map>

#include "lowering/lowerer.hpp"

namespace vkbnn::convert::detail {
namespace {

// Resize (opset 10: asymmetric coordinates; 11 on: every transformation but tf_crop_and_resize)
// and Upsample (asymmetric, nearest rounding down), of H and W of an NCHW tensor.
void resize(Lowerer& l, const onnx::NodeProto& node) {
  const std::string& x = l.activation(node, 0);
  const Shape& in = l.shape(x);
  const Shape& out = l.shape(node.output(0));
  if (in.size() != 4) l.fail(node, "a resize of a tensor that is not NCHW");
  const bool upsample = node.op_type() == "Upsample";
  const bool legacy = upsample || l.g.opset < 11;
  std::vector<float> scales;
  if (upsample && l.g.opset < 9) {
    const auto* a = find_attr(node, "scales");
    if (a) scales.assign(a->floats().begin(), a->floats().end());
  } else {
    const int scales_k = legacy ? 1 : 2;
    if (l.has(node, scales_k)) scales = l.require_constant(node, scales_k, "scales").floats();
    if (!legacy && l.has(node, 3)) l.require_constant(node, 3, "sizes");
  }
  if (!legacy && l.has(node, 1) && !l.constant(node, 1)) l.fail(node, "a computed roi");
  if (!scales.empty() && scales.size() != 4) l.fail(node, std::to_string(scales.size()) + " scales for a rank-4 input");
  if (out[0] != in[0] || out[1] != in[1] || (!scales.empty() && (scales[0] != 1 || scales[1] != 1)))
    l.fail(node, "resizing N or C (only H and W are resized)");
  if (attr_ints(node, "axes").size()) l.fail(node, "the axes attribute");
  if (attr_string(node, "keep_aspect_ratio_policy", "stretch") != "stretch") l.fail(node, "keep_aspect_ratio_policy");
  if (attr_int(node, "antialias", 0) != 0) l.fail(node, "antialias=1");
  auto& op = l.add_op<fb::ResizeT>(l.op_name(node), {x}, node.output(0));
  if (!scales.empty()) op.scales = {scales[2], scales[3]};
  const std::string mode = attr_string(node, "mode", "nearest");
  if (mode == "linear" || mode == "bilinear")
    op.mode = fb::ResizeMode::Linear;
  else if (mode != "nearest")
    l.fail(node, "mode=" + mode);
  if (legacy) {
    op.coordinates = fb::ResizeCoordinates::Asymmetric;
    op.nearest = fb::ResizeNearest::Floor;
    return;
  }
  const std::string transform = attr_string(node, "coordinate_transformation_mode", "half_pixel");
  const std::map<std::string, fb::ResizeCoordinates> transforms{
      {"half_pixel", fb::ResizeCoordinates::HalfPixel},
      {"asymmetric", fb::ResizeCoordinates::Asymmetric},
      {"align_corners", fb::ResizeCoordinates::AlignCorners},
      {"pytorch_half_pixel", fb::ResizeCoordinates::PytorchHalfPixel},
      {"tf_half_pixel_for_nn", fb::ResizeCoordinates::TfHalfPixelForNn}};
  auto t = transforms.find(transform);
  if (t == transforms.end()) l.fail(node, "coordinate_transformation_mode=" + transform);
  op.coordinates = t->second;
  const std::string nearest = attr_string(node, "nearest_mode", "round_prefer_floor");
  const std::map<std::string, fb::ResizeNearest> nearest_modes{
      {"round_prefer_floor", fb::ResizeNearest::RoundPreferFloor},
      {"round_prefer_ceil", fb::ResizeNearest::RoundPreferCeil},
      {"floor", fb::ResizeNearest::Floor},
      {"ceil", fb::ResizeNearest::Ceil}};
  auto n = nearest_modes.find(nearest);
  if (n == nearest_modes.end()) l.fail(node, "nearest_mode=" + nearest);
  op.nearest = n->second;
}

}  // namespace

void register_resize_lowerings(LoweringTable& table) {
  table.add({"Resize", "Upsample"}, resize,
            "of H and W: nearest with every nearest_mode, bilinear, every coordinate_transformation_mode but "
            "tf_crop_and_resize, by scales or sizes");
}

}  // namespace vkbnn::convert::detail
