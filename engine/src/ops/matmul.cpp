// MatMul: batched matrix products whose operands are both computed (attention's Q x K^T and
// softmax x V) or constant tensors of more than two axes; the leading axes broadcast. Constants
// larger than one buffer binding split the work along the output's leading batch axis.

#include <algorithm>

#include "ops/elementwise.hpp"

namespace vkbnn::detail {
namespace {

constexpr size_t kMaxBatchAxes = 4;

// The operand's batch axes right-aligned to `rank` batch axes, 1 where it has none.
Shape batch_axes(const Shape& operand, size_t rank) {
  Shape batch(rank, 1);
  const size_t own = operand.size() - 2;
  for (size_t d = 0; d < own; ++d) batch[rank - own + d] = operand[d];
  return batch;
}

void check_matmul(const NodeDesc& desc) {
  desc.require(desc.inputs.size() == 2 && desc.outputs.size() == 1, "expects inputs A and B and 1 output");
  const Shape& a = desc.inputs[0];
  const Shape& b = desc.inputs[1];
  const Shape& y = desc.outputs[0];
  desc.require(a.size() >= 2 && b.size() >= 2 && a.size() <= kMaxBatchAxes + 2 && b.size() <= kMaxBatchAxes + 2,
               "operands need 2 to 6 axes, have " + shape_string(a) + " and " + shape_string(b));
  desc.require(a[a.size() - 1] == b[b.size() - 2],
               "A " + shape_string(a) + " and B " + shape_string(b) + " disagree on the inner length");
  const size_t rank = std::max(a.size(), b.size()) - 2;
  const Shape ba = batch_axes(a, rank), bb = batch_axes(b, rank);
  Shape expected;
  for (size_t d = 0; d < rank; ++d) {
    desc.require(ba[d] == bb[d] || ba[d] == 1 || bb[d] == 1,
                 "the batch axes of A " + shape_string(a) + " and B " + shape_string(b) + " do not broadcast");
    expected.push_back(std::max(ba[d], bb[d]));
  }
  expected.push_back(a[a.size() - 2]);
  expected.push_back(b[b.size() - 1]);
  desc.require(y == expected, "output shape " + shape_string(y) + " should be " + shape_string(expected));
  // The shader indexes both operands with 32-bit words.
  desc.require(element_count(a) <= kMaxTensorElements &&
                   element_count(b) <= kMaxTensorElements &&
                   element_count(y) <= kMaxTensorElements,
               "tensors of more than 2^31 - 1 elements are not supported");
}

// Rows of the R x 4 tile one item of matmul.comp computes, split evenly over M. Measured on
// lavapipe (2 cores, AVX2, under load), ViT-B's attention at 197 tokens, 12 heads: Q x K^T
// [12, 197, 64] x [12, 64, 197] took 1150 ms one element per item (the shader before the tiles),
// 69 ms at R = 1, 41-43 ms at 2 and 4, 20 ms at 8; softmax x V [12, 197, 197] x [12, 197, 64]
// 1070 ms, 44, 39, 30 and 33 ms. A GPU thread keeps 4 x 4 in registers.
int64_t matmul_rows(int64_t m, const DeviceInfo& device) {
  const int64_t rmax = device.cpu_vector_registers ? 8 : 4;
  return ceil_div(m, ceil_div(m, rmax));
}

std::vector<Dispatch> lower_matmul(const NodeLowering& l) {
  const Shape& a = l.inputs[0].shape;
  const Shape& b = l.inputs[1].shape;
  const Shape& y = l.outputs[0].shape;
  const size_t rank = y.size() - 2;
  const Shape ba = batch_axes(a, rank), bb = batch_axes(b, rank);
  // Batch axes padded to 4 in front; an operand's stride (in matrices) is 0 where it broadcasts.
  std::array<uint32_t, kMaxBatchAxes> out{1, 1, 1, 1}, sa{0, 0, 0, 0}, sb{0, 0, 0, 0};
  uint32_t step_a = 1, step_b = 1;
  for (size_t d = rank; d-- > 0;) {
    const size_t k = kMaxBatchAxes - rank + d;
    out[k] = u32(y[d]);
    sa[k] = ba[d] == 1 ? 0 : step_a;
    sb[k] = bb[d] == 1 ? 0 : step_b;
    step_a *= u32(ba[d]);
    step_b *= u32(bb[d]);
  }
  const int64_t m = a[a.size() - 2], k = a.back(), n = b.back();
  const int64_t r = matmul_rows(m, l.device);
  const size_t tiles = static_cast<size_t>(ceil_div(m, r) * ceil_div(n, 4));
  const size_t batches = element_count(y) / static_cast<size_t>(m * n);
  auto dispatch = [&](const Operand& pa, const Operand& pb, size_t items, uint32_t out_offset) {
    const Grid grid = grid_for(items);
    return make_dispatch<shader::matmul>({.COUNT = u32(static_cast<int64_t>(items)),
                                          .STRIDE = grid.stride,
                                          .A_IN_WEIGHTS = pa.in_weights,
                                          .B_IN_WEIGHTS = pb.in_weights,
                                          .M = u32(m),
                                          .K = u32(k),
                                          .N = u32(n),
                                          .O1 = out[1],
                                          .O2 = out[2],
                                          .O3 = out[3],
                                          .SA0 = sa[0],
                                          .SA1 = sa[1],
                                          .SA2 = sa[2],
                                          .SA3 = sa[3],
                                          .SB0 = sb[0],
                                          .SB1 = sb[1],
                                          .SB2 = sb[2],
                                          .SB3 = sb[3],
                                          .R = u32(r),
                                          .A_VEC4 = k % 4 == 0 && vec4_aligned({pa.offset}),
                                          .B_VEC4 = n % 4 == 0 && vec4_aligned({pb.offset})},
                                         {.A_OFF = pa.offset, .B_OFF = pb.offset, .OUT_OFF = out_offset},
                                         {grid.groups, 1, 1});
  };
  // A constant operand goes to the weights. Where the constants exceed one buffer binding, the
  // work splits along Y's leading batch axis into runs whose constant matrices fit one weight
  // page each; an operand broadcast along that axis needs all of its matrices in every run.
  const std::array<const Shape*, 2> operand_batch{&ba, &bb};
  auto words_per_run = [&](size_t input, int64_t count) -> uint64_t {
    if (!l.constants[input]) return 0;
    const uint64_t total = element_count(l.inputs[input].shape);
    const int64_t along = rank ? (*operand_batch[input])[0] : 1;
    return WeightPacker::footprint(along == 1 ? total : total / static_cast<uint64_t>(along) * static_cast<uint64_t>(count));
  };
  const int64_t length = rank ? y[0] : 1;
  auto words_for = [&](int64_t count) { return words_per_run(0, count) + words_per_run(1, count); };
  if (words_for(length) <= l.weights.page_words())
    return {dispatch(place_operand(l, 0), place_operand(l, 1), batches * tiles, l.outputs[0].offset)};

  int64_t run = std::min<int64_t>(length, static_cast<int64_t>(l.weights.page_words() / std::max<uint64_t>(words_for(1), 1)));
  while (run > 0 && words_for(run) > l.weights.page_words()) --run;
  if (run == 0)
    throw MemoryLimitError("its constant operands take " + std::to_string(words_for(1) * 4) +
                           " bytes per index of the output's leading batch axis, more than one buffer binding may span");
  const uint64_t y_per_index = element_count(y) / static_cast<uint64_t>(length);
  std::vector<Dispatch> dispatches;
  for (int64_t first = 0; first < length; first += run) {
    const int64_t count = std::min(run, length - first);
    const uint32_t page = l.weights.reserve(words_for(count));
    std::array<Operand, 2> operands;
    for (size_t input = 0; input < 2; ++input) {
      const int64_t along = (*operand_batch[input])[0];
      const uint64_t per_index = along == 1 ? 0 : element_count(l.inputs[input].shape) / static_cast<uint64_t>(along);
      const auto begin = static_cast<size_t>(per_index * static_cast<uint64_t>(first));
      if (const auto& data = l.constants[input]) {
        const size_t size = along == 1 ? data->size() : static_cast<size_t>(per_index * static_cast<uint64_t>(count));
        operands[input] = {l.weights.add(data->subspan(begin, size)), true};
      } else {
        operands[input] = {l.inputs[input].offset + static_cast<uint32_t>(begin), false};
      }
    }
    const uint64_t begin = l.outputs[0].offset + y_per_index * static_cast<uint64_t>(first);
    const WordRange part = output_part(l, begin, begin + y_per_index * static_cast<uint64_t>(count));
    // The offsets move to the run's start, from which the shader's coordinate along the leading
    // axis counts; it stays below the axis length, so the batch constants stay those of Y.
    dispatches.push_back(dispatch(operands[0], operands[1],
                                  static_cast<size_t>(count) * (batches / static_cast<size_t>(length)) * tiles,
                                  static_cast<uint32_t>(begin - part.begin)));
    dispatches.back().weight_page = page;
    dispatches.back().written = part;
  }
  return dispatches;
}

// One product per output element and inner index.
uint64_t macs_of(const NodeDesc& desc) {
  const Shape& a = desc.inputs.at(0);
  return static_cast<uint64_t>(element_count(desc.outputs.at(0))) * static_cast<uint64_t>(a.back());
}

}  // namespace

template <>
const OpKind& op_kind_of<fb::OpParams::MatMul>() {
  static const OpKind kind{.check = check_matmul, .lower = lower_matmul, .macs = macs_of, .shapes = [](const ShapeQuery& q) {
                             const Shape& a = q.inputs.at(0);
                             const Shape& b = q.inputs.at(1);
                             if (a.size() < 2 || b.size() < 2) q.desc.fail("operands need 2 axes or more");
                             if (a.back() != b[b.size() - 2]) q.desc.fail("A " + shape_string(a) + " and B " + shape_string(b) + " no longer agree on the inner length");
                             const size_t rank = std::max(a.size(), b.size()) - 2;
                             const Shape ba = batch_axes(a, rank), bb = batch_axes(b, rank);
                             Shape y;
                             for (size_t d = 0; d < rank; ++d) {
                               if (ba[d] != bb[d] && ba[d] != 1 && bb[d] != 1) q.desc.fail("the batch axes of A " + shape_string(a) + " and B " + shape_string(b) + " no longer broadcast");
                               y.push_back(std::max(ba[d], bb[d]));
                             }
                             y.push_back(a[a.size() - 2]);
                             y.push_back(b.back());
                             return std::vector<Shape>{y};
                           }};
  return kind;
}

}  // namespace vkbnn::detail
