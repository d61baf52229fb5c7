#include <cmath>
#include <map>

#include "ir.hpp"
#include "writer/model_writer.hpp"

namespace vkbnn::convert::detail {
namespace {

// The passes turn every pattern op into an op of the file (lower_unfused_patterns, and the Tile
// and Expand that no Elastic-Link took into engine Tiles).
void reject_patterns(const Op& op) {
  if (op.is_pattern())
    throw InternalError("pattern op '" + op.type_name() + "' at node '" + op.name + "' left after the passes");
}

const char* precision_of(const Op& op, const Program& p) {
  switch (op.params.type) {
    case fb::OpParams::BinaryConv2D: return op.get<fb::BinaryConv2DT>()->epilogue->link ? "binary+EL" : "binary";
    case fb::OpParams::BinaryFullyConnected:
      return op.get<fb::BinaryFullyConnectedT>()->epilogue->link ? "binary+EL" : "binary";
    case fb::OpParams::Reshape: return "-";
    case fb::OpParams::Quantize:
    case fb::OpParams::Dequantize:
    case fb::OpParams::Int8Conv2D:
    case fb::OpParams::Int8FullyConnected:
    case fb::OpParams::Int8Add:
    case fb::OpParams::Int8GlobalAveragePool: return "int8";
    default: return p.bit_values.count(op.output) ? "bits" : p.int8_values.count(op.output) ? "int8" : "fp32";
  }
}

// The activation a binary layer's epilogue applies, for the summary.
std::string epilogue_activation(const Op& op) {
  const fb::BinaryEpilogueT* e = nullptr;
  if (auto* conv = op.get<fb::BinaryConv2DT>()) e = conv->epilogue.get();
  if (auto* fc = op.get<fb::BinaryFullyConnectedT>()) e = fc->epilogue.get();
  return e ? fb::EnumNameBinaryActivationKind(e->activation) : activation_string(op.act());
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
                                  p.bit_values.count(name) ? fb::DataType::Bit : fb::DataType::Float32, batch_axis,
                                  !p.bit_values.count(name) && p.integer_values.count(name),
                                  !p.bit_values.count(name) && p.boolean_outputs.count(name));
    }
    tensors[name] = index;
    return index;
  };
  std::vector<uint32_t> inputs;
  for (const auto& name : p.inputs) inputs.push_back(tensor(name));
  for (const auto& op : p.ops) reject_patterns(op);
  for (const auto& op : p.ops) {
    std::vector<uint32_t> in;
    NodeSummary node{op.name, op.type_name(), p.shapes.at(op.output), epilogue_activation(op), 0,
                     precision_of(op, p), {}};
    if (auto note = p.layer_notes.find(op.name); note != p.layer_notes.end()) node.note = note->second;
    if (node.activation == "None") node.activation.clear();
    for (const auto& name : op.inputs) {
      in.push_back(tensor(name));
      if (p.is_weight(name)) node.params += static_cast<size_t>(element_count(p.weights.at(name).shape));
    }
    uint32_t out = tensor(op.output);
    writer.add_node(op.name, op.params.type, op.params.Pack(writer.builder()), in, {out});
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
  writer.set_dynamic_size(p.dynamic_size);
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
