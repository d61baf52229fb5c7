// A dynamic input size, checked by converting twice: the model converted at twice the input size
// must be, byte for byte, the one converted at the given size with every shape derived anew by
// the engine's shape functions (Model::with_input_sizes). So no op parameter or constant may
// depend on the size, and every shape must follow it as the engine computes it.
#include <algorithm>
#include <optional>

#include "ir.hpp"
#include "writer/model_writer.hpp"
#include "vkbnn_model_generated.h"

namespace vkbnn::convert::detail {
namespace {

std::vector<uint8_t> emitted(Program program, const ImportedGraph& graph, const Options& options) {
  fuse_qdq(program);
  return emit(program, graph, options).bytes;
}

// The node that produces tensor `index` of `model`, for messages; the tensor's name otherwise.
std::string producer_of(const fb::Model& model, uint32_t index) {
  for (const auto* node : *model.nodes())
    for (uint32_t out : *node->outputs())
      if (out == index)
        return "node '" + node->name()->str() + "' (" + fb::EnumNameOpParams(node->params_type()) + ")";
  return "input '" + model.tensors()->Get(index)->name()->str() + "'";
}

// Why two models differ, naming the first node whose output shape or inputs disagree.
std::string first_difference(const fb::Model& derived, const fb::Model& converted) {
  const auto& a = *derived.tensors();
  const auto& b = *converted.tensors();
  if (a.size() != b.size() || derived.nodes()->size() != converted.nodes()->size())
    return "the graphs differ (" + std::to_string(derived.nodes()->size()) + " and " +
           std::to_string(converted.nodes()->size()) + " nodes)";
  for (uint32_t i = 0; i < a.size(); ++i) {
    const auto* x = a.Get(i);
    const auto* y = b.Get(i);
    const std::vector<int64_t> sx(x->shape()->begin(), x->shape()->end()), sy(y->shape()->begin(), y->shape()->end());
    if (x->name()->str() != y->name()->str()) return "the graphs differ at tensor '" + x->name()->str() + "'";
    if (sx != sy)
      return producer_of(converted, i) + " gives " + shape_string(sy) + " where the engine derives " + shape_string(sx) +
             " from the converted size";
    const bool same_data = (!x->data() && !y->data()) ||
                           (x->data() && y->data() && std::equal(x->data()->begin(), x->data()->end(),
                                                                 y->data()->begin(), y->data()->end()));
    if (!same_data) return "constant '" + x->name()->str() + "' depends on the size";
  }
  for (uint32_t n = 0; n < derived.nodes()->size(); ++n) {
    const auto* x = derived.nodes()->Get(n);
    const auto* y = converted.nodes()->Get(n);
    if (x->name()->str() != y->name()->str() || x->params_type() != y->params_type())
      return "the graphs differ at node '" + y->name()->str() + "'";
  }
  return "an op's parameters depend on the size";
}

}  // namespace

void check_dynamic_size(Program& program, const ImportedGraph& graph, onnx::ModelProto source, const Options& options) {
  program.dynamic_size = true;
  const Model here = Model::from_bytes(emitted(program, graph, options), "the model at the converted size");
  // Twice the size keeps every stride and scale's divisibility that the converted size has.
  std::vector<std::vector<int64_t>> sizes;
  Options twice = options;
  twice.quantize.reset();
  twice.input_size.reset();
  for (size_t k = 0; k < here.inputs().size(); ++k) {
    const TensorDesc& input = here.inputs()[k];
    std::vector<int64_t> size;
    for (size_t d = 2; d < input.shape.size(); ++d) size.push_back(input.shape[d] * 2);
    if (size.empty())
      throw UnsupportedError("--dynamic-size: input '" + input.name + "' of shape " + shape_string(input.shape) +
                             " has no axes after N and C to size");
    std::vector<int64_t> shape = input.shape;
    std::copy(size.begin(), size.end(), shape.begin() + 2);
    twice.input_shapes[program.inputs.at(k)] = shape;
    sizes.push_back(size);
  }
  std::string at = "the size ";
  for (const auto& s : sizes) at += (at.size() > 9 ? ", " : "") + shape_string(s);
  auto refuse = [&](const std::string& why) {
    throw UnsupportedError("--dynamic-size: " + why + "; convert it for one size with --input-size");
  };

  std::optional<Model> derived;
  try {
    derived = here.with_input_sizes(sizes);
  } catch (const ModelError& e) {
    refuse(std::string("at ") + at + ", " + e.what());
  }
  std::vector<uint8_t> converted;
  try {
    ImportedGraph twice_graph = import_onnx(std::move(source), twice);
    simplify_transposes(twice_graph);
    Program next = lower(twice_graph);
    optimize(next);
    next.batch = program.batch;
    next.batch_axes = program.batch_axes;
    next.dynamic_size = true;
    converted = emitted(std::move(next), twice_graph, twice);
  } catch (const Error& e) {
    refuse("the model does not convert at " + at + ": " + e.what());
  }
  if (!std::equal(derived->bytes().begin(), derived->bytes().end(), converted.begin(), converted.end()))
    refuse("the model's computation depends on its input size: at " + at + ", " +
           first_difference(derived->schema(), *fb::GetModel(converted.data())));
}

}  // namespace vkbnn::convert::detail
