// Pad with a constant, by reflection, or by repeating the edge; rank up to 4, pads >= 0.

#include <cmath>

#include "ops/elementwise.hpp"

namespace vkbnn::detail {
namespace {

constexpr size_t kMaxPadRank = 4;

void check_pad(const NodeDesc& desc) {
  desc.require(desc.inputs.size() == 1 && desc.outputs.size() == 1, "expects 1 input and 1 output");
  const Shape& x = desc.inputs[0];
  const size_t rank = x.size();
  desc.require(rank >= 1 && rank <= kMaxPadRank, "supports ranks 1 to 4, input is " + shape_string(x));
  const auto* p = desc.node.params_as_Pad();
  desc.require(p->mode() >= fb::PadMode::MIN && p->mode() <= fb::PadMode::MAX,
               "unknown pad mode " + std::to_string(static_cast<int>(p->mode())));
  desc.require(p->pads()->size() == 2 * rank, "needs " + std::to_string(2 * rank) + " pads for rank " +
                                                  std::to_string(rank) + ", has " + std::to_string(p->pads()->size()));
  const Shape& y = desc.outputs[0];
  desc.require(y.size() == rank, "output " + shape_string(y) + " must have the input's rank " + std::to_string(rank));
  for (size_t d = 0; d < rank; ++d) {
    const int64_t begin = p->pads()->Get(static_cast<flatbuffers::uoffset_t>(d));
    const int64_t end = p->pads()->Get(static_cast<flatbuffers::uoffset_t>(rank + d));
    desc.require(begin >= 0 && end >= 0, "negative pads (cropping) are not supported");
    // Bounding each pad by the output length first keeps the sum below from overflowing.
    desc.require(begin <= y[d] && end <= y[d], "pads on axis " + std::to_string(d) + " exceed the output length");
    desc.require(x[d] + begin + end == y[d], "output shape " + shape_string(y) + " is not input " + shape_string(x) +
                                                 " plus the pads on axis " + std::to_string(d));
    if (p->mode() == fb::PadMode::Reflect)
      desc.require(begin < x[d] && end < x[d], "reflect pads on axis " + std::to_string(d) +
                                                   " must be smaller than the axis length " + std::to_string(x[d]));
  }
  desc.require(p->mode() != fb::PadMode::Constant || !std::isnan(p->value()), "the pad value is NaN");
}

std::vector<Dispatch> lower_pad(const NodeLowering& l) {
  const Shape& x = l.inputs[0].shape;
  const Shape& y = l.outputs[0].shape;
  const auto* p = l.node.params_as_Pad();
  // Leading axes of length 1 and no padding bring every tensor to rank 4.
  const size_t lead = kMaxPadRank - x.size();
  std::array<uint32_t, kMaxPadRank> out_dims{1, 1, 1, 1}, in_dims{1, 1, 1, 1}, begins{0, 0, 0, 0};
  for (size_t d = 0; d < x.size(); ++d) {
    out_dims[lead + d] = static_cast<uint32_t>(y[d]);
    in_dims[lead + d] = static_cast<uint32_t>(x[d]);
    begins[lead + d] = static_cast<uint32_t>(p->pads()->Get(static_cast<flatbuffers::uoffset_t>(d)));
  }
  const size_t count = element_count(y);
  const Grid grid = grid_for(count);
  auto i32 = [](uint32_t v) { return static_cast<int32_t>(v); };
  return {make_dispatch<shader::pad>({.COUNT = static_cast<uint32_t>(count),
                                      .STRIDE = grid.stride,
                                      .O0 = out_dims[0],
                                      .O1 = out_dims[1],
                                      .O2 = out_dims[2],
                                      .O3 = out_dims[3],
                                      .I0 = i32(in_dims[0]),
                                      .I1 = i32(in_dims[1]),
                                      .I2 = i32(in_dims[2]),
                                      .I3 = i32(in_dims[3]),
                                      .P0 = i32(begins[0]),
                                      .P1 = i32(begins[1]),
                                      .P2 = i32(begins[2]),
                                      .P3 = i32(begins[3]),
                                      .MODE = static_cast<uint32_t>(p->mode()),
                                      .VALUE = p->value()},
                                     {.IN_OFF = l.inputs[0].offset, .OUT_OFF = l.outputs[0].offset},
                                     {grid.groups, 1, 1})};
}

}  // namespace

template <>
const OpKind& op_kind_of<fb::OpParams::Pad>() {
  static const OpKind kind{.check = check_pad, .lower = lower_pad, .inputs = kOneActivation, .shapes = [](const ShapeQuery& q) {
                             const auto& pads = *q.desc.node.params_as_Pad()->pads();
                             Shape y = q.inputs.at(0);
                             if (pads.size() != 2 * y.size()) q.desc.fail("needs a begin and end pad per axis");
                             // The loaded model bounds each pad by its output length, so the sums stay small.
                             for (size_t d = 0; d < y.size(); ++d)
                               y[d] += pads.Get(static_cast<flatbuffers::uoffset_t>(d)) +
                                       pads.Get(static_cast<flatbuffers::uoffset_t>(y.size() + d));
                             return std::vector<Shape>{y};
                           }};
  return kind;
}

}  // namespace vkbnn::detail
