#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <numeric>

#include <flatbuffers/flatbuffers.h>

#include "ops/op.hpp"
#include "vkbnn/error.hpp"
#include "vkbnn/model.hpp"
#include "vkbnn_model_generated.h"

namespace vkbnn {
namespace {

constexpr uint16_t kSupportedMajor = 1;

std::vector<int64_t> shape_of(const fb::Tensor& t) { return {t.shape()->begin(), t.shape()->end()}; }

class Checker {
 public:
  Checker(const fb::Model& model, const std::string& origin) : model_(model), origin_(origin) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw ModelError(origin_ + ": invalid model: " + what);
  }

  void run() {
    if (model_.version_major() != kSupportedMajor)
      fail("format version " + std::to_string(model_.version_major()) + "." +
           std::to_string(model_.version_minor()) + " is not supported (this engine reads " +
           std::to_string(kSupportedMajor) + ".x)");
    check_alignment();
    check_tensors();
    check_graph();
    check_metadata();
  }

 private:
  // The verifier checks that a vector's length word is 4-byte aligned, not that 8-byte elements
  // are 8-byte aligned. FlatBuffers' builder always aligns them, and reading a misaligned int64 is
  // undefined behaviour, so such a vector is refused before anything reads it.
  void check_alignment() const {
    auto aligned = [](const flatbuffers::Vector<int64_t>* v) {
      return reinterpret_cast<uintptr_t>(v->data()) % alignof(int64_t) == 0;
    };
    for (const auto* t : *model_.tensors())
      if (!aligned(t->shape())) fail("tensor '" + t->name()->str() + "' has a misaligned shape (not 8-byte aligned)");
    for (const auto* node : *model_.nodes())
      if (const auto* pad = node->params_as_Pad(); pad && !aligned(pad->pads()))
        fail("node '" + node->name()->str() + "' has misaligned pads (not 8-byte aligned)");
  }

  void check_tensors() {
    const auto& tensors = *model_.tensors();
    if (tensors.size() == 0) fail("no tensors");
    for (uint32_t i = 0; i < tensors.size(); ++i) {
      const auto& t = *tensors.Get(i);
      std::string name = t.name()->str();
      if (t.shape()->size() > 8) fail("tensor '" + name + "' has rank " + std::to_string(t.shape()->size()));
      int64_t elements = 1;
      for (int64_t d : *t.shape()) {
        if (d <= 0 || d > kMaxTensorElements) fail("tensor '" + name + "' has dimension " + std::to_string(d));
        elements *= d;
        if (elements > kMaxTensorElements) fail("tensor '" + name + "' is too large");
      }
      if (t.type() < fb::DataType::MIN || t.type() > fb::DataType::MAX)
        fail("tensor '" + name + "' has an unsupported data type");
      if (t.type() == fb::DataType::Int8 && !t.data()) {
        const auto* q = t.quantization();
        if (!q) fail("Int8 tensor '" + name + "' has no quantization");
        if (!(q->scale() > 0.0f) || !std::isfinite(q->scale()) || q->zero_point() < -128 || q->zero_point() > 127)
          fail("Int8 tensor '" + name + "' has scale " + std::to_string(q->scale()) + " and zero point " +
               std::to_string(q->zero_point()) + " (needs a finite scale > 0 and a zero point in [-128, 127])");
      }
      if (t.type() == fb::DataType::Int32 && !t.data()) fail("Int32 tensor '" + name + "' is not a constant");
      if (t.integer() && (t.type() != fb::DataType::Float32 || t.data()))
        fail("tensor '" + name + "' is marked integer but is not a Float32 activation");
      if (t.boolean() && (t.type() != fb::DataType::Float32 || t.data() || t.integer()))
        fail("tensor '" + name + "' is marked boolean but is not a Float32 activation that is not marked integer");
      const size_t bytes = detail::storage_words(shape_of(t), t.type()) * sizeof(float);
      if (t.data() && t.data()->size() != bytes)
        fail("tensor '" + name + "' holds " + std::to_string(t.data()->size()) + " bytes but its shape needs " +
             std::to_string(bytes));
      if (t.data() && reinterpret_cast<uintptr_t>(t.data()->data()) % alignof(float) != 0)
        fail("tensor '" + name + "' data is misaligned");
      check_batch_axis(t);
    }
    if (model_.batch() > 0)
      for (uint32_t in : *model_.inputs())
        if (in < tensors.size() && tensors.Get(in)->batch_axis() < 0)
          fail("the model has a dynamic batch but graph input '" + tensors.Get(in)->name()->str() + "' has no batch axis");
  }

