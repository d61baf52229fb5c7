#include <cmath>
#include <map>
#include <sstream>

#include "ir.hpp"
#include "model_writer.hpp"

namespace vkbnn::convert::detail {
namespace {

flatbuffers::Offset<fb::Activation> activation_table(flatbuffers::FlatBufferBuilder& b, const Activation& act) {
  return fb::CreateActivation(b, act.kind, act.alpha, act.beta);
}

flatbuffers::Offset<fb::BinaryEpilogue> epilogue_table(flatbuffers::FlatBufferBuilder& b, const BinaryEpilogue& e) {
  flatbuffers::Offset<fb::ElasticLink> link = 0;
  if (e.has_link) link = fb::CreateElasticLink(b, e.channels, e.group_order, e.reduce, e.pool);
  return fb::CreateBinaryEpilogue(b, e.activation, e.activation_after_link, link);
}

flatbuffers::Offset<void> params(flatbuffers::FlatBufferBuilder& b, const Op& op, const Program& p) {
  switch (op.type) {
    case OpType::Conv:
      return fb::CreateConv2DDirect(b, &op.kernel, &op.strides, &op.dilations, &op.pads, op.group,
                                    activation_table(b, op.act)).Union();
    case OpType::FullyConnected:
      return fb::CreateFullyConnected(b, activation_table(b, op.act)).Union();
    case OpType::ChannelAffine:
      return fb::CreateChannelAffine(b, activation_table(b, op.act)).Union();
    case OpType::Activation:
      return fb::CreateActivationOp(b, activation_table(b, op.act)).Union();
    case OpType::PRelu:
      return fb::CreatePRelu(b).Union();
    case OpType::Pool:
      return fb::CreatePool2DDirect(b, op.pool, &op.kernel, &op.strides, &op.dilations, &op.pads,
                                    op.count_include_pad).Union();
    case OpType::GlobalPool:
      return fb::CreateGlobalPool(b, op.pool).Union();
    case OpType::Binary:
      return fb::CreateBinary(b, op.binary, activation_table(b, op.act)).Union();
    case OpType::Concat:
      return fb::CreateConcat(b, op.axis).Union();
    case OpType::Reshape:
      return fb::CreateReshape(b).Union();
    case OpType::Softmax:
      return fb::CreateSoftmax(b, op.axis).Union();
    case OpType::Pad:
      return fb::CreatePadDirect(b, &op.pad_amounts, op.pad_mode, op.pad_value).Union();
    case OpType::Transpose:
      return fb::CreateTransposeDirect(b, &op.perm).Union();
    case OpType::Resize:
      return fb::CreateResizeDirect(b, op.resize_mode, op.coordinates, op.nearest, op.scales.empty() ? nullptr : &op.scales)
          .Union();
    case OpType::Binarize:
      return fb::CreateBinarize(b).Union();
    case OpType::BinaryConv:
      return fb::CreateBinaryConv2DDirect(b, &op.kernel, &op.strides, &op.dilations, &op.pads, op.padding,
                                          epilogue_table(b, op.epilogue), op.group).Union();
    case OpType::BinaryFullyConnected:
      return fb::CreateBinaryFullyConnected(b, epilogue_table(b, op.epilogue)).Union();
    case OpType::Quantize:
      return fb::CreateQuantize(b).Union();
    case OpType::Dequantize:
      return fb::CreateDequantize(b).Union();
    case OpType::Int8Conv:
      return fb::CreateInt8Conv2DDirect(b, &op.kernel, &op.strides, &op.dilations, &op.pads, op.group, op.clamp_min,
                                        op.clamp_max).Union();
    case OpType::Int8FullyConnected:
      return fb::CreateInt8FullyConnected(b, op.clamp_min, op.clamp_max).Union();
    case OpType::Int8Add:
      return fb::CreateInt8Add(b, op.multiplier_a, op.multiplier_b, op.shift, op.clamp_min, op.clamp_max).Union();
    case OpType::Int8GlobalPool:
      return fb::CreateInt8GlobalAveragePool(b, op.multiplier_a, op.shift).Union();
    case OpType::Slice: {
      const Shape& in = p.shapes.at(op.inputs[0]);
      std::vector<int64_t> starts(in.size(), 0), steps(in.size(), 1);
      starts[static_cast<size_t>(op.axis)] = op.slice_start;
      return fb::CreateSliceDirect(b, &starts, &steps).Union();
    }
    case OpType::Sign:
    case OpType::Compare:
    case OpType::Not:
    case OpType::Where:
    case OpType::Cast:
    case OpType::Tile:
    case OpType::Expand:
    case OpType::Reduce:
      break;
  }
  throw ModelError("unknown op type");
}

// Ops that only exist inside patterns the binarization pass fuses: say which pattern was missed,
// and why a layer's input was no binarization where the pass found one spelled.
void reject_unfused(const Op& op, const Program& p) {
  if (op.type == OpType::Sign || op.type == OpType::Compare || op.type == OpType::Not || op.type == OpType::Where ||
      op.type == OpType::Cast) {
    std::string why;
    for (const auto& [layer, note] : p.layer_notes)
      if (note.find("not a binarization") != std::string::npos) why += "; layer '" + layer + "' " + note;
    throw UnsupportedError("op '" + std::string(op_type_name(op.type)) + "' at node '" + op.name +
                           "' is supported only where it computes the binarization +-a * sign(x - t) of the input of "
                           "a convolution or Gemm/MatMul, and it feeds something else or computes something else" +
                           why);
  }
  if (op.type == OpType::Tile || op.type == OpType::Expand || op.type == OpType::Reduce)
    throw UnsupportedError("op '" + std::string(op_type_name(op.type)) + "' at node '" + op.name +
                           "' is supported only as the channel matching of an Elastic-Link add after a binary "
                           "convolution (reducing axes other than all those after N and C)");
}

const char* precision_of(const Op& op, const Program& p) {
  switch (op.type) {
    case OpType::BinaryConv:
    case OpType::BinaryFullyConnected: return op.epilogue.has_link ? "binary+EL" : "binary";
    case OpType::Reshape: return "-";
    case OpType::Quantize:
    case OpType::Dequantize:
    case OpType::Int8Conv:
    case OpType::Int8FullyConnected:
    case OpType::Int8Add:
    case OpType::Int8GlobalPool: return "int8";
    default: return p.bit_values.count(op.output) ? "bits" : p.int8_values.count(op.output) ? "int8" : "fp32";
  }
}

fb::OpParams params_type(OpType type) {
  switch (type) {
    case OpType::Conv: return fb::OpParams::Conv2D;
    case OpType::FullyConnected: return fb::OpParams::FullyConnected;
    case OpType::ChannelAffine: return fb::OpParams::ChannelAffine;
    case OpType::Activation: return fb::OpParams::ActivationOp;
    case OpType::PRelu: return fb::OpParams::PRelu;
    case OpType::Pool: return fb::OpParams::Pool2D;
    case OpType::GlobalPool: return fb::OpParams::GlobalPool;
    case OpType::Binary: return fb::OpParams::Binary;
    case OpType::Concat: return fb::OpParams::Concat;
    case OpType::Reshape: return fb::OpParams::Reshape;
    case OpType::Softmax: return fb::OpParams::Softmax;
    case OpType::Pad: return fb::OpParams::Pad;
    case OpType::Transpose: return fb::OpParams::Transpose;
    case OpType::Resize: return fb::OpParams::Resize;
    case OpType::Binarize: return fb::OpParams::Binarize;
    case OpType::BinaryConv: return fb::OpParams::BinaryConv2D;
    case OpType::BinaryFullyConnected: return fb::OpParams::BinaryFullyConnected;
    case OpType::Quantize: return fb::OpParams::Quantize;
    case OpType::Dequantize: return fb::OpParams::Dequantize;
    case OpType::Int8Conv: return fb::OpParams::Int8Conv2D;
    case OpType::Int8FullyConnected: return fb::OpParams::Int8FullyConnected;
    case OpType::Int8Add: return fb::OpParams::Int8Add;
    case OpType::Int8GlobalPool: return fb::OpParams::Int8GlobalAveragePool;
    case OpType::Slice: return fb::OpParams::Slice;
    case OpType::Sign:
    case OpType::Compare:
    case OpType::Not:
    case OpType::Where:
    case OpType::Cast:
    case OpType::Tile:
    case OpType::Expand:
    case OpType::Reduce:
      break;
  }
  throw ModelError("unknown op type");
}

ModelMetadata metadata_for(const Program& p, const Options& options) {
  ModelMetadata meta;
  const Shape& in = p.shapes.at(p.inputs.at(0));
  size_t channels = 0;
  if (in.size() == 4) {
    channels = static_cast<size_t>(in[1]);
    meta.input_height = static_cast<int>(in[2]);
    meta.input_width = static_cast<int>(in[3]);
  }
  meta.layout = "NCHW";
  meta.channel_order = options.channel_order.value_or(channels == 1 ? ChannelOrder::Gray : ChannelOrder::RGB);
  auto per_channel = [&](const std::vector<float>& given, float fallback, const char* what) {
    if (given.empty()) return std::vector<float>(channels, fallback);
    if (given.size() != channels)
      throw ModelError(std::string("--") + what + " has " + std::to_string(given.size()) +
                       " values but the input has " + std::to_string(channels) + " channels");
    return given;
  };
  meta.mean = per_channel(options.mean, 0.0f, "mean");
  meta.std = per_channel(options.std, 1.0f, "std");
  for (float v : meta.std)
    if (!(v > 0.0f) || !std::isfinite(v)) throw ModelError("--std values must be positive");
  for (float v : meta.mean)
    if (!std::isfinite(v)) throw ModelError("--mean values must be finite");
  meta.labels = options.labels;
  meta.description = options.description;
  return meta;
}

}  // namespace

const char* op_type_name(OpType type) {
  switch (type) {
    case OpType::Conv: return "Conv2D";
    case OpType::FullyConnected: return "FullyConnected";
    case OpType::ChannelAffine: return "ChannelAffine";
    case OpType::Activation: return "Activation";
    case OpType::PRelu: return "PRelu";
    case OpType::Pool: return "Pool2D";
    case OpType::GlobalPool: return "GlobalPool";
    case OpType::Binary: return "Binary";
    case OpType::Concat: return "Concat";
    case OpType::Reshape: return "Reshape";
    case OpType::Softmax: return "Softmax";
    case OpType::Pad: return "Pad";
    case OpType::Transpose: return "Transpose";
    case OpType::Resize: return "Resize";
    case OpType::Binarize: return "Binarize";
    case OpType::BinaryConv: return "BinaryConv2D";
    case OpType::BinaryFullyConnected: return "BinaryFullyConnected";
    case OpType::Sign: return "Sign";
    case OpType::Compare: return "Compare";
    case OpType::Not: return "Not";
    case OpType::Where: return "Where";
    case OpType::Cast: return "Cast";
    case OpType::Tile: return "Tile";
    case OpType::Expand: return "Expand";
    case OpType::Slice: return "Slice";
    case OpType::Reduce: return "Reduce";
    case OpType::Quantize: return "Quantize";
    case OpType::Dequantize: return "Dequantize";
    case OpType::Int8Conv: return "Int8Conv2D";
    case OpType::Int8FullyConnected: return "Int8FullyConnected";
    case OpType::Int8Add: return "Int8Add";
    case OpType::Int8GlobalPool: return "Int8GlobalAveragePool";
  }
  return "?";
}

std::string activation_string(const Activation& act) {
  auto number = [](float v) {
    std::ostringstream out;
    out << v;
    return out.str();
  };
  switch (act.kind) {
    case fb::ActivationKind::None: return "";
    case fb::ActivationKind::Relu: return "Relu";
    case fb::ActivationKind::Clip: return "Clip(" + number(act.alpha) + "," + number(act.beta) + ")";
    case fb::ActivationKind::LeakyRelu: return "LeakyRelu(" + number(act.alpha) + ")";
    case fb::ActivationKind::Sigmoid: return "Sigmoid";
    case fb::ActivationKind::HardSigmoid: return "HardSigmoid(" + number(act.alpha) + "," + number(act.beta) + ")";
    case fb::ActivationKind::HardSwish: return "HardSwish";
  }
  return "?";
}

Result emit(const Program& p, const ImportedGraph& graph, const Options& options) {
  Result result;
  Summary& s = result.summary;
  ModelWriter writer;
  std::map<std::string, uint32_t> tensors;
  auto tensor = [&](const std::string& name) {
    auto it = tensors.find(name);
    if (it != tensors.end()) return it->second;
    uint32_t index;
    if (auto w = p.weights.find(name); w != p.weights.end()) {
      const Weight& weight = w->second;
      if (!weight.bits.empty()) {
        index = writer.add_bit_constant(name, weight.shape, weight.bits);
        s.weight_bytes += weight.bits.size() * sizeof(uint32_t);
      } else if (!weight.int8.empty()) {
        index = writer.add_int8_constant(name, weight.shape, weight.int8);
        const int64_t channels = weight.shape.size() < 2 ? 1 : weight.shape[1];
        s.weight_bytes += static_cast<size_t>(element_count(weight.shape) / channels * ((channels + 3) / 4) * 4);
      } else if (!weight.int32.empty()) {
        index = writer.add_int32_constant(name, weight.shape, weight.int32);
        s.weight_bytes += weight.int32.size() * sizeof(int32_t);
      } else {
        index = writer.add_constant(name, weight.shape, weight.data);
        s.weight_bytes += weight.data.size() * sizeof(float);
      }
      s.fp32_weight_bytes += static_cast<size_t>(element_count(weight.shape)) * sizeof(float);
    } else {
      const auto axis = p.batch_axes.find(name);
      const auto batch_axis = static_cast<int8_t>(axis == p.batch_axes.end() ? -1 : axis->second);
      if (auto q = p.int8_values.find(name); q != p.int8_values.end())
        index = writer.add_int8_tensor(name, p.shapes.at(name), q->second.scale, q->second.zero_point, batch_axis);
      else
        index = writer.add_tensor(name, p.shapes.at(name),
                                  p.bit_values.count(name) ? fb::DataType::Bit : fb::DataType::Float32, batch_axis);
    }
    tensors[name] = index;
    return index;
  };
  std::vector<uint32_t> inputs;
  for (const auto& name : p.inputs) inputs.push_back(tensor(name));
  for (const auto& op : p.ops) reject_unfused(op, p);
  for (const auto& op : p.ops) {
    std::vector<uint32_t> in;
    NodeSummary node{op.name, op_type_name(op.type), p.shapes.at(op.output), activation_string(op.act), 0,
                     precision_of(op, p), {}};
    if (auto note = p.layer_notes.find(op.name); note != p.layer_notes.end()) node.note = note->second;
    if (op.type == OpType::BinaryConv || op.type == OpType::BinaryFullyConnected)
      node.activation = fb::EnumNameBinaryActivationKind(op.epilogue.activation);
    if (node.activation == "None") node.activation.clear();
    for (const auto& name : op.inputs) {
      in.push_back(tensor(name));
      if (p.is_weight(name)) node.params += static_cast<size_t>(element_count(p.weights.at(name).shape));
    }
    uint32_t out = tensor(op.output);
    writer.add_node(op.name, params_type(op.type), params(writer.builder(), op, p), in, {out});
    s.nodes.push_back(std::move(node));
  }
  std::vector<uint32_t> outputs;
  for (const auto& name : p.outputs) {
    if (!tensors.count(name))
      throw UnsupportedError("graph output '" + name + "' is not computed by any supported node");
    outputs.push_back(tensors.at(name));
  }
  writer.set_inputs(inputs);
  writer.set_outputs(outputs);
  writer.set_metadata(metadata_for(p, options));
  writer.set_producer(std::string("vkbnn-convert ") + VKBNN_VERSION);
  writer.set_batch(p.batch);
  result.bytes = writer.finish();
  s.onnx_nodes = graph.onnx_nodes;
  s.folded_constants = graph.folded;
  s.folded_batchnorms = p.folded_batchnorms;
  s.fused_activations = p.fused_activations;
  s.file_bytes = result.bytes.size();
  s.notes = p.notes;
  return result;
}

}  // namespace vkbnn::convert::detail
