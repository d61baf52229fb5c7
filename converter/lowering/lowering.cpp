#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <functional>
#include <iomanip>
#include <limits>
#include <map>
#include <numeric>
#include <sstream>

#include "quantize/fixed_point.hpp"
#include "ir.hpp"

namespace vkbnn::convert::detail {
namespace {

// How an operand of an element-wise op lines up with the output. The engine broadcasts an
// operand that, aligned to the right, matches the output on one run of axes and is 1 elsewhere.
enum class Broadcast { Same, Run, Other };

Broadcast classify(const Shape& operand, const Shape& out) {
  if (operand.size() > out.size()) return Broadcast::Other;
  Shape padded(out.size() - operand.size(), 1);
  padded.insert(padded.end(), operand.begin(), operand.end());
  if (padded == out) return Broadcast::Same;
  bool in_run = false, run_done = false;
  for (size_t d = 0; d < out.size(); ++d) {
    if (padded[d] == out[d] && out[d] != 1) {
      if (run_done) return Broadcast::Other;
      in_run = true;
    } else if (padded[d] == 1) {
      run_done = run_done || in_run;
    } else {
      return Broadcast::Other;
    }
  }
  return Broadcast::Run;
}

// Repeats a broadcastable constant to the full output shape.
std::vector<float> expand(const Constant& c, const Shape& out) {
  Shape padded(out.size() - c.dims.size(), 1);
  padded.insert(padded.end(), c.dims.begin(), c.dims.end());
  std::vector<float> values(static_cast<size_t>(element_count(out)));
  for (size_t k = 0; k < values.size(); ++k) {
    int64_t rest = static_cast<int64_t>(k), src = 0, out_stride = element_count(out), src_stride = element_count(padded);
    for (size_t d = 0; d < out.size(); ++d) {
      out_stride /= out[d];
      src_stride /= padded[d];
      int64_t idx = rest / out_stride;
      rest %= out_stride;
      if (padded[d] != 1) src += idx * src_stride;
    }
    values[k] = static_cast<float>(c.at(static_cast<size_t>(src)));
  }
  return values;
}

class Lowerer {
 public:
  explicit Lowerer(const ImportedGraph& graph) : g_(graph) {
    p_.shapes = graph.shapes;
    p_.notes = graph.notes;
    p_.inputs = graph.inputs;
    p_.outputs = graph.outputs;
    for (const auto& [name, value] : graph.constants) p_.reserved.insert(name);
  }

  Program run() {
    for (size_t n = 0; n < g_.nodes.size(); ++n) lower(g_.nodes[n]);
    for (const auto& out : p_.outputs)
      if (auto it = int8_.find(out); it != int8_.end())
        throw UnsupportedError("graph output '" + out + "' is an int8 tensor (computed by op '" + it->second.op +
                               "' at node " + it->second.node +
                               "), and vkbnn graph outputs are float: end the graph with DequantizeLinear");
    return std::move(p_);
  }

 private:
  [[noreturn]] void fail(const onnx::NodeProto& node, const std::string& what) const {
    unsupported(what, node, g_);
  }

  std::string op_name(const onnx::NodeProto& node) const {
    if (!node.name().empty()) return node.name();
    return node.op_type() + "_" + node.output(0);
  }

  bool has(const onnx::NodeProto& node, int k) const {
    return node.input_size() > k && !node.input(k).empty();
  }

  const Constant* constant(const onnx::NodeProto& node, int k) const {
    if (!has(node, k)) return nullptr;
    auto it = g_.constants.find(node.input(k));
    return it == g_.constants.end() ? nullptr : &it->second;
  }

  const Constant& require_constant(const onnx::NodeProto& node, int k, const std::string& what) const {
    const Constant* c = constant(node, k);
    if (!c) fail(node, "a non-constant " + what);
    return *c;
  }

  const std::string& activation(const onnx::NodeProto& node, int k) const {
    if (!has(node, k) || !p_.shapes.count(node.input(k)))
      fail(node, "a constant where a computed input " + std::to_string(k) + " is expected");
    return node.input(k);
  }

  const Shape& shape(const std::string& name) const { return p_.shapes.at(name); }

  std::string add_weight(const std::string& base, Shape dims, std::vector<float> data) {
    std::string name = p_.fresh_name(base);
    p_.weights[name] = {std::move(dims), std::move(data)};
    return name;
  }

  // A constant input used as is, under its ONNX name.
  std::string weight_input(const onnx::NodeProto& node, int k) {
    const std::string& name = node.input(k);
    if (!p_.weights.count(name)) {
      const Constant& c = *constant(node, k);
      if (!c.is_float) fail(node, "an integer tensor operand '" + name + "'");
      // Scalars are stored as [1]: every engine tensor has at least one axis.
      p_.weights[name] = {c.dims.empty() ? Shape{1} : c.dims, c.f};
    }
    return name;
  }

  // A new op of type T (see Op::get); the parameters returned are valid until the next op.
  template <class T>
  T& add_op(const std::string& name, std::vector<std::string> inputs, const std::string& output) {
    Op op;
    op.name = name;
    op.inputs = std::move(inputs);
    op.output = output;
    op.set(T{});
    p_.ops.push_back(std::move(op));
    return *p_.ops.back().get<T>();
  }

  void add_reshape(const std::string& name, const std::string& input, const std::string& output, Shape out_shape) {
    p_.shapes[output] = std::move(out_shape);
    add_op<fb::ReshapeT>(name, {input}, output);
  }

  void lower(const onnx::NodeProto& node) {
    const auto& by_type = lowering_of();
    const auto it = by_type.find(node.op_type());
    if (it == by_type.end())
      throw UnsupportedError("unsupported op '" + node.op_type() + "' at node " + node_label(g_, node) +
                             " (it is only evaluated when all its inputs are constants)");
    if (!it->second->reads_int8)
      for (const auto& in : node.input())
        if (int8_.count(in))
          fail(node, "the int8 tensor '" + in +
                         "' as an input (only DequantizeLinear, QLinearConv and QLinearMatMul read int8 tensors)");
    (this->*it->second->lower)(node);
  }

 public:
  // Which ONNX op types each lowering handles; the importer accepts exactly these (and the ones
  // it folds). A new op is one entry here and its member function below.
  struct Lowering {
    std::vector<std::string> onnx_ops;
    void (Lowerer::*lower)(const onnx::NodeProto&);
    // What of these ops is supported, for the README's table (vkbnn-convert --list-ops).
    const char* notes = "";
    bool reads_int8 = false;  // only these read int8 tensors
  };
  static const std::vector<Lowering>& lowerings() {
    static const std::vector<Lowering> table = {
        {{"Conv"}, &Lowerer::conv, "2-D; groups, dilation, any padding; BatchNormalization, activations and a "
                                   "residual Add fuse into it"},
        {{"MaxPool", "AveragePool"}, &Lowerer::pool, "2-D; strides, dilations, any padding, ceil mode, count_include_pad"},
        {{"GlobalAveragePool", "GlobalMaxPool"}, &Lowerer::global_pool, "over every axis after N and C"},
        {{"ReduceMean", "ReduceMax", "ReduceSum", "ReduceMin", "ReduceL1", "ReduceL2", "ReduceSumSquare"},
         &Lowerer::reduce, "any axes (attribute or input), keepdims; over H and W as global pooling"},
        {{"Gemm"}, &Lowerer::gemm, "2-D; constant B, transB, alpha, beta; C constant or computed"},
        {{"MatMul"}, &Lowerer::matmul,
         "batched, broadcasting; either operand computed or constant (attention's products)"},
        {{"Einsum"}, &Lowerer::einsum,
         "two computed operands, each index in both or in the output (a batched MatMul); no ellipsis, diagonal or "
         "broadcast"},
        {{"BatchNormalization"}, &Lowerer::batch_norm, "inference form; folded into the op before it where one is"},
        {{"Relu", "Clip", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Erf", "Tanh", "Exp", "Log", "Sqrt",
          "Reciprocal", "Abs", "Softplus", "Mish"},
         &Lowerer::activation_op, "element-wise; fused into the Conv, Gemm or Add before them; SiLU (x * Sigmoid(x)), GELU's erf form, "
         "Mish and HardSwish spelled with several ops become one activation, found by evaluating them"},
        {{"PRelu"}, &Lowerer::prelu, "slope per channel or shared"},
        {{"Add", "Sub", "Mul", "Div", "Pow"}, &Lowerer::binary,
         "two tensors or a tensor and a constant, NumPy broadcasting; Pow: any float exponent, a negative base "
         "takes integer ones"},
        {{"Min", "Max"}, &Lowerer::min_max, "any number of inputs"},
        {{"Neg"}, &Lowerer::neg, "element-wise"},
        {{"Concat"}, &Lowerer::concat, "any axis"},
        {{"Flatten", "Reshape", "Squeeze", "Unsqueeze", "Identity", "Dropout"}, &Lowerer::reshape,
         "free: the same memory seen with another shape"},
        {{"Softmax"}, &Lowerer::softmax, "any axis, with each opset's semantics"},
        {{"LayerNormalization"}, &Lowerer::layer_norm,
         "any axis (the Mean and InvStdDev outputs not); the decomposed ReduceMean/Sub/Pow/Sqrt/Div spelling "
         "fuses into one op, found by evaluating it"},
        {{"InstanceNormalization"}, &Lowerer::instance_norm,
         "any rank; also PyTorch's GroupNorm spelling (Reshape, InstanceNormalization, Reshape, Mul, Add)"},
        {{"Pad"}, &Lowerer::pad, "constant, reflect and edge modes; pads as attribute or input"},
        {{"Transpose"}, &Lowerer::transpose, "any permutation up to rank 6"},
        {{"Resize", "Upsample"}, &Lowerer::resize,
         "of H and W: nearest with every nearest_mode, bilinear, every coordinate_transformation_mode but "
         "tf_crop_and_resize, by scales or sizes"},
        {{"Split"}, &Lowerer::split, "any axis; sizes as attribute or input (ShuffleNetV2's channel split)"},
        {{"Slice"}, &Lowerer::slice, "any axes, any steps (constant starts, ends, axes, steps)"},
        {{"ConvTranspose"}, &Lowerer::conv_transpose,
         "2-D; strides, dilations, groups, pads, output_padding, output_shape, auto_pad; activations fuse into it"},
        {{"Gather"}, &Lowerer::gather, "constant indices, any axis (a scalar index drops the axis)"},
        {{"DepthToSpace", "SpaceToDepth"}, &Lowerer::depth_space, "NCHW; DCR and CRD modes"},
        {{"Tile"}, &Lowerer::tile, "up to rank 6; also the channel matching of an Elastic-Link block"},
        {{"Expand"}, &Lowerer::expand_op, "up to rank 6; also the channel matching of an Elastic-Link block"},
        // Binarized networks: signs, and the comparisons, selections and casts that spell a sign
        // other than Sign.
        {{"Sign"}, &Lowerer::sign, "as the activation binarization of a binary convolution"},
        {{"Greater", "GreaterOrEqual", "Less", "LessOrEqual", "Equal"}, &Lowerer::compare,
         "as parts of a sign, however spelt (recognised by evaluation)"},
        {{"Not"}, &Lowerer::not_op, "as part of a sign"},
        {{"Where"}, &Lowerer::where, "as part of a sign"},
        {{"Cast"}, &Lowerer::cast, "as part of a sign"},
        // Models quantized elsewhere: int8 activations with per-tensor quantization.
        {{"QuantizeLinear"}, &Lowerer::quantize_linear, "per-tensor activation scale and zero point"},
        {{"DequantizeLinear"}, &Lowerer::dequantize_linear, "of int8 activations, per tensor", true},
        {{"QLinearConv"}, &Lowerer::qlinear_conv, "weights per tensor or per output channel", true},
        {{"QLinearMatMul"}, &Lowerer::qlinear_matmul, "2-D, constant right-hand side", true},
    };
    return table;
  }