  void check_batch_axis(const fb::Tensor& t) const {
    const std::string name = t.name()->str();
    if (model_.batch() < 0) fail("the model's batch is " + std::to_string(model_.batch()));
    const int axis = t.batch_axis();
    if (axis == -1) return;
    if (model_.batch() == 0) fail("tensor '" + name + "' has a batch axis but the model has no dynamic batch");
    if (t.data()) fail("constant tensor '" + name + "' has a batch axis");
    if (axis < 0 || axis >= static_cast<int>(t.shape()->size()))
      fail("tensor '" + name + "' has batch axis " + std::to_string(axis) + " of rank " + std::to_string(t.shape()->size()));
    if (t.shape()->Get(axis) % model_.batch() != 0)
      fail("tensor '" + name + "' has length " + std::to_string(t.shape()->Get(axis)) + " along its batch axis, not a "
           "multiple of the model's batch " + std::to_string(model_.batch()));
  }

  void check_index(uint32_t index, const std::string& where) const {
    if (index >= model_.tensors()->size())
      fail(where + " refers to tensor " + std::to_string(index) + " of " +
           std::to_string(model_.tensors()->size()));
  }

  bool is_constant(uint32_t index) const { return model_.tensors()->Get(index)->data() != nullptr; }

  void check_graph() {
    const auto& tensors = *model_.tensors();
    std::vector<bool> defined(tensors.size(), false);
    for (uint32_t i = 0; i < tensors.size(); ++i) defined[i] = is_constant(i);
    if (model_.inputs()->size() == 0) fail("the graph has no inputs");
    if (model_.outputs()->size() == 0) fail("the graph has no outputs");
    for (uint32_t in : *model_.inputs()) {
      check_index(in, "a graph input");
      if (defined[in]) fail("graph input '" + tensors.Get(in)->name()->str() + "' is a constant or listed twice");
      if (tensors.Get(in)->type() != fb::DataType::Float32)
        fail("graph input '" + tensors.Get(in)->name()->str() + "' is not Float32");
      defined[in] = true;
    }
    for (uint32_t n = 0; n < model_.nodes()->size(); ++n) {
      const auto& node = *model_.nodes()->Get(n);
      std::string where = "node '" + node.name()->str() + "'";
      if (node.params_type() == fb::OpParams::NONE || !node.params())
        fail(where + " has no operator");
      if (node.inputs()->size() == 0 || node.outputs()->size() == 0)
        fail(where + " has no inputs or no outputs");
      for (uint32_t in : *node.inputs()) {
        check_index(in, where);
        if (!defined[in])
          fail(where + " reads tensor '" + tensors.Get(in)->name()->str() +
               "' before any node produces it (nodes must be in topological order)");
      }
      if (std::all_of(node.inputs()->begin(), node.inputs()->end(), [&](uint32_t in) { return is_constant(in); }))
        fail(where + " has only constant inputs");
      for (uint32_t out : *node.outputs()) {
        check_index(out, where);
        if (defined[out]) fail(where + " writes tensor '" + tensors.Get(out)->name()->str() + "', which is already defined");
        defined[out] = true;
      }
      const auto desc = detail::describe_node(model_, node);
      const auto& kind = detail::op_kind(node.params_type());
      if (!kind.typed) {
        auto is_float = [](fb::DataType t) { return t == fb::DataType::Float32; };
        desc.require(std::all_of(desc.input_types.begin(), desc.input_types.end(), is_float) &&
                         std::all_of(desc.output_types.begin(), desc.output_types.end(), is_float),
                     "reads and writes Float32 tensors only");
      }
      detail::check_input_roles(desc, kind);
      kind.check(desc);
    }
    for (uint32_t out : *model_.outputs()) {
      check_index(out, "a graph output");
      if (!defined[out] || is_constant(out))
        fail("graph output '" + tensors.Get(out)->name()->str() + "' is not produced by any node");
      if (tensors.Get(out)->type() != fb::DataType::Float32)
        fail("graph output '" + tensors.Get(out)->name()->str() + "' is not Float32");
    }
  }

  void check_metadata() {
    const auto* meta = model_.metadata();
    if (!meta) return;
    if (meta->input_height() < 0 || meta->input_width() < 0) fail("metadata has a negative input size");
    size_t mean = meta->mean() ? meta->mean()->size() : 0;
    size_t stdev = meta->std() ? meta->std()->size() : 0;
    if (mean != stdev) fail("metadata has " + std::to_string(mean) + " means but " + std::to_string(stdev) + " stds");
    if (meta->std())
      for (float s : *meta->std())
        if (!(s > 0.0f) || !std::isfinite(s)) fail("metadata has a non-positive std");
    if (meta->mean())
      for (float m : *meta->mean())
        if (!std::isfinite(m)) fail("metadata has a non-finite mean");
    if (meta->channel_order() < fb::ChannelOrder::MIN || meta->channel_order() > fb::ChannelOrder::MAX)
      fail("metadata has an unknown channel order");
  }

