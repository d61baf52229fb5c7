#include <algorithm>
#include <bit>
#include <cstring>

#include "ops/op.hpp"

namespace vkbnn::detail {

size_t storage_words(const Shape& shape, fb::DataType type) {
  const int64_t per_word = type == fb::DataType::Bit ? 32 : type == fb::DataType::Int8 ? 4 : 1;
  if (per_word == 1 || shape.size() < 2) return element_count(shape);
  Shape packed = shape;
  packed[1] = (shape[1] + per_word - 1) / per_word;
  return element_count(packed);
}

Quant quant_of(const fb::Tensor& tensor) {
  const auto* q = tensor.quantization();
  if (tensor.type() != fb::DataType::Int8 || !q) return {};
  return {q->scale(), q->zero_point()};
}

std::vector<uint32_t> NodeLowering::constant_words(size_t index) const {
  const auto& values = *constants.at(index);
  std::vector<uint32_t> words(values.size());
  std::memcpy(words.data(), values.data(), values.size_bytes());
  return words;
}

void check_data_weights_bias(const NodeDesc& desc) {
  desc.require(desc.inputs.size() == 2 || desc.inputs.size() == 3, "expects inputs X, W and optionally B");
  desc.require(desc.outputs.size() == 1, "expects 1 output");
  desc.require(!desc.input_is_constant[0], "input X must not be a constant");
  desc.require(desc.input_is_constant[1], "weights W must be a constant");
  if (desc.inputs.size() == 3) desc.require(desc.input_is_constant[2], "bias B must be a constant");
}

void NodeDesc::fail(const std::string& what) const {
  throw ModelError("node '" + node.name()->str() + "' (" + fb::EnumNameOpParams(node.params_type()) + "): " + what);
}

NodeDesc describe_node(const fb::Model& model, const fb::Node& node) {
  const auto& tensors = *model.tensors();
  auto shape = [](const fb::Tensor& t) { return Shape(t.shape()->begin(), t.shape()->end()); };
  NodeDesc desc{node, {}, {}, {}, {}, {}, {}, {}, {}};
  for (uint32_t in : *node.inputs()) {
    const auto& t = *tensors.Get(in);
    desc.inputs.push_back(shape(t));
    desc.input_is_constant.push_back(t.data() != nullptr);
    desc.input_types.push_back(t.type());
    desc.input_quant.push_back(quant_of(t));
    desc.input_data.push_back(t.data() ? std::span<const uint8_t>(t.data()->data(), t.data()->size())
                                       : std::span<const uint8_t>());
  }
  for (uint32_t out : *node.outputs()) {
    const auto& t = *tensors.Get(out);
    desc.outputs.push_back(shape(t));
    desc.output_types.push_back(t.type());
    desc.output_quant.push_back(quant_of(t));
  }
  return desc;
}

Precision precision_of_tensors(const NodeDesc& desc) {
  auto int8 = [](fb::DataType t) { return t == fb::DataType::Int8; };
  if (std::any_of(desc.input_types.begin(), desc.input_types.end(), int8) ||
      std::any_of(desc.output_types.begin(), desc.output_types.end(), int8))
    return Precision::Int8;
  return desc.output_types.at(0) == fb::DataType::Bit ? Precision::Bits : Precision::Fp32;
}

uint64_t macs_per_weight_row(const NodeDesc& desc) {
  const Shape& w = desc.inputs.at(1);
  return static_cast<uint64_t>(element_count(desc.outputs.at(0))) *
         (element_count(w) / static_cast<uint64_t>(w.at(0)));
}


void WeightPacker::align() { words_.resize((words_.size() + 3) / 4 * 4, 0); }

uint32_t WeightPacker::add(std::span<const float> values) {
  align();
  auto offset = static_cast<uint32_t>(words_.size());
  for (float v : values) words_.push_back(std::bit_cast<uint32_t>(v));
  return offset;
}

uint32_t WeightPacker::add_words(std::span<const uint32_t> values) {
  align();
  auto offset = static_cast<uint32_t>(words_.size());
  words_.insert(words_.end(), values.begin(), values.end());
  return offset;
}

}  // namespace vkbnn::detail
