// Where: the element-wise selection C ? X : Y with all three operands broadcast numpy's way, on
// where.comp. Unlike Binary's operand B, any of them may repeat along any axes: masks (a [N, 1,
// 1, L] attention mask over [N, H, L, L] scores) and fill values broadcast in every direction.

#include <array>

#include "ops/elementwise.hpp"

namespace vkbnn::detail {
namespace {

constexpr size_t kMaxWhereRank = 6;

void check_where(const NodeDesc& desc) {
  desc.require(desc.inputs.size() == 3 && desc.outputs.size() == 1,
               "expects inputs Condition, X, Y and 1 output, has " + std::to_string(desc.inputs.size()) + " inputs");
  const Shape& out = desc.outputs[0];
  desc.require(!out.empty() && out.size() <= kMaxWhereRank, "supports output ranks 1 to 6, has " + shape_string(out));
  Shape broadcast(out.size(), 1);
  for (size_t k = 0; k < 3; ++k) {
    const Shape& in = desc.inputs[k];
    desc.require(in.size() <= out.size(), "input " + std::to_string(k) + " " + shape_string(in) +
                                              " has more axes than the output " + shape_string(out));
    const size_t lead = out.size() - in.size();
    for (size_t d = 0; d < in.size(); ++d) {
      desc.require(in[d] == 1 || in[d] == out[lead + d], "input " + std::to_string(k) + " " + shape_string(in) +
                                                               " does not broadcast onto the output " +
                                                               shape_string(out));
      if (in[d] != 1) broadcast[lead + d] = in[d];
    }
  }
  desc.require(broadcast == out, "output shape " + shape_string(out) + " should be the inputs' broadcast " +
                                     shape_string(broadcast));
}

std::vector<Dispatch> lower_where(const NodeLowering& l) {
  const Shape& out = l.outputs[0].shape;
  const size_t lead = kMaxWhereRank - out.size();
  std::array<uint32_t, kMaxWhereRank> o{1, 1, 1, 1, 1, 1};
  for (size_t d = 0; d < out.size(); ++d) o[lead + d] = u32(out[d]);
  // Bit d: the operand has length 1 on axis d of the rank-6 view where the output does not.
  std::array<uint32_t, 3> bcast{};
  std::array<Operand, 3> operands;
  for (size_t k = 0; k < 3; ++k) {
    const Shape& in = l.inputs[k].shape;
    const size_t in_lead = kMaxWhereRank - in.size();
    for (size_t d = 0; d < kMaxWhereRank; ++d) {
      const int64_t length = d < in_lead ? 1 : in[d - in_lead];
      if (length == 1 && o[d] != 1) bcast[k] |= 1u << d;
    }
    operands[k] = place_operand(l, k);
  }
  const size_t count = element_count(out);
  const Grid grid = grid_for(count);
  return {make_dispatch<shader::where>({.COUNT = u32(static_cast<int64_t>(count)),
                                        .STRIDE = grid.stride,
                                        .O0 = o[0],
                                        .O1 = o[1],
                                        .O2 = o[2],
                                        .O3 = o[3],
                                        .O4 = o[4],
                                        .O5 = o[5],
                                        .C_BCAST = bcast[0],
                                        .X_BCAST = bcast[1],
                                        .Y_BCAST = bcast[2],
                                        .C_IN_WEIGHTS = operands[0].in_weights,
                                        .X_IN_WEIGHTS = operands[1].in_weights,
                                        .Y_IN_WEIGHTS = operands[2].in_weights},
                                       {.C_OFF = operands[0].offset,
                                        .X_OFF = operands[1].offset,
                                        .Y_OFF = operands[2].offset,
                                        .OUT_OFF = l.outputs[0].offset},
                                       {grid.groups, 1, 1})};
}

}  // namespace

template <>
const OpKind& op_kind_of<fb::OpParams::Where>() {
  static const OpKind kind{.check = check_where,
                           .lower = lower_where,
                           .inputs = {{"condition"}, {"input X"}, {"input Y"}},
                           .shapes = [](const ShapeQuery& q) { return std::vector<Shape>{broadcast_inputs(q)}; }};
  return kind;
}

}  // namespace vkbnn::detail
