#include <algorithm>
#include <array>
#include <cctype>
#include <functional>
#include <map>
#include <numeric>

#include "lowering/lowerer.hpp"

namespace vkbnn::convert::detail {
namespace {

// Einsum of two operands as one batched MatMul: A's axes permuted to (batch, free, summed) and
// B's to (batch, summed, free), each group merged into one axis; the product split and permuted
// into the output's order (MaxViT's attention: "bghid,bghjd->bghij" and "bghij,bghjd->bghid").
void einsum(Lowerer& l, const onnx::NodeProto& node) {
  std::string equation;
  for (char ch : attr_string(node, "equation", ""))
    if (ch != ' ') equation += ch;
  const auto arrow = equation.find("->"), comma = equation.find(',');
  if (node.input_size() != 2 || arrow == std::string::npos || comma == std::string::npos || comma > arrow ||
      equation.find(',', comma + 1) != std::string::npos)
    l.fail(node, "an equation other than two operands and an explicit output");
  const std::array<std::string, 3> terms{equation.substr(0, comma), equation.substr(comma + 1, arrow - comma - 1),
                                         equation.substr(arrow + 2)};
  for (const std::string& t : terms) {
    if (!std::all_of(t.begin(), t.end(), [](char ch) { return std::isalpha(static_cast<unsigned char>(ch)); }))
      l.fail(node, "an ellipsis or a character other than a letter in '" + equation + "'");
    std::string sorted = t;
    std::sort(sorted.begin(), sorted.end());
    if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end())
      l.fail(node, "an index repeated within one term (a diagonal) in '" + equation + "'");
  }
  const std::string& a = l.activation(node, 0);
  const std::string& b = l.activation(node, 1);
  const Shape& out = l.shape(node.output(0));
  if (terms[0].size() != l.shape(a).size() || terms[1].size() != l.shape(b).size() || terms[2].size() != out.size())
    l.fail(node, "terms of '" + equation + "' that do not match the ranks of its operands");
  std::map<char, int64_t> length;
  for (int k = 0; k < 2; ++k)
    for (size_t d = 0; d < terms[static_cast<size_t>(k)].size(); ++d) {
      const int64_t n = l.shape(k == 0 ? a : b)[d];
      const auto [it, fresh] = length.emplace(terms[static_cast<size_t>(k)][d], n);
      if (!fresh && it->second != n) l.fail(node, "an index of two lengths (broadcasting) in '" + equation + "'");
    }
  auto in = [](const std::string& t, char ch) { return t.find(ch) != std::string::npos; };
  std::string batch, free_a, free_b, summed;
  for (char ch : terms[0]) {
    if (in(terms[1], ch)) (in(terms[2], ch) ? batch : summed) += ch;
    else if (in(terms[2], ch)) free_a += ch;
    else l.fail(node, "an index summed over in one operand alone in '" + equation + "'");
  }
  for (char ch : terms[1])
    if (!in(terms[0], ch)) {
      if (!in(terms[2], ch)) l.fail(node, "an index summed over in one operand alone in '" + equation + "'");
      free_b += ch;
    }
  for (char ch : terms[2])
    if (!in(terms[0], ch) && !in(terms[1], ch)) l.fail(node, "an output index of neither operand in '" + equation + "'");
  auto lengths = [&](const std::string& order) {
    Shape dims;
    for (char ch : order) dims.push_back(length.at(ch));
    return dims;
  };
  auto product = [&](const std::string& order) {
    const Shape dims = lengths(order);
    return std::accumulate(dims.begin(), dims.end(), int64_t{1}, std::multiplies<>());
  };
  auto permutation = [](const std::string& from, const std::string& to) {
    std::vector<int32_t> perm;
    for (char ch : to) perm.push_back(static_cast<int32_t>(from.find(ch)));
    return perm;
  };
  auto is_identity = [](const std::vector<int32_t>& perm) {
    for (size_t d = 0; d < perm.size(); ++d)
      if (perm[d] != static_cast<int32_t>(d)) return false;
    return true;
  };
  const std::string name = l.op_name(node);
  // `value` (axes named by `term`) permuted into `order`, then reshaped to `merged`.
  auto arrange = [&](const std::string& value, const std::string& term, const std::string& order, const Shape& merged,
                     const std::string& suffix) {
    std::string current = value;
    const auto perm = permutation(term, order);
    if (!is_identity(perm)) {
      current = l.p.fresh_name(value + "_" + suffix);
      l.p.shapes[current] = lengths(order);
      l.add_op<fb::TransposeT>(name + "_" + suffix, {value}, current).perm = perm;
    }
    if (l.shape(current) == merged) return current;
    const std::string rows = l.p.fresh_name(value + "_" + suffix + "_rows");
    l.add_reshape(name + "_" + suffix + "_rows", current, rows, merged);
    return rows;
  };
  const int64_t batches = product(batch), m = product(free_a), k = product(summed), n = product(free_b);
  const std::string a_rows = arrange(a, terms[0], batch + free_a + summed, {batches, m, k}, "a");
  const std::string b_rows = arrange(b, terms[1], batch + summed + free_b, {batches, k, n}, "b");
  const std::string order = batch + free_a + free_b;
  const auto perm = permutation(order, terms[2]);
  const std::string matrix = l.p.fresh_name(node.output(0) + "_matrix");
  l.p.shapes[matrix] = {batches, m, n};
  l.add_op<fb::MatMulT>(name, {a_rows, b_rows}, matrix);
  if (is_identity(perm)) return l.add_reshape(name + "_unrows", matrix, node.output(0), out);
  const std::string split = l.p.fresh_name(node.output(0) + "_split");
  l.add_reshape(name + "_split", matrix, split, lengths(order));
  l.add_op<fb::TransposeT>(name + "_out", {split}, node.output(0)).perm = perm;
}

}  // namespace

void register_einsum_lowerings(LoweringTable& table) {
  table.add({"Einsum"}, einsum,
            "two computed operands, each index in both or in the output (a batched MatMul); no ellipsis, diagonal or "
            "broadcast");
}

}  // namespace vkbnn::convert::detail
