#include <algorithm>

#include "lowering/lowerer.hpp"

namespace vkbnn::convert::detail {
namespace {

// Y = A * W^T (+ bias), W as [M, K]; an extra bias of another shape follows as an Add.
void gemm(Lowerer& l, const onnx::NodeProto& node) {
  if (!l.p.shapes.count(node.input(0))) l.fail(node, "a constant A with a computed B");
  if (attr_int(node, "transA", 0) != 0) l.fail(node, "transA=1 on a computed input");
  const std::string& a = node.input(0);
  const Constant& b = l.require_constant(node, 1, "B");
  if (b.dims.size() != 2 || l.shape(a).size() != 2) l.fail(node, "operands that are not 2-D");
  bool trans_b = attr_int(node, "transB", 0) != 0;
  float alpha = attr_float(node, "alpha", 1.0f), beta = attr_float(node, "beta", 1.0f);
  int64_t k = trans_b ? b.dims[1] : b.dims[0], m = trans_b ? b.dims[0] : b.dims[1];
  std::vector<float> w(static_cast<size_t>(m * k));
  for (int64_t r = 0; r < m; ++r)
    for (int64_t c = 0; c < k; ++c)
      w[static_cast<size_t>(r * k + c)] =
          alpha * static_cast<float>(b.at(static_cast<size_t>(trans_b ? r * k + c : c * m + r)));
  std::string name = l.op_name(node);
  std::vector<std::string> inputs{a, l.add_weight(name + "_weight", {m, k}, std::move(w))};
  const Shape& out = l.shape(node.output(0));
  const Constant* c = l.constant(node, 2);
  // C becomes the bias when it holds one value per output column (or one value).
  bool bias_folds = c && beta != 0 && classify(c->dims, {1, m}) != Broadcast::Other;
  if (bias_folds) {
    std::vector<float> bias = expand(*c, {1, m});
    for (float& v : bias) v *= beta;
    inputs.push_back(l.add_weight(name + "_bias", {m}, std::move(bias)));
  }
  bool extra_add = l.has(node, 2) && beta != 0 && !bias_folds;
  if (extra_add && !c && beta != 1.0f) l.fail(node, "beta != 1 with a computed C");
  std::string fc_out = extra_add ? l.p.fresh_name(node.output(0) + "_gemm") : node.output(0);
  if (extra_add) l.p.shapes[fc_out] = out;
  l.add_op<fb::FullyConnectedT>(name, inputs, fc_out);
  if (!extra_add) return;
  if (c) {
    std::vector<float> bias = expand(*c, out);
    for (float& v : bias) v *= beta;
    l.add_binary(node, name + "_bias", fb::BinaryKind::Add, fc_out, l.add_weight(name + "_bias", out, std::move(bias)),
                 node.output(0));
  } else {
    l.add_binary(node, name + "_bias", fb::BinaryKind::Add, fc_out, node.input(2), node.output(0));
  }
}

// ONNX MatMul as numpy's matmul: a 1-D A is one row and a 1-D B one column, whose axis leaves
// the result; the batch axes broadcast.
void batched_matmul(Lowerer& l, const onnx::NodeProto& node) {
  if (l.constant(node, 0) && l.constant(node, 1)) l.fail(node, "two constant operands");
  const std::string name = l.op_name(node);
  auto operand = [&](int k) {
    std::string value = l.constant(node, k) ? l.weight_input(node, k) : l.activation(node, k);
    Shape dims = l.p.is_weight(value) ? l.p.weights.at(value).shape : l.shape(value);
    if (dims.size() == 1) {
      const Shape matrix = k == 0 ? Shape{1, dims[0]} : Shape{dims[0], 1};
      if (l.p.is_weight(value)) {
        value = l.add_weight(name + (k == 0 ? "_row" : "_column"), matrix, l.p.weights.at(value).data);
      } else {
        const std::string reshaped = l.p.fresh_name(value + (k == 0 ? "_row" : "_column"));
        l.add_reshape(name + (k == 0 ? "_row" : "_column"), value, reshaped, matrix);
        value = reshaped;
      }
      dims = matrix;
    }
    return std::make_pair(value, dims);
  };
  const auto [a, as] = operand(0);
  const auto [b, bs] = operand(1);
  if (as.size() > 6 || bs.size() > 6) l.fail(node, "operands of more than 6 axes");
  if (as.back() != bs[bs.size() - 2]) l.fail(node, "operands whose inner lengths differ");
  const size_t batch = std::max(as.size(), bs.size()) - 2;
  Shape result;
  for (size_t d = 0; d < batch; ++d) {
    auto axis = [batch, d](const Shape& s) -> int64_t {
      return d + s.size() - 2 >= batch ? s[d + s.size() - 2 - batch] : 1;
    };
    result.push_back(std::max(axis(as), axis(bs)));
  }
  result.push_back(as[as.size() - 2]);
  result.push_back(bs.back());
  const Shape& out = l.shape(node.output(0));
  if (result == out) {
    l.add_op<fb::MatMulT>(name, {a, b}, node.output(0));
    return;
  }
  const std::string product = l.p.fresh_name(node.output(0) + "_matrix");
  l.p.shapes[product] = result;
  l.add_op<fb::MatMulT>(name, {a, b}, product);
  l.add_reshape(name + "_vector", product, node.output(0), out);
}

// x W with a constant 2-D W as FullyConnected; anything else (two computed operands, constant
// operands with batch axes) as the engine's batched MatMul.
void matmul(Lowerer& l, const onnx::NodeProto& node) {
  const Constant* constant_b = l.constant(node, 1);
  if (!constant_b || constant_b->dims.size() != 2 || !l.p.shapes.count(node.input(0)) ||
      l.shape(node.input(0)).size() < 2)
    return batched_matmul(l, node);
  const std::string& a = node.input(0);
  const Constant& b = *constant_b;
  Shape as = l.shape(a);
  int64_t k = b.dims[0], m = b.dims[1];
  std::vector<float> w(static_cast<size_t>(m * k));
  for (int64_t r = 0; r < m; ++r)
    for (int64_t c = 0; c < k; ++c)
      w[static_cast<size_t>(r * k + c)] = static_cast<float>(b.at(static_cast<size_t>(c * m + r)));
  std::string name = l.op_name(node);
  std::string weight = l.add_weight(name + "_weight", {m, k}, std::move(w));
  if (as.size() == 2) {
    l.add_op<fb::FullyConnectedT>(name, {a, weight}, node.output(0));
    return;
  }
  // Leading dimensions fold into rows: [.., K] -> [R, K] -> [R, M] -> [.., M].
  int64_t rows = element_count(as) / k;
  std::string flat = l.p.fresh_name(a + "_rows");
  l.add_reshape(name + "_rows", a, flat, {rows, k});
  std::string fc_out = l.p.fresh_name(node.output(0) + "_rows");
  l.p.shapes[fc_out] = {rows, m};
  l.add_op<fb::FullyConnectedT>(name, {flat, weight}, fc_out);
  l.add_reshape(name + "_unrows", fc_out, node.output(0), l.shape(node.output(0)));
}

}  // namespace

void register_matmul_lowerings(LoweringTable& table) {
  table.add({"Gemm"}, gemm, "2-D; constant B, transB, alpha, beta; C constant or computed");
  table.add({"MatMul"}, matmul, "batched, broadcasting; either operand computed or constant (attention's products)");
}

}  // namespace vkbnn::convert::detail
