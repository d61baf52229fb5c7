#include <algorithm>
#include <numeric>

#include "lowering/lowerer.hpp"

namespace vkbnn::convert::detail {
namespace {

// A permutation that keeps the order of the axes longer than 1 moves no data: a Reshape.
void transpose(Lowerer& l, const onnx::NodeProto& node) {
  const std::string& x = l.activation(node, 0);
  const auto rank = static_cast<int64_t>(l.shape(x).size());
  std::vector<int64_t> perm = attr_ints(node, "perm");
  if (perm.empty())
    for (int64_t d = rank; d-- > 0;) perm.push_back(d);
  std::vector<int64_t> sorted = perm, moved;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> identity(static_cast<size_t>(rank));
  std::iota(identity.begin(), identity.end(), 0);
  if (sorted != identity) l.fail(node, "a perm that is not a permutation of the input's axes");
  if (rank > 6) l.fail(node, "rank " + std::to_string(rank) + " (the engine transposes up to rank 6)");
  for (int64_t p : perm)
    if (l.shape(x)[static_cast<size_t>(p)] != 1) moved.push_back(p);
  if (std::is_sorted(moved.begin(), moved.end()))
    return l.add_reshape(l.op_name(node), x, node.output(0), l.shape(node.output(0)));
  l.add_op<fb::TransposeT>(l.op_name(node), {x}, node.output(0)).perm.assign(perm.begin(), perm.end());
}

}  // namespace

void register_transpose_lowerings(LoweringTable& table) {
  table.add({"Transpose"}, transpose, "any permutation up to rank 6");
}

}  // namespace vkbnn::convert::detail