  const fb::Model& model_;
  const std::string& origin_;
};

TensorDesc describe(const fb::Model& model, uint32_t index) {
  const auto& t = *model.tensors()->Get(index);
  return {t.name()->str(), shape_of(t), t.integer(), t.boolean()};
}

}  // namespace

size_t TensorDesc::elements() const { return static_cast<size_t>(element_count(shape)); }

Model Model::load(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw ModelError(path.string() + ": no such model file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ModelError(path.string() + ": cannot open the model file");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw ModelError(path.string() + ": error reading the model file");
  return from_bytes(std::move(bytes), path.string());
}

Model Model::from_bytes(std::vector<uint8_t> bytes, const std::string& origin) {
  if (bytes.size() < 8 || !fb::ModelBufferHasIdentifier(bytes.data()))
    throw ModelError(origin + ": not a vkbnn model file (bad magic)");
  // FlatBuffers must see the buffer at an aligned address; a std::vector's storage is.
  if (bytes.size() >= FLATBUFFERS_MAX_BUFFER_SIZE) throw ModelError(origin + ": model file is too large");
  flatbuffers::Verifier verifier(bytes.data(), bytes.size(), /*max_depth=*/64, /*max_tables=*/10'000'000);
  if (!fb::VerifyModelBuffer(verifier))
    throw ModelError(origin + ": corrupt or truncated model file (structure check failed)");

  Model model;
  model.origin_ = origin;
  model.bytes_ = std::make_shared<const std::vector<uint8_t>>(std::move(bytes));
  model.root_ = fb::GetModel(model.bytes_->data());
  Checker(*model.root_, origin).run();

  const auto& root = *model.root_;
  for (uint32_t i : *root.inputs()) model.inputs_.push_back(describe(root, i));
  for (uint32_t i : *root.outputs()) model.outputs_.push_back(describe(root, i));
  for (const auto* t : *root.tensors())
    if (t->data()) model.weight_bytes_ += t->data()->size();
  if (const auto* meta = root.metadata()) {
    auto& m = model.metadata_;
    m.input_height = meta->input_height();
    m.input_width = meta->input_width();
    if (meta->layout()) m.layout = meta->layout()->str();
    m.channel_order = static_cast<ChannelOrder>(meta->channel_order());
    if (meta->mean()) m.mean.assign(meta->mean()->begin(), meta->mean()->end());
    if (meta->std()) m.std.assign(meta->std()->begin(), meta->std()->end());
    if (meta->labels())
      for (const auto* label : *meta->labels()) m.labels.push_back(label->str());
    if (meta->description()) m.description = meta->description()->str();
  }
  return model;
}

size_t Model::node_count() const { return root_->nodes()->size(); }

int64_t Model::dynamic_batch() const { return root_->batch(); }

Model Model::with_batch(int64_t batch) const {
  const int64_t from = dynamic_batch();
  if (from == 0) {
    const int64_t fixed = inputs_.front().shape.empty() ? 1 : inputs_.front().shape.front();
    if (batch == fixed) return *this;
    throw ModelError(origin_ + ": the model was converted for batch " + std::to_string(fixed) +
                     " only; convert it with --batch " + std::to_string(batch) + ", or with --dynamic-batch to choose "
                     "the batch when a Network is built");
  }
  if (batch == from) return *this;
  if (batch < 1 || batch > std::numeric_limits<int32_t>::max())
    throw ModelError(origin_ + ": batch " + std::to_string(batch) + " is out of range (1 to 2^31 - 1)");
  std::vector<uint8_t> bytes = *bytes_;
  auto* root = fb::GetMutableModel(bytes.data());
  // Lengths along batch axes are multiples of `from` (the loader checked it) and at most
  // kMaxTensorElements, so the product stays far from overflow; the loader below bounds it again.
  for (uint32_t i = 0; i < root->tensors()->size(); ++i) {
    auto* tensor = root->mutable_tensors()->GetMutableObject(i);
    if (tensor->batch_axis() < 0) continue;
    const auto axis = static_cast<uint32_t>(tensor->batch_axis());
    tensor->mutable_shape()->Mutate(axis, tensor->shape()->Get(axis) / from * batch);
  }
  if (!root->mutate_batch(static_cast<int32_t>(batch)))
    throw ModelError(origin_ + ": the model's batch field cannot be rewritten");
  return from_bytes(std::move(bytes), origin_ + " (at batch " + std::to_string(batch) + ")");
}

}  // namespace vkbnn