 private:
  static const std::map<std::string, const Lowering*>& lowering_of() {
    static const std::map<std::string, const Lowering*> by_type = [] {
      std::map<std::string, const Lowering*> m;
      for (const auto& l : lowerings())
        for (const auto& type : l.onnx_ops) m[type] = &l;
      return m;
    }();
    return by_type;
  }

  void sign(const onnx::NodeProto& node) {
    add_op<pattern::Sign>(op_name(node), {activation(node, 0)}, node.output(0));
  }

  void not_op(const onnx::NodeProto& node) {
    add_op<pattern::Not>(op_name(node), {activation(node, 0)}, node.output(0));
  }

  // Identity and Dropout (without its mask) included: the same elements under a new name.
  void reshape(const onnx::NodeProto& node) {
    if (node.output_size() > 1 && !node.output(1).empty()) fail(node, "the mask output");
    add_reshape(op_name(node), activation(node, 0), node.output(0), shape(node.output(0)));
  }

  // Explicit top, left, bottom, right pads from auto_pad or the pads attribute.
  std::vector<int32_t> resolve_pads(const onnx::NodeProto& node, const Shape& in, const std::vector<int32_t>& kernel,
                                    const std::vector<int32_t>& strides, const std::vector<int32_t>& dilations) {
    std::string auto_pad = attr_string(node, "auto_pad", "NOTSET");
    if (auto_pad == "NOTSET") return pair_pads(node);
    if (auto_pad == "VALID") return {0, 0, 0, 0};
    if (auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER") fail(node, "auto_pad=" + auto_pad);
    std::vector<int32_t> pads(4);
    for (size_t d = 0; d < 2; ++d) {
      int64_t size = in[2 + d], s = strides[d];
      int64_t out = (size + s - 1) / s;
      int64_t total = std::max<int64_t>(0, (out - 1) * s + (kernel[d] - 1) * dilations[d] + 1 - size);
      int64_t small = total / 2;
      pads[d] = static_cast<int32_t>(auto_pad == "SAME_UPPER" ? small : total - small);
      pads[d + 2] = static_cast<int32_t>(total - pads[d]);
    }
    return pads;
  }

  std::vector<int32_t> pair_attr(const onnx::NodeProto& node, const std::string& name, int32_t fallback) {
    auto v = attr_ints(node, name);
    if (v.empty()) return {fallback, fallback};
    if (v.size() != 2) fail(node, name + " of length " + std::to_string(v.size()));
    return {static_cast<int32_t>(v[0]), static_cast<int32_t>(v[1])};
  }

  // Kernel, strides, dilations, group and pads of Conv or QLinearConv with weights of shape w.
  template <class T>
  void conv_geometry(const onnx::NodeProto& node, const Shape& x, const Shape& w, T& op) {
    std::vector<int32_t> kernel{static_cast<int32_t>(w[2]), static_cast<int32_t>(w[3])};
    if (find_attr(node, "kernel_shape") && pair_attr(node, "kernel_shape", 0) != kernel)
      fail(node, "kernel_shape that disagrees with the weights");
    op.kernel = kernel;
    op.strides = pair_attr(node, "strides", 1);
    op.dilations = pair_attr(node, "dilations", 1);
    op.group = static_cast<int32_t>(attr_int(node, "group", 1));
    op.pads = resolve_pads(node, x, op.kernel, op.strides, op.dilations);
  }

  void conv(const onnx::NodeProto& node) {
    const std::string& x = activation(node, 0);
    const Constant& w = require_constant(node, 1, "weight");
    if (shape(x).size() != 4 || w.dims.size() != 4) fail(node, "a convolution that is not 2-D");
    std::vector<std::string> inputs{x, weight_input(node, 1)};
    if (has(node, 2)) {
      require_constant(node, 2, "bias");
      inputs.push_back(weight_input(node, 2));
    }
    conv_geometry(node, shape(x), w.dims, add_op<fb::Conv2DT>(op_name(node), inputs, node.output(0)));
  }

  // ONNX ConvTranspose as the engine's ConvTranspose2D, whose pads say the output's extent: the
  // ONNX pads crop it, output_padding (a negative end pad) extends it at the end, and an
  // output_shape or auto_pad sets the total padding, split between the two ends as ONNX says.
  void conv_transpose(const onnx::NodeProto& node) {
    const std::string& x = activation(node, 0);
    const Constant& w = require_constant(node, 1, "weight");
    const Shape& in = shape(x);
    if (in.size() != 4 || w.dims.size() != 4) fail(node, "a transposed convolution that is not 2-D");
    std::vector<std::string> inputs{x, weight_input(node, 1)};
    if (has(node, 2)) {
      require_constant(node, 2, "bias");
      inputs.push_back(weight_input(node, 2));
    }
    auto& op = add_op<fb::ConvTranspose2DT>(op_name(node), inputs, node.output(0));
    op.kernel = {static_cast<int32_t>(w.dims[2]), static_cast<int32_t>(w.dims[3])};
    if (find_attr(node, "kernel_shape") && pair_attr(node, "kernel_shape", 0) != op.kernel)
      fail(node, "kernel_shape that disagrees with the weights");
    op.strides = pair_attr(node, "strides", 1);
    op.dilations = pair_attr(node, "dilations", 1);
    op.group = static_cast<int32_t>(attr_int(node, "group", 1));
    const std::vector<int32_t> output_padding = pair_attr(node, "output_padding", 0);
    const std::vector<int64_t> output_shape = attr_ints(node, "output_shape");
    const std::string auto_pad = attr_string(node, "auto_pad", "NOTSET");
    if (auto_pad != "NOTSET" && auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER" && auto_pad != "VALID")
      fail(node, "auto_pad=" + auto_pad);
    if (output_shape.size() != 0 && output_shape.size() != 2) fail(node, "an output_shape of length " +
                                                                             std::to_string(output_shape.size()));
    op.pads.assign(4, 0);
    if (output_shape.empty() && (auto_pad == "NOTSET" || auto_pad == "VALID")) {
      if (auto_pad == "NOTSET") op.pads = pair_pads(node);
      op.pads[2] -= output_padding[0];
      op.pads[3] -= output_padding[1];
      return;
    }
    for (size_t d = 0; d < 2; ++d) {
      const int64_t full = (in[2 + d] - 1) * op.strides[d] + (op.kernel[d] - 1) * op.dilations[d] + 1 +
                           output_padding[d];
      const int64_t target = output_shape.empty() ? in[2 + d] * op.strides[d] : output_shape[d];
      const int64_t total = full - target;
      // A larger output than the transposed convolution covers is zeros (and bias) at the end.
      const int64_t small = total < 0 ? 0 : total / 2, large = total < 0 ? 0 : total - small;
      const int64_t begin = auto_pad == "SAME_UPPER" ? small : large;
      op.pads[d] = static_cast<int32_t>(begin);
      op.pads[d + 2] = static_cast<int32_t>(total - begin - output_padding[d]);
    }
  }

  // The pads attribute of a 2-D op as top, left, bottom, right.
  std::vector<int32_t> pair_pads(const onnx::NodeProto& node) {
    auto pads = attr_ints(node, "pads");
    if (pads.empty()) return {0, 0, 0, 0};
    if (pads.size() != 4) fail(node, "pads of length " + std::to_string(pads.size()));
    return {pads.begin(), pads.end()};
  }

  // Gather of an activation at constant indices: the engine gathers along the axis into one
  // axis as long as the indices, which a Reshape turns into the indices' own shape (a scalar
  // index drops the axis).
  void gather(const onnx::NodeProto& node) {
    const std::string& x = activation(node, 0);
    const Shape& in = shape(x);
    const auto rank = static_cast<int64_t>(in.size());
    int64_t axis = attr_int(node, "axis", 0);
    if (axis < -rank || axis >= rank) fail(node, "axis " + std::to_string(axis) + " out of range");
    if (axis < 0) axis += rank;
    const Constant& c = require_constant(node, 1, "indices");
    if (c.is_float) fail(node, "float indices");
    const int64_t length = in[static_cast<size_t>(axis)];
    std::vector<int32_t> indices;
    for (int64_t index : c.ints()) {
      if (index < -length || index >= length)
        fail(node, "index " + std::to_string(index) + " outside axis " + std::to_string(axis) + " of length " +
                       std::to_string(length));
      indices.push_back(static_cast<int32_t>(index < 0 ? index + length : index));
    }
    if (indices.empty()) fail(node, "no indices (vkbnn has no empty tensors)");
    Shape gathered = in;
    gathered[static_cast<size_t>(axis)] = static_cast<int64_t>(indices.size());
    const std::string name = op_name(node);
    const bool same = gathered == shape(node.output(0));
    const std::string out = same ? node.output(0) : p_.fresh_name(node.output(0) + "_gathered");
    if (!same) p_.shapes[out] = gathered;
    auto& op = add_op<fb::GatherT>(name, {x}, out);
    op.axis = static_cast<int32_t>(axis);
    op.indices = std::move(indices);
    if (!same) add_reshape(name + "_shape", out, node.output(0), shape(node.output(0)));
  }

  // DepthToSpace and SpaceToDepth of NCHW tensors as the Reshape, Transpose, Reshape that define
  // them: DCR reads the channel as [block, block, C'], CRD as [C', block, block].
  void depth_space(const onnx::NodeProto& node) {
    const std::string& x = activation(node, 0);
    const Shape& in = shape(x);
    if (in.size() != 4) fail(node, "a tensor that is not NCHW");
    const int64_t b = attr_int(node, "blocksize", 0);
    if (b < 1) fail(node, "blocksize " + std::to_string(b));
    const int64_t n = in[0], c = in[1], h = in[2], w = in[3];
    Shape split;
    std::vector<int32_t> perm;
    if (node.op_type() == "DepthToSpace") {
      if (c % (b * b) != 0) fail(node, "channels that blocksize^2 does not divide");
      const bool crd = attr_string(node, "mode", "DCR") == "CRD";
      if (!crd && attr_string(node, "mode", "DCR") != "DCR") fail(node, "mode=" + attr_string(node, "mode", ""));
      split = crd ? Shape{n, c / (b * b), b, b, h, w} : Shape{n, b, b, c / (b * b), h, w};
      perm = crd ? std::vector<int32_t>{0, 1, 4, 2, 5, 3} : std::vector<int32_t>{0, 3, 4, 1, 5, 2};
    } else {
      if (h % b != 0 || w % b != 0) fail(node, "a height or width that blocksize does not divide");
      split = {n, c, h / b, b, w / b, b};
      perm = {0, 3, 5, 1, 2, 4};
    }
    const std::string name = op_name(node);
    const std::string blocks = p_.fresh_name(x + "_blocks");
    add_reshape(name + "_blocks", x, blocks, split);
    Shape moved;
    for (int32_t p : perm) moved.push_back(split[static_cast<size_t>(p)]);
    const std::string transposed = p_.fresh_name(node.output(0) + "_blocks");
    p_.shapes[transposed] = moved;
    add_op<fb::TransposeT>(name, {blocks}, transposed).perm = perm;
    add_reshape(name + "_merge", transposed, node.output(0), shape(node.output(0)));
  }

  void pool(const onnx::NodeProto& node) {
    const std::string& x = activation(node, 0);
    if (shape(x).size() != 4) fail(node, "pooling that is not 2-D");
    if (node.output_size() > 1 && !node.output(1).empty()) fail(node, "the Indices output");
    if (attr_int(node, "storage_order", 0) != 0) fail(node, "storage_order=1");
    auto& op = add_op<fb::Pool2DT>(op_name(node), {x}, node.output(0));
    op.kind = node.op_type() == "MaxPool" ? fb::PoolKind::Max : fb::PoolKind::Average;
    op.kernel = pair_attr(node, "kernel_shape", 0);
    op.strides = pair_attr(node, "strides", 1);
    op.dilations = pair_attr(node, "dilations", 1);
    op.count_include_pad = attr_int(node, "count_include_pad", 0) != 0;
    op.pads = resolve_pads(node, shape(x), op.kernel, op.strides, op.dilations);
  }

  void global_pool(const onnx::NodeProto& node) {
    const std::string& x = activation(node, 0);
    if (shape(x).size() < 3) fail(node, "global pooling of a tensor without spatial axes");
    add_op<fb::GlobalPoolT>(op_name(node), {x}, node.output(0)).kind = node.op_type() == "GlobalMaxPool" ? fb::PoolKind::Max : fb::PoolKind::Average;
  }

  // ReduceMean/ReduceMax over every axis after N and C is global pooling; any other reduction a
  // Reduce op. Axes are an attribute up to opset 12 and an input from opset 13 (ReduceSum) or 18
  // (the others); no axes reduce all of them unless noop_with_empty_axes says they reduce none.
  void reduce(const onnx::NodeProto& node) {
    const std::string& x = activation(node, 0);
    const auto rank = static_cast<int64_t>(shape(x).size());
    std::vector<int64_t> axes = has(node, 1) ? require_constant(node, 1, "axes").ints() : attr_ints(node, "axes");
    const bool keep = attr_int(node, "keepdims", 1) != 0;
    if (axes.empty()) {
      if (attr_int(node, "noop_with_empty_axes", 0) != 0)
        return add_reshape(op_name(node), x, node.output(0), shape(node.output(0)));
      axes.resize(static_cast<size_t>(rank));
      std::iota(axes.begin(), axes.end(), 0);
    }
    for (auto& a : axes) {
      if (a < -rank || a >= rank) fail(node, "axis " + std::to_string(a) + " out of range");
      if (a < 0) a += rank;
    }
    std::sort(axes.begin(), axes.end());
    if (std::adjacent_find(axes.begin(), axes.end()) != axes.end()) fail(node, "an axis named twice");
    const std::string& type = node.op_type();
    std::vector<int64_t> spatial(static_cast<size_t>(std::max<int64_t>(rank - 2, 0)));
    std::iota(spatial.begin(), spatial.end(), 2);
    const std::string name = op_name(node);
    if (rank >= 3 && axes == spatial && (type == "ReduceMean" || type == "ReduceMax")) {
      Shape pooled(shape(x).begin(), shape(x).begin() + 2);
      pooled.resize(static_cast<size_t>(rank), 1);
      std::string out = keep ? node.output(0) : p_.fresh_name(node.output(0) + "_pooled");
      p_.shapes[out] = pooled;
      add_op<fb::GlobalPoolT>(name, {x}, out).kind = type == "ReduceMax" ? fb::PoolKind::Max : fb::PoolKind::Average;
      if (!keep) add_reshape(name + "_squeeze", out, node.output(0), shape(node.output(0)));
      return;
    }
    static const std::map<std::string, fb::ReduceKind> kinds = {
        {"ReduceMean", fb::ReduceKind::Mean}, {"ReduceSum", fb::ReduceKind::Sum},
        {"ReduceMax", fb::ReduceKind::Max},   {"ReduceMin", fb::ReduceKind::Min},
        {"ReduceL1", fb::ReduceKind::L1},     {"ReduceL2", fb::ReduceKind::L2},
        {"ReduceSumSquare", fb::ReduceKind::SumSquare}};
    auto& op = add_op<fb::ReduceT>(name, {x}, node.output(0));
    op.kind = kinds.at(type);
    op.axes.assign(axes.begin(), axes.end());
    op.keep_dims = keep;
  }

  // ONNX LayerNormalization (opset 17), and what onnx/layer_norm.cpp fuses into it. Scale and
  // bias broadcast to the normalized axes; they are stored at their full shape.
  void layer_norm(const onnx::NodeProto& node) {
    const std::string& x = activation(node, 0);
    for (int k = 1; k < node.output_size(); ++k)
      if (!node.output(k).empty()) fail(node, "the Mean and InvStdDev outputs");
    const auto rank = static_cast<int64_t>(shape(x).size());
    int64_t axis = attr_int(node, "axis", -1);
    if (axis < -rank || axis >= rank) fail(node, "axis " + std::to_string(axis) + " out of range");
    if (axis < 0) axis += rank;
    const Shape norm(shape(x).begin() + axis, shape(x).end());
    auto full = [&](int k, float fallback) {
      if (!has(node, k)) return std::vector<float>(static_cast<size_t>(element_count(norm)), fallback);
      const Constant& c = require_constant(node, k, k == 1 ? "scale" : "bias");
      Shape dims = c.dims;
      while (dims.size() > norm.size() && dims.front() == 1) dims.erase(dims.begin());
      bool fits = c.is_float && dims.size() <= norm.size();
      for (size_t d = 0; fits && d < dims.size(); ++d) {
        const int64_t target = norm[norm.size() - dims.size() + d];
        fits = dims[d] == 1 || dims[d] == target;
      }
      if (!fits)
        fail(node, std::string(k == 1 ? "a scale" : "a bias") + " that does not broadcast to " + shape_string(norm));
      Constant squeezed = c;
      squeezed.dims = dims;
      return expand(squeezed, norm);
    };
    const std::string name = op_name(node);
    const std::string scale = add_weight(name + "_scale", norm, full(1, 1.0f));
    const std::string bias = add_weight(name + "_bias", norm, full(2, 0.0f));
    auto& op = add_op<fb::LayerNormT>(name, {x, scale, bias}, node.output(0));
    op.axis = static_cast<int32_t>(axis);
    op.epsilon = attr_float(node, "epsilon", 1e-5f);
  }

  // InstanceNormalization: a GroupNorm of one channel per group. (GroupNormalization is an opset-18
  // op, which Debian's ONNX library cannot read; PyTorch's opset-13 nn.GroupNorm is a Reshape to
  // [N, groups, -1], an InstanceNormalization and a per-channel Mul and Add, which run as they are.)
  void instance_norm(const onnx::NodeProto& node) {
    const std::string& x = activation(node, 0);
    const Shape& xs = shape(x);
    if (xs.size() < 3) fail(node, "an input of rank " + std::to_string(xs.size()) + " (it needs N, C and more)");
    const int64_t channels = xs[1];
    auto per_channel = [&](int k, const char* what) {
      const Constant& c = require_constant(node, k, what);
      if (!c.is_float || c.dims != Shape{channels})
        fail(node, std::string("a ") + what + " of shape " + shape_string(c.dims) + " (it needs " +
                       std::to_string(channels) + ")");
      return c.f;
    };
    const std::string name = op_name(node);
    const std::string scale = add_weight(name + "_scale", {channels}, per_channel(1, "scale"));
    const std::string bias = add_weight(name + "_bias", {channels}, per_channel(2, "bias"));
    auto& op = add_op<fb::GroupNormT>(name, {x, scale, bias}, node.output(0));
    op.groups = static_cast<int32_t>(channels);
    op.epsilon = attr_float(node, "epsilon", 1e-5f);
  }

  // Comparisons, Not, Where and Cast of activations are what spell a binarization other than
  // Sign (x >= t, Cast(x >= 0) * 2 - 1, Where(x < 0, -1, 1)): kept for the binarization pass,
  // which evaluates what they compute. Their operands broadcast as element-wise ops do.
  void compare(const onnx::NodeProto& node) {
    const std::string& op = node.op_type();
    using pattern::CompareKind;
    add_op<pattern::Compare>(op_name(node), {float_operand(node, 0), float_operand(node, 1)}, node.output(0)).kind =
        op == "Greater"          ? CompareKind::Greater
        : op == "GreaterOrEqual" ? CompareKind::GreaterOrEqual
        : op == "Less"           ? CompareKind::Less
        : op == "LessOrEqual"    ? CompareKind::LessOrEqual
                                 : CompareKind::Equal;
  }

  // Where(c, 1, -1) may select integer constants (torch.where with Python ints) that a Cast
  // turns to float later, and comparisons may hold them: such constants are held as floats.
  void where(const onnx::NodeProto& node) {
    add_op<pattern::Where>(op_name(node), {float_operand(node, 0), float_operand(node, 1), float_operand(node, 2)},
           node.output(0));
  }

  std::string float_operand(const onnx::NodeProto& node, int k) {
    const Constant* c = constant(node, k);
    if (!c) return activation(node, k);
    if (c->is_float) return weight_input(node, k);
    return add_weight(op_name(node) + "_operand", c->dims.empty() ? Shape{1} : c->dims, c->floats());
  }

  void cast(const onnx::NodeProto& node) {
    const auto to = attr_int(node, "to", onnx::TensorProto_DataType_FLOAT);
    using pattern::CastKind;
    auto& op = add_op<pattern::Cast>(op_name(node), {activation(node, 0)}, node.output(0));
    if (to == onnx::TensorProto_DataType_BOOL) op.kind = CastKind::Bool;
    else if (to == onnx::TensorProto_DataType_FLOAT || to == onnx::TensorProto_DataType_DOUBLE ||
             to == onnx::TensorProto_DataType_FLOAT16 || to == onnx::TensorProto_DataType_BFLOAT16)
      op.kind = CastKind::Float;
    else op.kind = CastKind::Integer;
  }

  // -x as x * -1, which the engine runs and the binarization pass folds like any scale.
  void neg(const onnx::NodeProto& node) {
    const std::string& x = activation(node, 0);
    add_binary(node, op_name(node), fb::BinaryKind::Mul, x, add_weight(op_name(node) + "_minus_one", {1}, {-1.0f}),
               node.output(0));
  }

  void tile(const onnx::NodeProto& node) {
    const std::string& x = activation(node, 0);
    std::vector<int64_t> repeats = require_constant(node, 1, "repeats").ints();
    if (repeats.size() != shape(x).size() || std::any_of(repeats.begin(), repeats.end(), [](int64_t r) { return r < 1; }))
      fail(node, "repeats that do not give one positive count per axis");
    add_op<pattern::Tile>(op_name(node), {x}, node.output(0)).repeats = repeats;
  }

  // Broadcasting to the input's own shape copies nothing.
  void expand_op(const onnx::NodeProto& node) {
    const std::string& x = activation(node, 0);
    require_constant(node, 1, "shape");
    if (shape(x) == shape(node.output(0))) return add_reshape(op_name(node), x, node.output(0), shape(x));
    const Shape& out = shape(node.output(0));
    if (shape(x).size() > out.size()) fail(node, "an Expand to a lower rank");
    std::string in = x;
    // Broadcasting aligns the shapes at the right: leading axes of length 1 first.
    if (shape(x).size() < out.size()) {
      Shape padded(out.size() - shape(x).size(), 1);
      padded.insert(padded.end(), shape(x).begin(), shape(x).end());
      in = p_.fresh_name(x + "_ranked");
      add_reshape(op_name(node) + "_ranked", x, in, padded);
    }
    add_op<pattern::Expand>(op_name(node), {in}, node.output(0));
  }

  // A Slice of `axis` from `start`, step 1, as long as the output.
  void add_slice(const std::string& name, const std::string& x, const std::string& output, int64_t axis,
                 int64_t start) {
    auto& op = add_op<fb::SliceT>(name, {x}, output);
    op.starts.assign(shape(x).size(), 0);
    op.steps.assign(shape(x).size(), 1);
    op.starts[static_cast<size_t>(axis)] = start;
  }

  // One Slice per output, along the split axis.
  void split(const onnx::NodeProto& node) {
    const std::string& x = activation(node, 0);
    const auto rank = static_cast<int64_t>(shape(x).size());
    int64_t axis = attr_int(node, "axis", 0);
    if (axis < -rank || axis >= rank) fail(node, "axis " + std::to_string(axis) + " out of range");
    if (axis < 0) axis += rank;
    int64_t start = 0;
    for (int k = 0; k < node.output_size(); ++k) {
      const int64_t length = shape(node.output(k))[static_cast<size_t>(axis)];
      add_slice(op_name(node) + "_" + std::to_string(k), x, node.output(k), axis, start);
      start += length;
    }
  }

  // A Slice from constant starts, ends, axes and steps, on any axes and with any steps (Swin's
  // patch merging takes every second row and column); its output shape is inferred.
  void slice(const onnx::NodeProto& node) {
    const std::string& x = activation(node, 0);
    const Shape& in = shape(x);
    const Shape& out = shape(node.output(0));
    std::vector<int64_t> starts, axes, steps;
    if (g_.opset < 10) {
      starts = attr_ints(node, "starts");
      axes = attr_ints(node, "axes");
    } else {
      starts = require_constant(node, 1, "starts").ints();
      require_constant(node, 2, "ends");
      if (has(node, 3)) axes = require_constant(node, 3, "axes").ints();
      if (has(node, 4)) steps = require_constant(node, 4, "steps").ints();
    }
    if (axes.empty())
      for (size_t d = 0; d < starts.size(); ++d) axes.push_back(static_cast<int64_t>(d));
    if (steps.empty()) steps.assign(starts.size(), 1);
    if (axes.size() != starts.size() || steps.size() != starts.size() || out.size() != in.size())
      fail(node, "starts, axes and steps of different lengths");
    const auto rank = static_cast<int64_t>(in.size());
    std::vector<int64_t> first(in.size(), 0), step(in.size(), 1);
    for (size_t k = 0; k < axes.size(); ++k) {
      const int64_t axis = axes[k] < 0 ? axes[k] + rank : axes[k];
      if (axis < 0 || axis >= rank) fail(node, "axis " + std::to_string(axes[k]) + " out of range");
      if (steps[k] == 0) fail(node, "a step of 0");
      const auto a = static_cast<size_t>(axis);
      // As ONNX clamps: negative counts from the end, then into [0, length] ([0, length - 1]
      // stepping backwards).
      const int64_t length = in[a];
      int64_t start = starts[k] < 0 ? starts[k] + length : starts[k];
      start = std::clamp<int64_t>(start, 0, steps[k] > 0 ? length : length - 1);
      first[a] = start;
      // One element read: any step reads it.
      step[a] = out[a] == 1 ? 1 : steps[k];
    }
    bool copies = true;
    for (size_t d = 0; d < in.size(); ++d) copies = copies && first[d] == 0 && step[d] == 1 && out[d] == in[d];
    if (copies) return add_reshape(op_name(node), x, node.output(0), out);
    auto& op = add_op<fb::SliceT>(op_name(node), {x}, node.output(0));
    op.starts = first;
    op.steps = step;
  }

  // Y = A * W^T (+ bias), W as [M, K]; an extra bias of another shape follows as an Add.
  void gemm(const onnx::NodeProto& node) {
    if (!p_.shapes.count(node.input(0))) fail(node, "a constant A with a computed B");
    if (attr_int(node, "transA", 0) != 0) fail(node, "transA=1 on a computed input");
    const std::string& a = node.input(0);
    const Constant& b = require_constant(node, 1, "B");
    if (b.dims.size() != 2 || shape(a).size() != 2) fail(node, "operands that are not 2-D");
    bool trans_b = attr_int(node, "transB", 0) != 0;
    float alpha = attr_float(node, "alpha", 1.0f), beta = attr_float(node, "beta", 1.0f);
    int64_t k = trans_b ? b.dims[1] : b.dims[0], m = trans_b ? b.dims[0] : b.dims[1];
    std::vector<float> w(static_cast<size_t>(m * k));
    for (int64_t r = 0; r < m; ++r)
      for (int64_t c = 0; c < k; ++c)
        w[static_cast<size_t>(r * k + c)] =
            alpha * static_cast<float>(b.at(static_cast<size_t>(trans_b ? r * k + c : c * m + r)));
    std::string name = op_name(node);
    std::vector<std::string> inputs{a, add_weight(name + "_weight", {m, k}, std::move(w))};
    const Shape& out = shape(node.output(0));
    const Constant* c = constant(node, 2);
    // C becomes the bias when it holds one value per output column (or one value).
    bool bias_folds = c && beta != 0 && classify(c->dims, {1, m}) != Broadcast::Other;
    if (bias_folds) {
      std::vector<float> bias = expand(*c, {1, m});
      for (float& v : bias) v *= beta;
      inputs.push_back(add_weight(name + "_bias", {m}, std::move(bias)));
    }
    bool extra_add = has(node, 2) && beta != 0 && !bias_folds;
    if (extra_add && !c && beta != 1.0f) fail(node, "beta != 1 with a computed C");
    std::string fc_out = extra_add ? p_.fresh_name(node.output(0) + "_gemm") : node.output(0);
    if (extra_add) p_.shapes[fc_out] = out;
    add_op<fb::FullyConnectedT>(name, inputs, fc_out);
    if (!extra_add) return;
    if (c) {
      std::vector<float> bias = expand(*c, out);
      for (float& v : bias) v *= beta;
      add_binary(node, name + "_bias", fb::BinaryKind::Add, fc_out,
                 add_weight(name + "_bias", out, std::move(bias)), node.output(0));
    } else {
      add_binary(node, name + "_bias", fb::BinaryKind::Add, fc_out, node.input(2), node.output(0));
    }
  }

  // x W with a constant 2-D W as FullyConnected; anything else (two computed operands, constant
  // operands with batch axes) as the engine's batched MatMul.
  void matmul(const onnx::NodeProto& node) {
    const Constant* constant_b = constant(node, 1);
    if (!constant_b || constant_b->dims.size() != 2 || !p_.shapes.count(node.input(0)) ||
        shape(node.input(0)).size() < 2)
      return batched_matmul(node);
    const std::string& a = node.input(0);
    const Constant& b = *constant_b;
    Shape as = shape(a);
    int64_t k = b.dims[0], m = b.dims[1];
    std::vector<float> w(static_cast<size_t>(m * k));
    for (int64_t r = 0; r < m; ++r)
      for (int64_t c = 0; c < k; ++c) w[static_cast<size_t>(r * k + c)] = static_cast<float>(b.at(static_cast<size_t>(c * m + r)));
    std::string name = op_name(node);
    std::string weight = add_weight(name + "_weight", {m, k}, std::move(w));
    if (as.size() == 2) {
      add_op<fb::FullyConnectedT>(name, {a, weight}, node.output(0));
      return;
    }
    // Leading dimensions fold into rows: [.., K] -> [R, K] -> [R, M] -> [.., M].
    int64_t rows = element_count(as) / k;
    std::string flat = p_.fresh_name(a + "_rows");
    add_reshape(name + "_rows", a, flat, {rows, k});
    std::string fc_out = p_.fresh_name(node.output(0) + "_rows");
    p_.shapes[fc_out] = {rows, m};
    add_op<fb::FullyConnectedT>(name, {flat, weight}, fc_out);
    add_reshape(name + "_unrows", fc_out, node.output(0), shape(node.output(0)));
  }

  // ONNX MatMul as numpy's matmul: a 1-D A is one row and a 1-D B one column, whose axis leaves
  // the result; the batch axes broadcast.
  void batched_matmul(const onnx::NodeProto& node) {
    if (constant(node, 0) && constant(node, 1)) fail(node, "two constant operands");
    const std::string name = op_name(node);
    auto operand = [&](int k) {
      std::string value = constant(node, k) ? weight_input(node, k) : activation(node, k);
      Shape dims = p_.is_weight(value) ? p_.weights.at(value).shape : shape(value);
      if (dims.size() == 1) {
        const Shape matrix = k == 0 ? Shape{1, dims[0]} : Shape{dims[0], 1};
        if (p_.is_weight(value)) {
          value = add_weight(name + (k == 0 ? "_row" : "_column"), matrix, p_.weights.at(value).data);
        } else {
          const std::string reshaped = p_.fresh_name(value + (k == 0 ? "_row" : "_column"));
          add_reshape(name + (k == 0 ? "_row" : "_column"), value, reshaped, matrix);
          value = reshaped;
        }
        dims = matrix;
      }
      return std::make_pair(value, dims);
    };
    const auto [a, as] = operand(0);
    const auto [b, bs] = operand(1);
    if (as.size() > 6 || bs.size() > 6) fail(node, "operands of more than 6 axes");
    if (as.back() != bs[bs.size() - 2]) fail(node, "operands whose inner lengths differ");
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
    const Shape& out = shape(node.output(0));
    if (result == out) {
      add_op<fb::MatMulT>(name, {a, b}, node.output(0));
      return;
    }
    const std::string product = p_.fresh_name(node.output(0) + "_matrix");
    p_.shapes[product] = result;
    add_op<fb::MatMulT>(name, {a, b}, product);
    add_reshape(name + "_vector", product, node.output(0), out);
  }

  // Einsum of two operands as one batched MatMul: A's axes permuted to (batch, free, summed) and
  // B's to (batch, summed, free), each group merged into one axis; the product split and permuted
  // into the output's order (MaxViT's attention: "bghid,bghjd->bghij" and "bghij,bghjd->bghid").
  void einsum(const onnx::NodeProto& node) {
    std::string equation;
    for (char ch : attr_string(node, "equation", ""))
      if (ch != ' ') equation += ch;
    const auto arrow = equation.find("->"), comma = equation.find(',');
    if (node.input_size() != 2 || arrow == std::string::npos || comma == std::string::npos || comma > arrow ||
        equation.find(',', comma + 1) != std::string::npos)
      fail(node, "an equation other than two operands and an explicit output");
    const std::array<std::string, 3> terms{equation.substr(0, comma), equation.substr(comma + 1, arrow - comma - 1),
                                           equation.substr(arrow + 2)};
    for (const std::string& t : terms) {
      if (!std::all_of(t.begin(), t.end(), [](char ch) { return std::isalpha(static_cast<unsigned char>(ch)); }))
        fail(node, "an ellipsis or a character other than a letter in '" + equation + "'");
      std::string sorted = t;
      std::sort(sorted.begin(), sorted.end());
      if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end())
        fail(node, "an index repeated within one term (a diagonal) in '" + equation + "'");
    }
    const std::string& a = activation(node, 0);
    const std::string& b = activation(node, 1);
    const Shape& out = shape(node.output(0));
    if (terms[0].size() != shape(a).size() || terms[1].size() != shape(b).size() || terms[2].size() != out.size())
      fail(node, "terms of '" + equation + "' that do not match the ranks of its operands");
    std::map<char, int64_t> length;
    for (int k = 0; k < 2; ++k)
      for (size_t d = 0; d < terms[static_cast<size_t>(k)].size(); ++d) {
        const int64_t n = shape(k == 0 ? a : b)[d];
        const auto [it, fresh] = length.emplace(terms[static_cast<size_t>(k)][d], n);
        if (!fresh && it->second != n) fail(node, "an index of two lengths (broadcasting) in '" + equation + "'");
      }
    auto in = [](const std::string& t, char ch) { return t.find(ch) != std::string::npos; };
    std::string batch, free_a, free_b, summed;
    for (char ch : terms[0]) {
      if (in(terms[1], ch)) (in(terms[2], ch) ? batch : summed) += ch;
      else if (in(terms[2], ch)) free_a += ch;
      else fail(node, "an index summed over in one operand alone in '" + equation + "'");
    }
    for (char ch : terms[1])
      if (!in(terms[0], ch)) {
        if (!in(terms[2], ch)) fail(node, "an index summed over in one operand alone in '" + equation + "'");
        free_b += ch;
      }
    for (char ch : terms[2])
      if (!in(terms[0], ch) && !in(terms[1], ch)) fail(node, "an output index of neither operand in '" + equation + "'");
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
    const std::string name = op_name(node);
    // `value` (axes named by `term`) permuted into `order`, then reshaped to `merged`.
    auto arrange = [&](const std::string& value, const std::string& term, const std::string& order, const Shape& merged,
                       const std::string& suffix) {
      std::string current = value;
      const auto perm = permutation(term, order);
      if (!is_identity(perm)) {
        current = p_.fresh_name(value + "_" + suffix);
        p_.shapes[current] = lengths(order);
        add_op<fb::TransposeT>(name + "_" + suffix, {value}, current).perm = perm;
      }
      if (shape(current) == merged) return current;
      const std::string rows = p_.fresh_name(value + "_" + suffix + "_rows");
      add_reshape(name + "_" + suffix + "_rows", current, rows, merged);
      return rows;
    };
    const int64_t batches = product(batch), m = product(free_a), k = product(summed), n = product(free_b);
    const std::string a_rows = arrange(a, terms[0], batch + free_a + summed, {batches, m, k}, "a");
    const std::string b_rows = arrange(b, terms[1], batch + summed + free_b, {batches, k, n}, "b");
    const std::string order = batch + free_a + free_b;
    const auto perm = permutation(order, terms[2]);
    const std::string matrix = p_.fresh_name(node.output(0) + "_matrix");
    p_.shapes[matrix] = {batches, m, n};
    add_op<fb::MatMulT>(name, {a_rows, b_rows}, matrix);
    if (is_identity(perm)) return add_reshape(name + "_unrows", matrix, node.output(0), out);
    const std::string split = p_.fresh_name(node.output(0) + "_split");
    add_reshape(name + "_split", matrix, split, lengths(order));
    add_op<fb::TransposeT>(name + "_out", {split}, node.output(0)).perm = perm;
  }

  void batch_norm(const onnx::NodeProto& node) {
    if (attr_int(node, "training_mode", 0) != 0) fail(node, "training_mode=1");
    for (int k = 1; k < node.output_size(); ++k)
      if (!node.output(k).empty()) fail(node, "the training outputs (running mean/var)");
    if (attr_int(node, "spatial", 1) != 1) fail(node, "spatial=0");
    const std::string& x = activation(node, 0);
    float eps = attr_float(node, "epsilon", 1e-5f);
    auto gamma = require_constant(node, 1, "scale").floats();
    auto beta = require_constant(node, 2, "bias").floats();
    auto mean = require_constant(node, 3, "mean").floats();
    auto var = require_constant(node, 4, "variance").floats();
    auto c = static_cast<size_t>(shape(x).size() >= 2 ? shape(x)[1] : 0);
    if (gamma.size() != c || beta.size() != c || mean.size() != c || var.size() != c)
      fail(node, "parameters whose length is not the channel count");
    std::vector<float> scale(c), shift(c);
    for (size_t i = 0; i < c; ++i) {
      scale[i] = static_cast<float>(gamma[i] / std::sqrt(double(var[i]) + eps));
      shift[i] = static_cast<float>(beta[i] - double(mean[i]) * scale[i]);
    }
    std::string name = op_name(node);
    auto ci = static_cast<int64_t>(c);
    add_op<fb::ChannelAffineT>(name,
           {x, add_weight(name + "_scale", {ci}, std::move(scale)), add_weight(name + "_shift", {ci}, std::move(shift))},
           node.output(0));
  }

  float scalar_input(const onnx::NodeProto& node, int k, float fallback) {
    if (!has(node, k)) return fallback;
    const Constant& c = require_constant(node, k, "bound");
    if (c.size() != 1) fail(node, "a bound that is not a scalar");
    return static_cast<float>(c.at(0));
  }

  void activation_op(const onnx::NodeProto& node) {
    const std::string& op_type = node.op_type();
    fb::ActivationT act;
    if (op_type == "Relu") {
      act.kind = fb::ActivationKind::Relu;
    } else if (op_type == "Clip") {
      act.kind = fb::ActivationKind::Clip;
      float lo = std::numeric_limits<float>::lowest(), hi = std::numeric_limits<float>::max();
      if (g_.opset < 11) {
        act.alpha = attr_float(node, "min", lo);
        act.beta = attr_float(node, "max", hi);
      } else {
        act.alpha = scalar_input(node, 1, lo);
        act.beta = scalar_input(node, 2, hi);
      }
    } else if (op_type == "LeakyRelu") {
      act.kind = fb::ActivationKind::LeakyRelu;
      act.alpha = attr_float(node, "alpha", 0.01f);
    } else if (op_type == "Sigmoid") {
      act.kind = fb::ActivationKind::Sigmoid;
    } else if (op_type == "HardSigmoid") {
      act.kind = fb::ActivationKind::HardSigmoid;
      act.alpha = attr_float(node, "alpha", 0.2f);
      act.beta = attr_float(node, "beta", 0.5f);
    } else if (op_type == "HardSwish") {
      act.kind = fb::ActivationKind::HardSwish;
    } else {
      // The parameterless unary ops carry their ONNX names.
      static const std::map<std::string, fb::ActivationKind> kUnary = {
          {"Erf", fb::ActivationKind::Erf},         {"Tanh", fb::ActivationKind::Tanh},
          {"Exp", fb::ActivationKind::Exp},         {"Log", fb::ActivationKind::Log},
          {"Sqrt", fb::ActivationKind::Sqrt},       {"Reciprocal", fb::ActivationKind::Reciprocal},
          {"Abs", fb::ActivationKind::Abs},         {"Softplus", fb::ActivationKind::Softplus},
          {"Mish", fb::ActivationKind::Mish}};
      act.kind = kUnary.at(op_type);
    }
    *add_op<fb::ActivationOpT>(op_name(node), {activation(node, 0)}, node.output(0)).activation = act;
  }

  void prelu(const onnx::NodeProto& node) {
    const std::string& x = activation(node, 0);
    const Constant& slope = require_constant(node, 1, "slope");
    if (classify(slope.dims, shape(x)) == Broadcast::Other)
      fail(node, "a slope of shape " + shape_string(slope.dims) + " that does not broadcast onto " +
                 shape_string(shape(x)) + " along one run of axes");
    add_op<fb::PReluT>(op_name(node), {x, weight_input(node, 1)}, node.output(0));
  }

  void add_binary(const onnx::NodeProto& node, const std::string& name, fb::BinaryKind kind, std::string a,
                  std::string b, const std::string& output) {
    const Shape& out = shape(output);
    auto kind_of = [&](const std::string& v) {
      return classify(p_.is_weight(v) ? p_.weights.at(v).shape : shape(v), out);
    };
    if (kind == fb::BinaryKind::Sub && p_.is_weight(a) && !p_.is_weight(b) && shape(b) == out &&
        kind_of(a) != Broadcast::Same) {
      // c - x (1 - mask in straight-through surrogates) as x * -1 + c: the engine broadcasts
      // only the second operand.
      const std::string negated = p_.fresh_name(output + "_negated");
      p_.shapes[negated] = out;
      add_op<fb::BinaryT>(name + "_negate", {b, add_weight(name + "_minus_one", {1}, {-1.0f})}, negated).kind =
          fb::BinaryKind::Mul;
      return add_binary(node, name, fb::BinaryKind::Add, negated, a, output);
    }
    bool commutative = kind == fb::BinaryKind::Add || kind == fb::BinaryKind::Mul || kind == fb::BinaryKind::Min ||
                       kind == fb::BinaryKind::Max;
    bool a_full = kind_of(a) == Broadcast::Same && (p_.is_weight(a) || shape(a) == out);
    if (commutative && (!a_full || p_.is_weight(a))) std::swap(a, b);
    a_full = kind_of(a) == Broadcast::Same && (p_.is_weight(a) || shape(a) == out);
    if (!a_full)
      fail(node, "broadcasting the first operand (" + a + ") of a non-commutative op to shape " + shape_string(out));
    auto b_kind = kind_of(b);
    if (p_.is_weight(b) && b_kind == Broadcast::Other) {
      // A constant the engine cannot broadcast is stored repeated to the full shape.
      Constant c;
      c.dims = p_.weights.at(b).shape;
      c.f = p_.weights.at(b).data;
      b = add_weight(name + "_operand", out, expand(c, out));
    } else if (!p_.is_weight(b) && b_kind == Broadcast::Other) {
      fail(node, "broadcasting a computed operand of shape " + shape_string(shape(b)) + " to " + shape_string(out));
    }
    add_op<fb::BinaryT>(name, {a, b}, output).kind = kind;
  }

  std::string operand(const onnx::NodeProto& node, int k) {
    return constant(node, k) ? weight_input(node, k) : node.input(k);
  }

  void binary(const onnx::NodeProto& node) {
    const std::string& op = node.op_type();
    fb::BinaryKind kind = op == "Add"   ? fb::BinaryKind::Add
                          : op == "Sub" ? fb::BinaryKind::Sub
                          : op == "Mul" ? fb::BinaryKind::Mul
                          : op == "Div" ? fb::BinaryKind::Div
                                        : fb::BinaryKind::Pow;
    add_binary(node, op_name(node), kind, operand(node, 0), operand(node, 1), node.output(0));
  }

  // Min and Max take one or more inputs: a chain of pairs, each broadcast to the output.
  void min_max(const onnx::NodeProto& node) {
    const fb::BinaryKind kind = node.op_type() == "Min" ? fb::BinaryKind::Min : fb::BinaryKind::Max;
    const std::string name = op_name(node);
    const Shape& out = shape(node.output(0));
    if (node.input_size() == 1) {
      add_reshape(name, activation(node, 0), node.output(0), out);
      return;
    }
    std::string acc = operand(node, 0);
    for (int k = 1; k < node.input_size(); ++k) {
      const bool last = k + 1 == node.input_size();
      std::string partial = last ? node.output(0) : p_.fresh_name(node.output(0) + "_" + std::to_string(k));
      if (!last) p_.shapes[partial] = out;
      add_binary(node, last ? name : name + "_" + std::to_string(k), kind, acc, operand(node, k), partial);
      acc = partial;
    }
  }

  void concat(const onnx::NodeProto& node) {
    const Shape& out = shape(node.output(0));
    std::vector<std::string> inputs;
    for (int k = 0; k < node.input_size(); ++k) inputs.push_back(operand(node, k));
    int64_t axis = attr_int(node, "axis", 0);
    if (axis < 0) axis += static_cast<int64_t>(out.size());
    add_op<fb::ConcatT>(op_name(node), inputs, node.output(0)).axis = static_cast<int32_t>(axis);
  }

  void softmax(const onnx::NodeProto& node) {
    const std::string& x = activation(node, 0);
    const Shape& in = shape(x);
    auto rank = static_cast<int64_t>(in.size());
    int64_t axis = attr_int(node, "axis", g_.opset < 13 ? 1 : -1);
    if (axis < 0) axis += rank;
    std::string name = op_name(node);
    // Before opset 13 Softmax normalizes over all dimensions from axis on, as one row.
    if (g_.opset >= 13 || axis == rank - 1) {
      add_op<fb::SoftmaxT>(name, {x}, node.output(0)).axis = static_cast<int32_t>(axis);
      return;
    }
    int64_t outer = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= in[static_cast<size_t>(d)];
    Shape rows{outer, element_count(in) / outer};
    std::string flat = p_.fresh_name(x + "_rows");
    add_reshape(name + "_rows", x, flat, rows);
    std::string soft = p_.fresh_name(node.output(0) + "_rows");
    p_.shapes[soft] = rows;
    add_op<fb::SoftmaxT>(name, {flat}, soft).axis = 1;
    add_reshape(name + "_unrows", soft, node.output(0), shape(node.output(0)));
  }

  void pad(const onnx::NodeProto& node) {
    const std::string& x = activation(node, 0);
    std::vector<int64_t> pads;
    float value = 0;
    if (g_.opset < 11) {
      pads = attr_ints(node, g_.opset < 2 ? "paddings" : "pads");
      value = attr_float(node, "value", 0.0f);
    } else {
      pads = require_constant(node, 1, "pads").ints();
      value = scalar_input(node, 2, 0.0f);
      if (has(node, 3)) fail(node, "the axes input");
    }
    if (pads.size() != 2 * shape(x).size()) fail(node, "pads that do not cover every axis");
    if (std::any_of(pads.begin(), pads.end(), [](int64_t v) { return v < 0; })) fail(node, "negative pads");
    // PyTorch exports ceil-mode pooling as a Pad of nothing in front of the pool.
    if (std::all_of(pads.begin(), pads.end(), [](int64_t v) { return v == 0; }))
      return add_reshape(op_name(node), x, node.output(0), shape(x));
    std::string mode = attr_string(node, "mode", "constant");
    auto& op = add_op<fb::PadT>(op_name(node), {x}, node.output(0));
    if (mode == "constant") op.mode = fb::PadMode::Constant;
    else if (mode == "reflect") op.mode = fb::PadMode::Reflect;
    else if (mode == "edge") op.mode = fb::PadMode::Edge;
    else fail(node, "mode=" + mode);
    op.pads = pads;
    op.value = value;
  }

  // A permutation that keeps the order of the axes longer than 1 moves no data: a Reshape.
  void transpose(const onnx::NodeProto& node) {
    const std::string& x = activation(node, 0);
    const auto rank = static_cast<int64_t>(shape(x).size());
    std::vector<int64_t> perm = attr_ints(node, "perm");
    if (perm.empty())
      for (int64_t d = rank; d-- > 0;) perm.push_back(d);
    std::vector<int64_t> sorted = perm, moved;
    std::sort(sorted.begin(), sorted.end());
    std::vector<int64_t> identity(static_cast<size_t>(rank));
    std::iota(identity.begin(), identity.end(), 0);
    if (sorted != identity) fail(node, "a perm that is not a permutation of the input's axes");
    if (rank > 6) fail(node, "rank " + std::to_string(rank) + " (the engine transposes up to rank 6)");
    for (int64_t p : perm)
      if (shape(x)[static_cast<size_t>(p)] != 1) moved.push_back(p);
    if (std::is_sorted(moved.begin(), moved.end()))
      return add_reshape(op_name(node), x, node.output(0), shape(node.output(0)));
    add_op<fb::TransposeT>(op_name(node), {x}, node.output(0)).perm.assign(perm.begin(), perm.end());
  }

  // Resize (opset 10: asymmetric coordinates; 11 on: every transformation but tf_crop_and_resize)
  // and Upsample (asymmetric, nearest rounding down), of H and W of an NCHW tensor.
  void resize(const onnx::NodeProto& node) {
    const std::string& x = activation(node, 0);
    const Shape& in = shape(x);
    const Shape& out = shape(node.output(0));
    if (in.size() != 4) fail(node, "a resize of a tensor that is not NCHW");
    const bool upsample = node.op_type() == "Upsample";
    const bool legacy = upsample || g_.opset < 11;
    std::vector<float> scales;
    if (upsample && g_.opset < 9) {
      const auto* a = find_attr(node, "scales");
      if (a) scales.assign(a->floats().begin(), a->floats().end());
    } else {
      const int scales_k = legacy ? 1 : 2;
      if (has(node, scales_k)) scales = require_constant(node, scales_k, "scales").floats();
      if (!legacy && has(node, 3)) require_constant(node, 3, "sizes");
    }
    if (!legacy && has(node, 1) && !constant(node, 1)) fail(node, "a computed roi");
    if (!scales.empty() && scales.size() != 4) fail(node, std::to_string(scales.size()) + " scales for a rank-4 input");
    if (out[0] != in[0] || out[1] != in[1] || (!scales.empty() && (scales[0] != 1 || scales[1] != 1)))
      fail(node, "resizing N or C (only H and W are resized)");
    if (attr_ints(node, "axes").size()) fail(node, "the axes attribute");
    if (attr_string(node, "keep_aspect_ratio_policy", "stretch") != "stretch") fail(node, "keep_aspect_ratio_policy");
    if (attr_int(node, "antialias", 0) != 0) fail(node, "antialias=1");
    auto& op = add_op<fb::ResizeT>(op_name(node), {x}, node.output(0));
    if (!scales.empty()) op.scales = {scales[2], scales[3]};
    const std::string mode = attr_string(node, "mode", "nearest");
    if (mode == "linear" || mode == "bilinear") op.mode = fb::ResizeMode::Linear;
    else if (mode != "nearest") fail(node, "mode=" + mode);
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
    if (t == transforms.end()) fail(node, "coordinate_transformation_mode=" + transform);
    op.coordinates = t->second;
    const std::string nearest = attr_string(node, "nearest_mode", "round_prefer_floor");
    const std::map<std::string, fb::ResizeNearest> nearest_modes{
        {"round_prefer_floor", fb::ResizeNearest::RoundPreferFloor},
        {"round_prefer_ceil", fb::ResizeNearest::RoundPreferCeil},
        {"floor", fb::ResizeNearest::Floor},
        {"ceil", fb::ResizeNearest::Ceil}};
    auto n = nearest_modes.find(nearest);
    if (n == nearest_modes.end()) fail(node, "nearest_mode=" + nearest);
    op.nearest = n->second;
  }

  // Models quantized elsewhere. An int8 or uint8 ONNX tensor becomes an engine Int8 tensor
  // (uint8 values and zero points shifted by -128, which keeps every real value), quantized as the
  // QuantizeLinear/QLinearConv/QLinearMatMul that computes it says; its readers must agree. Other
  // ops are lowered as float ops and so must not read one.

  // A quantization in engine terms, and whether the ONNX tensor is uint8.
  struct Quantized {
    Quantization q;
    bool is_uint8 = false;
  };

  static std::string number(double v) {
    std::ostringstream out;
    out << std::setprecision(9) << v;
    return out.str();
  }

  // Weight scales: one, or one per output channel.
  std::vector<double> scales(const onnx::NodeProto& node, int k, const std::string& what, int64_t count) {
    const Constant& c = require_constant(node, k, what);
    if (!c.is_float) fail(node, "an integer " + what);
    if (c.size() != 1 && static_cast<int64_t>(c.size()) != count)
      fail(node, "a " + what + " of " + std::to_string(c.size()) + " values (one, or one per output channel, " +
                     std::to_string(count) + ", expected)");
    std::vector<double> values;
    for (size_t i = 0; i < c.size(); ++i) {
      values.push_back(c.at(i));
      if (!(values.back() > 0) || !std::isfinite(values.back()))
        fail(node, "a " + what + " that is not positive and finite (" + number(values.back()) + ")");
    }
    return values;
  }

  // The quantization of an int8 tensor from its per-tensor scale and zero point inputs (an absent
  // zero point is 0 of the tensor's type). Engine activations have one scale and zero point.
  Quantized quantization(const onnx::NodeProto& node, int scale_k, int zero_point_k, const std::string& prefix,
                         bool default_uint8) {
    const Constant& scale = require_constant(node, scale_k, prefix + "_scale");
    if (!scale.is_float) fail(node, "an integer " + prefix + "_scale");
    if (scale.size() != 1)
      fail(node, "per-axis quantization (" + std::to_string(scale.size()) + " values of " + prefix +
                     "_scale; vkbnn quantizes an activation with one scale and zero point per tensor)");
    Quantized result{{static_cast<float>(scale.at(0)), 0}, default_uint8};
    if (!(result.q.scale > 0) || !std::isfinite(result.q.scale))
      fail(node, "a " + prefix + "_scale that is not positive and finite (" + number(result.q.scale) + ")");
    if (!has(node, zero_point_k)) {
      result.q.zero_point = default_uint8 ? -128 : 0;
      return result;
    }
    const Constant& zero_point = require_constant(node, zero_point_k, prefix + "_zero_point");
    if (zero_point.size() != 1)
      fail(node, "per-axis quantization (" + std::to_string(zero_point.size()) + " values of " + prefix +
                     "_zero_point; vkbnn quantizes an activation with one scale and zero point per tensor)");
    if (zero_point.int8_type == 0) fail(node, "a " + prefix + "_zero_point that is neither INT8 nor UINT8");
    result.is_uint8 = zero_point.int8_type == onnx::TensorProto_DataType_UINT8;
    result.q.zero_point = static_cast<int32_t>(zero_point.i[0]) - (result.is_uint8 ? 128 : 0);
    return result;
  }

  // The engine tensor of int8 input k, read with the scale and zero point of inputs scale_k and
  // zero_point_k, which must be those it was computed with.
  std::string int8_input(const onnx::NodeProto& node, int k, int scale_k, int zero_point_k, const std::string& prefix) {
    auto it = int8_.find(node.input(k));
    if (it == int8_.end())
      fail(node, "an input '" + node.input(k) +
                     "' that is not an int8 tensor computed by QuantizeLinear, QLinearConv or QLinearMatMul");
    const Int8Value& value = it->second;
    const Quantized read = quantization(node, scale_k, zero_point_k, prefix, value.is_uint8);
    const Quantization& q = p_.int8_values.at(value.tensor);
    if (read.q.scale != q.scale || read.q.zero_point != q.zero_point) {
      const int32_t shift = value.is_uint8 ? 128 : 0;
      fail(node, prefix + "_scale " + number(read.q.scale) + " and " + prefix + "_zero_point " +
                     std::to_string(read.q.zero_point + shift) + " for input '" + node.input(k) + "', which op '" +
                     value.op + "' at node " + value.node + " computes with scale " + number(q.scale) +
                     " and zero point " + std::to_string(q.zero_point + shift) +
                     " (an int8 tensor has one quantization; vkbnn does not requantize it for a reader)");
    }
    return value.tensor;
  }

  void add_int8_value(const onnx::NodeProto& node, const std::string& onnx_name, const std::string& tensor,
                      const Quantized& q) {
    p_.int8_values[tensor] = q.q;
    int8_[onnx_name] = {tensor, q.is_uint8, node.op_type(), node_label(g_, node)};
  }

  void quantize_linear(const onnx::NodeProto& node) {
    const std::string& x = activation(node, 0);
    const Quantized q = quantization(node, 1, 2, "y", true);
    const std::string name = op_name(node);
    std::string in = x, out = node.output(0);
    // The int8 ops need a channel axis: a scalar or vector is held as one row.
    if (shape(x).size() < 2) {
      const Shape rows{1, element_count(shape(x))};
      in = p_.fresh_name(x + "_rows");
      add_reshape(name + "_rows", x, in, rows);
      out = p_.fresh_name(node.output(0) + "_rows");
      p_.shapes[out] = rows;
    }
    add_int8_value(node, node.output(0), out, q);
    add_op<fb::QuantizeT>(name, {in}, out);
  }

  void dequantize_linear(const onnx::NodeProto& node) {
    const std::string x = int8_input(node, 0, 1, 2, "x");
    const std::string name = op_name(node);
    const Shape& out = shape(node.output(0));
    if (shape(x) == out) {
      add_op<fb::DequantizeT>(name, {x}, node.output(0));
      return;
    }
    const std::string rows = p_.fresh_name(node.output(0) + "_rows");
    p_.shapes[rows] = shape(x);
    add_op<fb::DequantizeT>(name, {x}, rows);
    add_reshape(name + "_unrows", rows, node.output(0), out);
  }

  // Int8Conv2D/Int8FullyConnected inputs after X, for integer weights w [M, ...] with their zero
  // points and scales (one, or one per output channel), an optional int32 bias B [M] at scale
  // x_scale * w_scale, and the input and output quantizations. ONNX's accumulator is
  // B + sum (x - x_zp) (w - w_zp); the engine's is B' + sum x w' with padded taps reading x_zp, so
  // w' = w - w_zp and B' = B - x_zp * sum w'. Where w - w_zp leaves int8, a common factor g of
  // the channel's w - w_zp and B may bring it back: w' = (w - w_zp) / g, B' = B / g - x_zp * sum w',
  // and g moves into the requantization multiplier; the accumulator is exactly ONNX's / g.
  std::vector<std::string> int8_weights(const onnx::NodeProto& node, const Shape& w_shape,
                                        const std::vector<int64_t>& w, const Constant& w_zero_point,
                                        const std::vector<double>& w_scale, const Constant* bias, Quantization qx,
                                        Quantization qy) {
    const int64_t m = w_shape[0], per = element_count(w_shape) / m;
    if (w_zero_point.is_float || (w_zero_point.size() != 1 && static_cast<int64_t>(w_zero_point.size()) != m))
      fail(node, "a weight zero point that is not one integer, or one per output channel");
    if (bias && (bias->is_float || static_cast<int64_t>(bias->size()) != m))
      fail(node, "a bias that is not " + std::to_string(m) + " integers");
    const std::string name = op_name(node);
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
        fail(node, "weights whose difference from their zero point spans [" + std::to_string(lo) + ", " +
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
        fail(node, "a bias that leaves int32 once the input zero point is folded in (output channel " +
                       std::to_string(c) + ")");
      b.int32[static_cast<size_t>(c)] = static_cast<int32_t>(acc_bias);
      const double real = double{qx.scale} * w_scale[w_scale.size() == 1 ? 0 : static_cast<size_t>(c)] *
                          static_cast<double>(g) / double{qy.scale};
      FixedPoint fp;
      try {
        fp = fixed_point(real);
      } catch (const ModelError&) {
        fail(node, "a requantization multiplier x_scale * w_scale / y_scale of " + number(real) +
                       " in output channel " + std::to_string(c) + ", which is too large");
      }
      multiplier.int32[static_cast<size_t>(c)] = fp.multiplier;
      shift.int32[static_cast<size_t>(c)] = fp.shift;
    }
    auto add = [&](const std::string& base, Weight weight) {
      const std::string weight_name = p_.fresh_name(base);
      p_.weights[weight_name] = std::move(weight);
      return weight_name;
    };
    return {add(name + "_weight_int8", std::move(qw)), add(name + "_bias_int32", std::move(b)),
            add(name + "_multiplier", std::move(multiplier)), add(name + "_shift", std::move(shift))};
  }

  // inputs: x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, B.
  void qlinear_conv(const onnx::NodeProto& node) {
    const std::string x = int8_input(node, 0, 1, 2, "x");
    const Constant& w = require_constant(node, 3, "weight");
    if (shape(x).size() != 4 || w.dims.size() != 4) fail(node, "a convolution that is not 2-D");
    if (w.is_float) fail(node, "float weights");
    const Quantized y = quantization(node, 6, 7, "y", int8_.at(node.input(0)).is_uint8);
    const Constant* bias = has(node, 8) ? &require_constant(node, 8, "bias") : nullptr;
    std::vector<std::string> inputs{x};
    for (auto& in : int8_weights(node, w.dims, w.i, require_constant(node, 5, "w_zero_point"),
                                 scales(node, 4, "w_scale", w.dims[0]), bias, p_.int8_values.at(x), y.q))
      inputs.push_back(std::move(in));
    add_int8_value(node, node.output(0), node.output(0), y);
    conv_geometry(node, shape(x), w.dims, add_op<fb::Int8Conv2DT>(op_name(node), inputs, node.output(0)));
  }

  // inputs: a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point; b is
  // constant [K, M] and becomes the [M, K] weights of Int8FullyConnected.
  void qlinear_matmul(const onnx::NodeProto& node) {
    const std::string a = int8_input(node, 0, 1, 2, "a");
    const Constant& b = require_constant(node, 3, "b");
    if (shape(node.input(0)).size() != 2 || b.dims.size() != 2)
      fail(node, "operands other than [N, K] x [K, M] (the engine's int8 matmul is 2-D)");
    if (b.is_float) fail(node, "a float b");
    const Quantized y = quantization(node, 6, 7, "y", int8_.at(node.input(0)).is_uint8);
    const int64_t k = b.dims[0], m = b.dims[1];
    std::vector<int64_t> w(static_cast<size_t>(m * k));
    for (int64_t r = 0; r < m; ++r)
      for (int64_t c = 0; c < k; ++c) w[static_cast<size_t>(r * k + c)] = b.i[static_cast<size_t>(c * m + r)];
    std::vector<std::string> inputs{a};
    for (auto& in : int8_weights(node, {m, k}, w, require_constant(node, 5, "b_zero_point"),
                                 scales(node, 4, "b_scale", m), nullptr, p_.int8_values.at(a), y.q))
      inputs.push_back(std::move(in));
    add_int8_value(node, node.output(0), node.output(0), y);
    add_op<fb::Int8FullyConnectedT>(op_name(node), inputs, node.output(0));
  }

  // An int8 ONNX value: the engine tensor holding it, its ONNX type, and what computed it.
  struct Int8Value {
    std::string tensor;
    bool is_uint8 = false;
    std::string op, node;
  };

  const ImportedGraph& g_;
  Program p_;
  std::map<std::string, Int8Value> int8_;
};

}  // namespace

std::string Program::fresh_name(const std::string& base) {
  std::string name = base;
  for (int k = 1; shapes.count(name) || weights.count(name) || reserved.count(name); ++k) name = base + "_" + std::to_string(k);
  return name;
}

Program lower(const ImportedGraph& graph) { return Lowerer(graph).run(); }

const std::set<std::string>& lowered_onnx_ops() {
  static const std::set<std::string> types = [] {
    std::set<std::string> all;
    for (const auto& l : Lowerer::lowerings()) all.insert(l.onnx_ops.begin(), l.onnx_ops.end());
    return all;
  }();
  return types;
}

}  // namespace vkbnn::convert::detail

namespace vkbnn::convert {

std::vector<SupportedOps> supported_ops() {
  std::vector<SupportedOps> all;
  for (const auto& l : detail::Lowerer::lowerings()) all.push_back({l.onnx_ops, l.notes});
  return all;
}

}  // namespace vkbnn::convert
