#include <algorithm>
#include <cmath>
#include <iomanip>
#include <limits>
#include <numeric>
#include <set>
#include <sstream>

#include "lowering/lowerer.hpp"
#include "quantize/fixed_point.hpp"

namespace vkbnn::convert::detail {
namespace {

// A quantization in engine terms, and whether the ONNX tensor is uint8.
struct Quantized {
  Quantization q;
  bool is_uint8 = false;
};

std::string number(double v) {
  std::ostringstream out;
  out << std::setprecision(9) << v;
  return out.str();
}

// Weight scales: one, or one per output channel.
std::vector<double> scales(Lowerer& l, const onnx::NodeProto& node, int k, const std::string& what, int64_t count) {
  const Constant& c = l.require_constant(node, k, what);
  if (!c.is_float) l.fail(node, "an integer " + what);
  if (c.size() != 1 && static_cast<int64_t>(c.size()) != count)
    l.fail(node, "a " + what + " of " + std::to_string(c.size()) + " values (one, or one per output channel, " +
                     std::to_string(count) + ", expected)");
  std::vector<double> values;
  for (size_t i = 0; i < c.size(); ++i) {
    values.push_back(c.at(i));
    if (!(values.back() > 0) || !std::isfinite(values.back()))
      l.fail(node, "a " + what + " that is not positive and finite (" + number(values.back()) + ")");
  }
  return values;
}

// The quantization of an int8 tensor from its per-tensor scale and zero point inputs (an absent
// zero point is 0 of the tensor's type). Engine activations have one scale and zero point.
Quantized quantization(Lowerer& l, const onnx::NodeProto& node, int scale_k, int zero_point_k,
                       const std::string& prefix, bool default_uint8) {
  const Constant& scale = l.require_constant(node, scale_k, prefix + "_scale");
  if (!scale.is_float) l.fail(node, "an integer " + prefix + "_scale");
  if (scale.size() != 1)
    l.fail(node, "per-axis quantization (" + std::to_string(scale.size()) + " values of " + prefix +
                     "_scale; vkbnn quantizes an activation with one scale and zero point per tensor)");
  Quantized result{{static_cast<float>(scale.at(0)), 0}, default_uint8};
  if (!(result.q.scale > 0) || !std::isfinite(result.q.scale))
    l.fail(node, "a " + prefix + "_scale that is not positive and finite (" + number(result.q.scale) + ")");
  if (!l.has(node, zero_point_k)) {
    result.q.zero_point = default_uint8 ? -128 : 0;
    return result;
  }
  const Constant& zero_point = l.require_constant(node, zero_point_k, prefix + "_zero_point");
  if (zero_point.size() != 1)
    l.fail(node, "per-axis quantization (" + std::to_string(zero_point.size()) + " values of " + prefix +
                     "_zero_point; vkbnn quantizes an activation with one scale and zero point per tensor)");
  if (zero_point.int8_type == 0) l.fail(node, "a " + prefix + "_zero_point that is neither INT8 nor UINT8");
  result.is_uint8 = zero_point.int8_type == onnx::TensorProto_DataType_UINT8;
  result.q.zero_point = static_cast<int32_t>(zero_point.i[0]) - (result.is_uint8 ? 128 : 0);
  return result;
}

// The engine tensor of int8 input k, read with the scale and zero point of inputs scale_k and
// zero_point_k, which must be those it was computed with.
std::string int8_input(Lowerer& l, const onnx::NodeProto& node, int k, int scale_k, int zero_point_k,
                       const std::string& prefix) {
  auto it = l.int8.find(node.input(k));
  if (it == l.int8.end())
    l.fail(node, "an input '" + node.input(k) +
                     "' that is not an int8 tensor computed by QuantizeLinear, QLinearConv or QLinearMatMul");
  const Lowerer::Int8Value& value = it->second;
  const Quantized read = quantization(l, node, scale_k, zero_point_k, prefix, value.is_uint8);
  const Quantization& q = l.p.int8_values.at(value.tensor);
  if (read.q.scale != q.scale || read.q.zero_point != q.zero_point) {
    const int32_t shift = value.is_uint8 ? 128 : 0;
    l.fail(node, prefix + "_scale " + number(read.q.scale) + " and " + prefix + "_zero_point " +
                     std::to_string(read.q.zero_point + shift) + " for input '" + node.input(k) + "', which op '" +
                     value.op + "' at node " + value.node + " computes with scale " + number(q.scale) +
                     " and zero point " + std::to_string(q.zero_point + shift) +
                     " (an int8 tensor has one quantization; vkbnn does not requantize it for a reader)");
  }
  return value.tensor;
}

void add_int8_value(Lowerer& l, const onnx::NodeProto& node, const std::string& onnx_name, const std::string& tensor,
                    const Quantized& q) {
  l.p.int8_values[tensor] = q.q;
  l.int8[onnx_name] = {tensor, q.is_uint8, node.op_type(), node_label(l.g, node)};
}

// Int8Conv2D/Int8FullyConnected inputs after X, for integer weights w [M, ...] with their zero
// points and scales (one, or one per output channel), an optional int32 bias B [M] at scale
// x_scale * w_scale, and the input and output quantizations. ONNX's accumulator is
// B + sum (x - x_zp) (w - w_zp); the engine's is B' + sum x w' with padded taps reading x_zp, so
// w' = w - w_zp and B' = B - x_zp * sum w'. Where w - w_zp leaves int8, a common factor g of
// the channel's w - w_zp and B may bring it back: w' = (w - w_zp) / g, B' = B / g - x_zp * sum w',
// and g moves into the requantization multiplier; the accumulator is exactly ONNX's / g.
std::vector<std::string> int8_weights(Lowerer& l, const onnx::NodeProto& node, const Shape& w_shape,
                                      const std::vector<int64_t>& w, const Constant& w_zero_point,
                                      const std::vector<double>& w_scale, const Constant* bias, Quantization qx,
                                      Quantization qy) {
  const int64_t m = w_shape[0], per = element_count(w_shape) / m;
  if (w_zero_point.is_float || (w_zero_point.size() != 1 && static_cast<int64_t>(w_zero_point.size()) != m))
    l.fail(node, "a weight zero point that is not one integer, or one per output channel");
  if (bias && (bias->is_float || static_cast<int64_t>(bias->size()) != m))
    l.fail(node, "a bias that is not " + std::to_string(m) + " integers");
  const std::string name = l.op_name(node);
  Weight qw{w_shape, {}, {}, std::vector<int8_t>(w.size()), {}};
  Weight b{{m}, {}, {}, {}, std::vector<int32_t>(static_cast<size_t>(m))};
  Weight multiplier = b, shift = b;
  for (int64_t c = 0; c < m; ++c) {
    const auto row = static_cast<size_t>(c * per);
    const int64_t zp = w_zero_point.i[w_zero_point.size() == 1 ? 0 : static_cast<size_t>(c)];
    const int64_t b_c = bias ? bias->i[static_cast<size_t>(c)] : 0;
    int64_t lo = std::numeric_limits<int64_t>::max(), hi = std::numeric_limits<int64_t>::min(), g = std::abs(b_c);
    for (int64_t k = 0; k < per; ++k) {
      const int64_t d = w[row + static_cast<size_t>(k)] - zp;
      lo = std::min(lo, d);
      hi = std::max(hi, d);
      g = std::gcd(g, d);
    }
    if (lo >= -128 && hi <= 127) g = 1;
    if (lo / g < -128 || hi / g > 127)
      l.fail(node, "weights whose difference from their zero point spans [" + std::to_string(lo) + ", " +
                       std::to_string(hi) + "] in output channel " + std::to_string(c) +
                       " (vkbnn's int8 layers hold weight minus zero point as int8, and no common factor of the "
                       "channel brings it into range)");
    int64_t sum = 0;
    for (int64_t k = 0; k < per; ++k) {
      const auto i = row + static_cast<size_t>(k);
      qw.int8[i] = static_cast<int8_t>((w[i] - zp) / g);
      sum += qw.int8[i];
    }
    const int64_t acc_bias = b_c / g - int64_t{qx.zero_point} * sum;
    if (acc_bias < std::numeric_limits<int32_t>::min() || acc_bias > std::numeric_limits<int32_t>::max())
      l.fail(node, "a bias that leaves int32 once the input zero point is folded in (output channel " +
                       std::to_string(c) + ")");
    b.int32[static_cast<size_t>(c)] = static_cast<int32_t>(acc_bias);
    const double real = double{qx.scale} * w_scale[w_scale.size() == 1 ? 0 : static_cast<size_t>(c)] *
                        static_cast<double>(g) / double{qy.scale};
    FixedPoint fp;
    try {
      fp = fixed_point(real);
    } catch (const ModelError&) {
      l.fail(node, "a requantization multiplier x_scale * w_scale / y_scale of " + number(real) +
                       " in output channel " + std::to_string(c) + ", which is too large");
    }
    multiplier.int32[static_cast<size_t>(c)] = fp.multiplier;
    shift.int32[static_cast<size_t>(c)] = fp.shift;
  }
  auto add = [&](const std::string& base, Weight weight) {
    const std::string weight_name = l.p.fresh_name(base);
    l.p.weights[weight_name] = std::move(weight);
    return weight_name;
  };
  return {add(name + "_weight_int8", std::move(qw)), add(name + "_bias_int32", std::move(b)),
          add(name + "_multiplier", std::move(multiplier)), add(name + "_shift", std::move(shift))};
}

void quantize_linear(Lowerer& l, const onnx::NodeProto& node) {
  const std::string& x = l.activation(node, 0);
  const Quantized q = quantization(l, node, 1, 2, "y", true);
  const std::string name = l.op_name(node);
  std::string in = x, out = node.output(0);
  // The int8 ops need a channel axis: a scalar or vector is held as one row.
  if (l.shape(x).size() < 2) {
    const Shape rows{1, element_count(l.shape(x))};
    in = l.p.fresh_name(x + "_rows");
    l.add_reshape(name + "_rows", x, in, rows);
    out = l.p.fresh_name(node.output(0) + "_rows");
    l.p.shapes[out] = rows;
  }
  add_int8_value(l, node, node.output(0), out, q);
  l.add_op<fb::QuantizeT>(name, {in}, out);
}

void dequantize_linear(Lowerer& l, const onnx::NodeProto& node) {
  const std::string x = int8_input(l, node, 0, 1, 2, "x");
  const std::string name = l.op_name(node);
  const Shape& out = l.shape(node.output(0));
  if (l.shape(x) == out) {
    l.add_op<fb::DequantizeT>(name, {x}, node.output(0));
    return;
  }
  const std::string rows = l.p.fresh_name(node.output(0) + "_rows");
  l.p.shapes[rows] = l.shape(x);
  l.add_op<fb::DequantizeT>(name, {x}, rows);
  l.add_reshape(name + "_unrows", rows, node.output(0), out);
}

// inputs: x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, B.
void qlinear_conv(Lowerer& l, const onnx::NodeProto& node) {
  const std::string x = int8_input(l, node, 0, 1, 2, "x");
  const Constant& w = l.require_constant(node, 3, "weight");
  if (l.shape(x).size() != 4 || w.dims.size() != 4) l.fail(node, "a convolution that is not 2-D");
  if (w.is_float) l.fail(node, "float weights");
  const Quantized y = quantization(l, node, 6, 7, "y", l.int8.at(node.input(0)).is_uint8);
  const Constant* bias = l.has(node, 8) ? &l.require_constant(node, 8, "bias") : nullptr;
  std::vector<std::string> inputs{x};
  for (auto& in : int8_weights(l, node, w.dims, w.i, l.require_constant(node, 5, "w_zero_point"),
                               scales(l, node, 4, "w_scale", w.dims[0]), bias, l.p.int8_values.at(x), y.q))
    inputs.push_back(std::move(in));
  add_int8_value(l, node, node.output(0), node.output(0), y);
  l.conv_geometry(node, l.shape(x), w.dims, l.add_op<fb::Int8Conv2DT>(l.op_name(node), inputs, node.output(0)));
}

// inputs: a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point; b is
// constant [K, M] and becomes the [M, K] weights of Int8FullyConnected.
void qlinear_matmul(Lowerer& l, const onnx::NodeProto& node) {
  const std::string a = int8_input(l, node, 0, 1, 2, "a");
  const Constant& b = l.require_constant(node, 3, "b");
  if (l.shape(node.input(0)).size() != 2 || b.dims.size() != 2)
    l.fail(node, "operands other than [N, K] x [K, M] (the engine's int8 matmul is 2-D)");
  if (b.is_float) l.fail(node, "a float b");
  const Quantized y = quantization(l, node, 6, 7, "y", l.int8.at(node.input(0)).is_uint8);
  const int64_t k = b.dims[0], m = b.dims[1];
  std::vector<int64_t> w(static_cast<size_t>(m * k));
  for (int64_t r = 0; r < m; ++r)
    for (int64_t c = 0; c < k; ++c) w[static_cast<size_t>(r * k + c)] = b.i[static_cast<size_t>(c * m + r)];
  std::vector<std::string> inputs{a};
  for (auto& in : int8_weights(l, node, {m, k}, w, l.require_constant(node, 5, "b_zero_point"),
                               scales(l, node, 4, "b_scale", m), nullptr, l.p.int8_values.at(a), y.q))
    inputs.push_back(std::move(in));
  add_int8_value(l, node, node.output(0), node.output(0), y);
  l.add_op<fb::Int8FullyConnectedT>(l.op_name(node), inputs, node.output(0));
}

}  // namespace

void register_int8_lowerings(LoweringTable& table) {
  table.add({"QuantizeLinear"}, quantize_linear, "per-tensor activation scale and zero point");
  table.add({"DequantizeLinear"}, dequantize_linear, "of int8 activations, per tensor", true);
  table.add({"QLinearConv"}, qlinear_conv, "weights per tensor or per output channel", true);
  table.add({"QLinearMatMul"}, qlinear_matmul, "2-D, constant right-hand side", true);
}

}  // namespace vkbnn::convert::detail
