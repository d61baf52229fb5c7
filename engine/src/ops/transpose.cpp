// Transpose: any permutation of up to 6 axes, one output element per work item.

#include <algorithm>
#include <numeric>

#include "ops/elementwise.hpp"

namespace vkbnn::detail {
namespace {

constexpr size_t kMaxTransposeRank = 6;

}  // namespace

void check_transpose(const NodeDesc& desc) {
  desc.require(desc.inputs.size() == 1 && desc.outputs.size() == 1, "expects 1 input and 1 output");
  desc.require(!desc.input_is_constant[0], "input must not be a constant");
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

std::vector<Dispatch> lower_transpose(const NodeLowering& l) {
  const Shape& x = l.inputs[0].shape;
  const Shape& y = l.outputs[0].shape;
  const auto* perm = l.node.params_as_Transpose()->perm();
  const size_t rank = x.size();
  std::vector<uint32_t> in_strides(rank, 1);
  for (size_t d = rank - 1; d-- > 0;) in_strides[d] = in_strides[d + 1] * static_cast<uint32_t>(x[d + 1]);
  // Leading output axes of length 1 (stride 0) bring every tensor to rank 6.
  const size_t lead = kMaxTransposeRank - rank;
  std::array<uint32_t, kMaxTransposeRank> out_dims{}, strides{};
  out_dims.fill(1);
  for (size_t d = 0; d < rank; ++d) {
    out_dims[lead + d] = static_cast<uint32_t>(y[d]);
    strides[lead + d] = in_strides[static_cast<size_t>(perm->Get(static_cast<flatbuffers::uoffset_t>(d)))];
  }
  const size_t count = element_count(y);
  const Grid grid = grid_for(count);
  std::vector<uint32_t> spec{static_cast<uint32_t>(count), grid.stride, l.inputs[0].offset, l.outputs[0].offset};
  spec.insert(spec.end(), out_dims.begin(), out_dims.end());
  spec.insert(spec.end(), strides.begin(), strides.end());
  return {{"transpose", std::move(spec), {grid.groups, 1, 1}}};
}

}  // namespace vkbnn::detail
