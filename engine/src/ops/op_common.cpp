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
}

void check_input_roles(const NodeDesc& desc, const OpKind& kind) {
  for (size_t k = 0; k < std::min(desc.inputs.size(), kind.inputs.size()); ++k) {
    const InputSpec& spec = kind.inputs[k];
    if (spec.role == InputRole::Weight) desc.require(desc.input_is_constant[k], std::string(spec.name) + " must be a constant");
    if (spec.role == InputRole::Activation)
      desc.require(!desc.input_is_constant[k], std::string(spec.name) + " must not be a constant");
  }
}

void NodeDesc::fail(const std::string& what) const {
  throw ModelError("node '" + node.name()->str() + "' (" + fb::EnumNameOpParams(node.params_type()) + "): " + what);
}

namespace {

// The node's activation inputs at the new size, for messages.
std::string inputs_now(const ShapeQuery& q) {
  std::string shapes;
  for (size_t k = 0; k < q.inputs.size(); ++k)
    if (!q.desc.input_is_constant.at(k)) shapes += (shapes.empty() ? "" : ", ") + shape_string(q.inputs[k]);
  return shapes;
}

// The node's inputs no longer fit together at this size (e.g. the two sides of a skip connection
// after an odd size was halved and doubled).
[[noreturn]] void mismatch(const ShapeQuery& q, const std::string& why) {
  q.desc.fail(why + " (input now " + inputs_now(q) + "): the model cannot run at this input size");
}

}  // namespace

void ShapeQuery::pins(const std::string& why) const {
  desc.fail(why + " (input now " + inputs_now(*this) + "): it pins the input size");
}

std::vector<Shape> fixed_shapes(const ShapeQuery& q) {
  if (q.inputs != q.desc.inputs) q.pins("its output shapes are fixed");
  return q.desc.outputs;
}

Shape conv_output_shape(const ShapeQuery& q, const ConvGeometry& g, int64_t out_channels) {
  const Shape& x = q.inputs.at(0);
  if (x.size() != 4) q.desc.fail("input must be NCHW (rank 4), has " + shape_string(x));
  if (g.kernel_h <= 0 || g.kernel_w <= 0 || g.stride_h <= 0 || g.stride_w <= 0 || g.dilation_h <= 0 ||
      g.dilation_w <= 0)
    q.desc.fail("needs positive kernel sizes, strides and dilations");
  const int64_t h = conv_output_length(x[2], g.kernel_h, g.stride_h, g.dilation_h, g.pad_top, g.pad_bottom);
  const int64_t w = conv_output_length(x[3], g.kernel_w, g.stride_w, g.dilation_w, g.pad_left, g.pad_right);
  if (h < 1 || w < 1)
    q.desc.fail("input " + shape_string(x) + " is too small for the " + std::to_string(g.kernel_h) + "x" +
                std::to_string(g.kernel_w) + " window (dilation " + std::to_string(g.dilation_h) + "x" +
                std::to_string(g.dilation_w) + ", pads " + std::to_string(g.pad_top) + "," +
                std::to_string(g.pad_left) + "," + std::to_string(g.pad_bottom) + "," + std::to_string(g.pad_right) +
                ")");
  return {x[0], out_channels, h, w};
}

std::vector<Shape> fully_connected_shapes(const ShapeQuery& q) {
  const Shape& x = q.inputs.at(0);
  const Shape& converted = q.desc.inputs.at(0);
  if (x.size() != converted.size() || !std::equal(x.begin() + 1, x.end(), converted.begin() + 1))
    q.pins("its weights take the " + std::to_string(element_count(converted) / converted.at(0)) +
           " features of input " + shape_string(converted));
  return {{x[0], q.desc.outputs.at(0).at(1)}};
}

Shape broadcast_inputs(const ShapeQuery& q) {
  size_t rank = 0;
  for (const Shape& s : q.inputs) rank = std::max(rank, s.size());
  Shape out(rank, 1);
  for (const Shape& s : q.inputs)
    for (size_t d = 0; d < s.size(); ++d) {
      int64_t& o = out[rank - s.size() + d];
      if (s[d] == o || s[d] == 1) continue;
      if (o != 1) mismatch(q, "its inputs no longer broadcast");
      o = s[d];
    }
  return out;
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


WeightPacker::WeightPacker(uint64_t page_words) : page_words_(std::min(page_words, uint64_t{1} << 32) / 4 * 4) {}

void WeightPacker::align() { pages_.back().resize(footprint(pages_.back().size()), 0); }

uint32_t WeightPacker::add(std::span<const float> values) {
  align();
  auto& words = pages_.back();
  auto offset = static_cast<uint32_t>(words.size());
  for (float v : values) words.push_back(std::bit_cast<uint32_t>(v));
  return offset;
}

uint32_t WeightPacker::add_words(std::span<const uint32_t> values) {
  align();
  auto& words = pages_.back();
  auto offset = static_cast<uint32_t>(words.size());
  words.insert(words.end(), values.begin(), values.end());
  return offset;
}

uint32_t WeightPacker::reserve(uint64_t words) {
  if (words > page_words_)
    throw MemoryLimitError(std::to_string(words * 4) + " bytes of weights that one dispatch reads exceed the " +
                           std::to_string(page_words_ * 4) + " bytes a buffer binding may span");
  if (footprint(pages_.back().size()) + words > page_words_) new_page();
  return page();
}

void WeightPacker::new_page() {
  if (!pages_.back().empty()) pages_.emplace_back();
}

uint64_t WeightPacker::total_words() const {
  uint64_t total = 0;
  for (const auto& p : pages_) total += p.size();
  return total;
}

void WeightPacker::rollback(const Mark& m) {
  pages_.resize(m.page + 1);
  pages_.back().resize(m.words);
}

}  // namespace vkbnn::detail
