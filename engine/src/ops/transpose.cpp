// Transpose: any permutation of up to 6 axes; Slice: start and step on each of up to 6 axes.

#include <algorithm>
#include <numeric>

#include "ops/elementwise.hpp"

namespace vkbnn::detail {
namespace {

constexpr size_t kMaxTransposeRank = 6;
using Dims = std::array<uint32_t, kMaxTransposeRank>;

// strided_copy.comp: output element c (coordinates out_dims) reads input element
// base + sum c_d * strides_d.
Dispatch strided_copy(const NodeLowering& l, size_t count, const Dims& out_dims, const Dims& strides, uint32_t base) {
  const Grid grid = grid_for(count);
  return make_dispatch<shader::strided_copy>({.COUNT = static_cast<uint32_t>(count),
                                              .STRIDE = grid.stride,
                                              .O0 = out_dims[0],
                                              .O1 = out_dims[1],
                                              .O2 = out_dims[2],
                                              .O3 = out_dims[3],
                                              .O4 = out_dims[4],
                                              .O5 = out_dims[5],
                                              .S0 = strides[0],
                                              .S1 = strides[1],
                                              .S2 = strides[2],
                                              .S3 = strides[3],
                                              .S4 = strides[4],
                                              .S5 = strides[5],
                                              .BASE = base},
                                             {.IN_OFF = l.inputs[0].offset, .OUT_OFF = l.outputs[0].offset},
                                             {grid.groups, 1, 1});
}

void check_transpose(const NodeDesc& desc) {
  desc.require(desc.inputs.size() == 1 && desc.outputs.size() == 1, "expects 1 input and 1 output");
  const Shape& x = desc.inputs[0];
  const size_t rank = x.size();
  desc.require(rank >= 1 && rank <= kMaxTransposeRank, "supports ranks 1 to 6, input is " + shape_string(x));
  const auto* perm = desc.node.params_as_Transpose()->perm();
  desc.require(perm->size() == rank, "perm has " + std::to_string(perm->size()) + " axes for an input of rank " +
                                         std::to_string(rank));
  std::vector<bool> seen(rank, false);
  Shape expected;
  for (int32_t p : *perm) {
    desc.require(p >= 0 && static_cast<size_t>(p) < rank && !seen[static_cast<size_t>(p)],
                 "perm is not a permutation of the input's axes");
    seen[static_cast<size_t>(p)] = true;
    expected.push_back(x[static_cast<size_t>(p)]);
  }
  desc.require(desc.outputs[0] == expected, "output shape " + shape_string(desc.outputs[0]) + " is not input " +
                                                shape_string(x) + " permuted (" + shape_string(expected) + ")");
}

void check_slice(const NodeDesc& desc) {
  desc.require(desc.inputs.size() == 1 && desc.outputs.size() == 1, "expects 1 input and 1 output");
  const Shape& x = desc.inputs[0];
  const Shape& y = desc.outputs[0];
  const size_t rank = x.size();
  desc.require(rank >= 1 && rank <= kMaxTransposeRank, "supports ranks 1 to 6, input is " + shape_string(x));
  desc.require(y.size() == rank, "output " + shape_string(y) + " must have the input's rank");
  const auto* p = desc.node.params_as_Slice();
  desc.require(p->starts()->size() == rank && p->steps()->size() == rank,
               "needs a start and a step per axis (" + std::to_string(rank) + ")");
  for (size_t d = 0; d < rank; ++d) {
    const int64_t start = p->starts()->Get(static_cast<flatbuffers::uoffset_t>(d));
    const int64_t step = p->steps()->Get(static_cast<flatbuffers::uoffset_t>(d));
    const std::string axis = " on axis " + std::to_string(d);
    desc.require(step != 0 && step >= -x[d] && step <= x[d], "step " + std::to_string(step) + axis + " is out of range");
    desc.require(start >= 0 && start < x[d], "start " + std::to_string(start) + axis + " is outside the input");
    // Every element read lies inside the input: the last one is start + (y - 1) * step.
    desc.require(y[d] >= 1 && y[d] <= x[d], "output length " + std::to_string(y[d]) + axis + " is out of range");
    const int64_t last = start + (y[d] - 1) * step;
    desc.require(last >= 0 && last < x[d], "the slice" + axis + " reads past the input");
  }
}

std::vector<Dispatch> lower_slice(const NodeLowering& l) {
  const Shape& x = l.inputs[0].shape;
  const Shape& y = l.outputs[0].shape;
  const auto* p = l.node.params_as_Slice();
  const size_t rank = x.size();
  std::vector<int64_t> in_strides(rank, 1);
  for (size_t d = rank - 1; d-- > 0;) in_strides[d] = in_strides[d + 1] * x[d + 1];
  const size_t lead = kMaxTransposeRank - rank;
  Dims out_dims{}, strides{};
  out_dims.fill(1);
  int64_t base = 0;
  for (size_t d = 0; d < rank; ++d) {
    const auto k = static_cast<flatbuffers::uoffset_t>(d);
    out_dims[lead + d] = static_cast<uint32_t>(y[d]);
    strides[lead + d] = static_cast<uint32_t>(p->steps()->Get(k) * in_strides[d]);
    base += p->starts()->Get(k) * in_strides[d];
  }
  return {strided_copy(l, element_count(y), out_dims, strides, static_cast<uint32_t>(base))};
}

std::vector<Dispatch> lower_transpose(const NodeLowering& l) {
  const Shape& x = l.inputs[0].shape;
  const Shape& y = l.outputs[0].shape;
  const auto* perm = l.node.params_as_Transpose()->perm();
  const size_t rank = x.size();
  std::vector<uint32_t> in_strides(rank, 1);
  for (size_t d = rank - 1; d-- > 0;) in_strides[d] = in_strides[d + 1] * static_cast<uint32_t>(x[d + 1]);
  // Leading output axes of length 1 (stride 0) bring every tensor to rank 6.
  const size_t lead = kMaxTransposeRank - rank;
  Dims out_dims{}, strides{};
  out_dims.fill(1);
  for (size_t d = 0; d < rank; ++d) {
    out_dims[lead + d] = static_cast<uint32_t>(y[d]);
    strides[lead + d] = in_strides[static_cast<size_t>(perm->Get(static_cast<flatbuffers::uoffset_t>(d)))];
  }
  return {strided_copy(l, element_count(y), out_dims, strides, 0)};
}

// An axis whose length changed keeps being sliced only where the slice took all of it; starts
// and steps that pick part of an axis are fixed for its converted length.
std::vector<Shape> slice_shapes(const ShapeQuery& q) {
  const auto* p = q.desc.node.params_as_Slice();
  const Shape& x = q.inputs.at(0);
  const Shape& converted = q.desc.inputs.at(0);
  Shape y = q.desc.outputs.at(0);
  if (x.size() != converted.size()) q.desc.fail("input rank changed");
  for (size_t d = 0; d < x.size(); ++d) {
    if (x[d] == converted[d]) continue;
    const auto i = static_cast<flatbuffers::uoffset_t>(d);
    if (p->starts()->Get(i) != 0 || p->steps()->Get(i) != 1 || y[d] != converted[d])
      q.pins("it takes " + std::to_string(y[d]) + " of the " + std::to_string(converted[d]) + " elements of axis " +
             std::to_string(d));
    y[d] = x[d];
  }
  return {y};
}

}  // namespace

template <>
const OpKind& op_kind_of<fb::OpParams::Transpose>() {
  static const OpKind kind{.check = check_transpose, .lower = lower_transpose, .inputs = kOneActivation, .shapes = [](const ShapeQuery& q) {
                             const auto& perm = *q.desc.node.params_as_Transpose()->perm();
                             const Shape& x = q.inputs.at(0);
                             if (perm.size() != x.size()) q.desc.fail("perm and input rank differ");
                             Shape y;
                             for (int32_t p : perm) y.push_back(x.at(static_cast<size_t>(p)));
                             return std::vector<Shape>{y};
                           }};
  return kind;
}

template <>
const OpKind& op_kind_of<fb::OpParams::Slice>() {
  static const OpKind kind{.check = check_slice, .lower = lower_slice, .inputs = kOneActivation, .shapes = slice_shapes};
  return kind;
}

}  // namespace vkbnn::detail
