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
  throw ModelError("node '" + node.name()->str() + "' (" + op_kind(node.params_type()).name +
                   "): " + what);
}

uint32_t as_spec(float value) { return std::bit_cast<uint32_t>(value); }

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
