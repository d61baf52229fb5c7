#include "model_writer.hpp"

namespace vkbnn::convert {

ModelWriter::ModelWriter() : builder_(1 << 20) {}

uint32_t ModelWriter::add_tensor(const std::string& name, const std::vector<int64_t>& shape, fb::DataType type) {
  auto name_offset = builder_.CreateString(name);
  auto shape_offset = builder_.CreateVector(shape);
  tensors_.push_back(fb::CreateTensor(builder_, name_offset, shape_offset, type));
  return static_cast<uint32_t>(tensors_.size() - 1);
}

uint32_t ModelWriter::add_constant(const std::string& name, const std::vector<int64_t>& shape,
                                   std::span<const float> data) {
  return add_data(name, shape, fb::DataType::Float32, std::as_bytes(data));
}

uint32_t ModelWriter::add_bit_constant(const std::string& name, const std::vector<int64_t>& shape,
                                       std::span<const uint32_t> words) {
  return add_data(name, shape, fb::DataType::Bit, std::as_bytes(words));
}

uint32_t ModelWriter::add_data(const std::string& name, const std::vector<int64_t>& shape, fb::DataType type,
                               std::span<const std::byte> bytes) {
  auto name_offset = builder_.CreateString(name);
  auto shape_offset = builder_.CreateVector(shape);
  // The schema asks for 16-byte aligned data so the engine can hand it to shaders as vec4.
  builder_.ForceVectorAlignment(bytes.size(), sizeof(uint8_t), 16);
  auto data_offset = builder_.CreateVector(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  tensors_.push_back(fb::CreateTensor(builder_, name_offset, shape_offset, type, data_offset));
  return static_cast<uint32_t>(tensors_.size() - 1);
}

void ModelWriter::add_node(const std::string& name, fb::OpParams type,
                           flatbuffers::Offset<void> params, const std::vector<uint32_t>& inputs,
                           const std::vector<uint32_t>& outputs) {
  auto name_offset = builder_.CreateString(name);
  auto inputs_offset = builder_.CreateVector(inputs);
  auto outputs_offset = builder_.CreateVector(outputs);
  nodes_.push_back(fb::CreateNode(builder_, name_offset, inputs_offset, outputs_offset, type, params));
}

std::vector<uint8_t> ModelWriter::finish() {
  std::vector<flatbuffers::Offset<flatbuffers::String>> labels;
  labels.reserve(metadata_.labels.size());
  for (const auto& label : metadata_.labels) labels.push_back(builder_.CreateString(label));
  auto metadata = fb::CreateMetadataDirect(
      builder_, metadata_.input_height, metadata_.input_width, metadata_.layout.c_str(),
      static_cast<fb::ChannelOrder>(metadata_.channel_order), &metadata_.mean, &metadata_.std,
      &labels, metadata_.description.c_str());
  auto model = fb::CreateModelDirect(builder_, kFormatMajor, kFormatMinor, producer_.c_str(),
                                     &tensors_, &nodes_, &inputs_, &outputs_, metadata);
  fb::FinishModelBuffer(builder_, model);
  return {builder_.GetBufferPointer(), builder_.GetBufferPointer() + builder_.GetSize()};
}

}  // namespace vkbnn::convert