namespace vkbnn {

bool Model::dynamic_size() const { return root_->dynamic_size(); }

Model Model::with_input_sizes(const std::vector<std::vector<int64_t>>& sizes) const {
  const auto& root = *root_;
  const auto& tensors = *root.tensors();
  if (sizes.size() != inputs_.size())
    throw ModelError(origin_ + ": " + std::to_string(sizes.size()) + " input sizes given for the model's " +
                     std::to_string(inputs_.size()) + " inputs");
  std::vector<detail::Shape> shapes(tensors.size());
  for (uint32_t i = 0; i < tensors.size(); ++i) shapes[i] = shape_of(*tensors.Get(i));
  bool changed = false;
  for (size_t k = 0; k < sizes.size(); ++k) {
    if (sizes[k].empty()) continue;
    const TensorDesc& input = inputs_[k];
    const std::string what = origin_ + ": input '" + input.name + "'";
    if (input.shape.size() < 2 || sizes[k].size() != input.shape.size() - 2)
      throw ModelError(what + " of shape " + shape_string(input.shape) + " has " +
                       std::to_string(input.shape.size() < 2 ? 0 : input.shape.size() - 2) +
                       " axes after N and C, the size given has " + std::to_string(sizes[k].size()));
    detail::Shape& shape = shapes[root.inputs()->Get(static_cast<flatbuffers::uoffset_t>(k))];
    int64_t elements = shape[0] * shape[1];
    for (size_t d = 0; d < sizes[k].size(); ++d) {
      const int64_t length = sizes[k][d];
      if (length < 1 || length > kMaxTensorElements || (elements *= length) > kMaxTensorElements)
        throw ModelError(what + ": size " + shape_string(sizes[k]) + " is out of range (each length at least 1, " +
                         "at most 2^31 - 1 elements in all)");
      changed |= shape[2 + d] != length;
      shape[2 + d] = length;
    }
  }
  if (!changed) return *this;
  if (!dynamic_size())
    throw ModelError(origin_ + ": the model was converted for input " + shape_string(inputs_.front().shape) +
                     " only; convert it at the size wanted (--input-size), or with --dynamic-size to choose the size "
                     "when a Network is built");

  for (const auto* node : *root.nodes()) {
    const auto desc = detail::describe_node(root, *node);
    detail::ShapeQuery query{desc, {}};
    for (uint32_t in : *node->inputs()) query.inputs.push_back(shapes[in]);
    if (query.inputs == desc.inputs) continue;
    const auto& kind = detail::op_kind(node->params_type());
    if (!kind.shapes) desc.fail("the engine cannot derive its output shapes at another input size");
    const std::vector<detail::Shape> outputs = kind.shapes(query);
    if (outputs.size() != desc.outputs.size()) desc.fail("its shape function gives the wrong number of outputs");
    for (size_t k = 0; k < outputs.size(); ++k) {
      const detail::Shape& converted = desc.outputs[k];
      if (outputs[k].size() != converted.size())
        desc.fail("output " + std::to_string(k) + " would change rank from " + shape_string(converted) + " to " +
                  shape_string(outputs[k]));
      int64_t elements = 1;
      for (int64_t d : outputs[k])
        if (d < 1 || d > kMaxTensorElements || (elements *= d) > kMaxTensorElements)
          desc.fail("output shape " + shape_string(outputs[k]) + " at this input size is empty or too large");
      shapes[node->outputs()->Get(static_cast<flatbuffers::uoffset_t>(k))] = outputs[k];
    }
  }

  std::vector<uint8_t> bytes = *bytes_;
  auto* mutable_root = fb::GetMutableModel(bytes.data());
  for (uint32_t i = 0; i < tensors.size(); ++i) {
    auto* shape = mutable_root->mutable_tensors()->GetMutableObject(i)->mutable_shape();
    for (uint32_t d = 0; d < shape->size(); ++d) shape->Mutate(d, shapes[i][d]);
  }
  // Clients preprocess to the metadata's size, so it follows the first image input.
  auto* meta = mutable_root->mutable_metadata();
  for (uint32_t in : *root.inputs())
    if (shapes[in].size() == 4) {
      if (meta && (!meta->mutate_input_height(static_cast<int32_t>(shapes[in][2])) ||
                   !meta->mutate_input_width(static_cast<int32_t>(shapes[in][3]))) &&
          (meta->input_height() != shapes[in][2] || meta->input_width() != shapes[in][3]))
        throw ModelError(origin_ + ": the model's metadata input size cannot be rewritten");
      break;
    }
  std::string size;
  for (const auto& s : sizes)
    if (!s.empty()) size += (size.empty() ? "" : ", ") + shape_string(s);
  return from_bytes(std::move(bytes), origin_ + " (at input size " + size + ")");
}

}  // namespace vkbnn
