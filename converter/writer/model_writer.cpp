#include "writer/model_writer.hpp"

#include <algorithm>

namespace vkbnn::convert {

ModelWriter::ModelWriter() : builder_(1 << 20) {}

uint32_t ModelWriter::add_tensor(const std::string& name, const std::vector<int64_t>& shape, fb::DataType type,
                                 int8_t batch_axis, bool integer, bool boolean) {
  auto name_offset = builder_.CreateString(name);
  auto shape_offset = builder_.CreateVector(shape);
  tensors_.push_back(
      fb::CreateTensor(builder_, name_offset, shape_offset, type, 0, 0, batch_axis, integer, boolean));
  return static_cast<uint32_t>(tensors_.size() - 1);
}

uint32_t ModelWriter::add_constant(const std::string& name, const std::vector<int64_t>& shape,
                                   std::span<const float> data) {
  return add_data(name, shape, fb::DataType::Float32, std::as_bytes(data));
}

uint32_t ModelWriter::add_int8_tensor(const std::string& name, const std::vector<int64_t>& shape, float scale,
                                      int32_t zero_point, int8_t batch_axis) {
  auto name_offset = builder_.CreateString(name);
  auto shape_offset = builder_.CreateVector(shape);
  auto quantization = fb::CreateQuantization(builder_, scale, zero_point);
  tensors_.push_back(
      fb::CreateTensor(builder_, name_offset, shape_offset, fb::DataType::Int8, 0, quantization, batch_axis));
  return static_cast<uint32_t>(tensors_.size() - 1);
}

uint32_t ModelWriter::add_int8_constant(const std::string& name, const std::vector<int64_t>& shape,
                                        std::span<const int8_t> values) {
  // Axis 1 packs 4 to a word: [d0][ceil(d1 / 4)][rest...] words, byte d1 % 4.
  const int64_t outer = shape.empty() ? 1 : shape[0];
  const int64_t channels = shape.size() < 2 ? 1 : shape[1];
  const int64_t inner = static_cast<int64_t>(values.size()) / std::max<int64_t>(1, outer * channels);
  const int64_t words_per_row = (channels + 3) / 4 * inner;
  std::vector<uint8_t> bytes(static_cast<size_t>(outer * words_per_row * 4), 0);
  for (int64_t n = 0; n < outer; ++n)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t i = 0; i < inner; ++i)
        bytes[static_cast<size_t>((n * words_per_row + (c / 4) * inner + i) * 4 + c % 4)] =
            static_cast<uint8_t>(values[static_cast<size_t>((n * channels + c) * inner + i)]);
  return add_data(name, shape, fb::DataType::Int8, std::as_bytes(std::span<const uint8_t>(bytes)));
}

uint32_t ModelWriter::add_int32_constant(const std::string& name, const std::vector<int64_t>& shape,
                                         std::span<const int32_t> values) {
  return add_data(name, shape, fb::DataType::Int32, std::as_bytes(values));
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
                                     &tensors_, &nodes_, &inputs_, &outputs_, metadata, batch_,
                                     dynamic_size_);
  fb::FinishModelBuffer(builder_, model);
  return {builder_.GetBufferPointer(), builder_.GetBufferPointer() + builder_.GetSize()};
}

}  // namespace vkbnn::convert
