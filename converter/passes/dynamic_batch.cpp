// A dynamic batch, found by converting twice: the axes of each activation that change between
// batch b and batch b + 1 are its batch axes, and the model at b + 1 must be the one at b with
// those axes scaled, byte for byte, so no op parameter or constant may depend on the batch.
#include <algorithm>
#include <limits>
#include <optional>

#include "ir.hpp"
#include "writer/model_writer.hpp"

namespace vkbnn::convert::detail {
namespace {

Program convert_at(onnx::ModelProto source, const Options& options, ImportedGraph& graph) {
  graph = import_onnx(std::move(source), options);
  simplify_transposes(graph);
  Program program = lower(graph);
  optimize(program);
  return program;
}

// The fp32 model a program stands for, as bytes (int8 quantization only adds to it later).
std::vector<uint8_t> emitted(Program program, const ImportedGraph& graph, const Options& options) {
  fuse_qdq(program);
  return emit(program, graph, options).bytes;
}

}  // namespace

void find_batch_axes(Program& program, const ImportedGraph& graph, onnx::ModelProto source, const Options& options) {
  const int64_t batch = options.batch;
  if (batch >= std::numeric_limits<int32_t>::max()) throw ModelError("--batch is too large for --dynamic-batch");
  Options next_options = options;
  next_options.batch = batch + 1;
  next_options.quantize.reset();
  // What fails only at the second batch (the import, or the engine's checks of the model there)
  // says why the batch is not free.
  auto at_next_batch = [&](auto step) {
    try {
      return step();
    } catch (const Error& e) {
      throw UnsupportedError("--dynamic-batch: the model does not convert at batch " + std::to_string(batch + 1) +
                             ": " + e.what());
    }
  };
  ImportedGraph next_graph;
  Program next = at_next_batch([&] { return convert_at(std::move(source), next_options, next_graph); });
  auto refuse = [&](const std::string& why) {
    throw UnsupportedError("--dynamic-batch: the model's computation depends on the batch: " + why +
                           "; convert it for one batch with --batch");
  };
  for (const auto& [name, shape] : program.shapes) {
    const auto other = next.shapes.find(name);
    if (other == next.shapes.end()) refuse("tensor '" + name + "' exists at batch " + std::to_string(batch) + " only");
    const Shape& scaled = other->second;
    if (scaled.size() != shape.size())
      refuse("tensor '" + name + "' has rank " + std::to_string(shape.size()) + " at batch " + std::to_string(batch) +
             " and " + std::to_string(scaled.size()) + " at batch " + std::to_string(batch + 1));
    int axis = -1;
    for (size_t d = 0; d < shape.size(); ++d) {
      if (shape[d] == scaled[d]) continue;
      if (axis >= 0 || shape[d] % batch != 0 || scaled[d] != shape[d] / batch * (batch + 1))
        refuse("tensor '" + name + "' has shape " + shape_string(shape) + " at batch " + std::to_string(batch) + " and " +
               shape_string(scaled) + " at batch " + std::to_string(batch + 1) +
               " (one axis may grow in proportion to the batch)");
      axis = static_cast<int>(d);
    }
    if (axis >= 0) program.batch_axes[name] = axis;
  }
  for (const auto& input : program.inputs)
    if (!program.batch_axes.count(input)) refuse("input '" + input + "' does not change with the batch");
  program.batch = static_cast<int32_t>(batch);
  next.batch_axes = program.batch_axes;
  next.batch = static_cast<int32_t>(batch + 1);

  // Everything else (ops, their parameters, constants) must be the same at both batches: the
  // first model with its batch axes scaled is then the second one exactly.
  const Model at_batch = Model::from_bytes(emitted(program, graph, options), "the model at batch " + std::to_string(batch));
  std::optional<Model> scaled;
  try {
    scaled = at_batch.with_batch(batch + 1);
  } catch (const Error& e) {
    refuse(std::string("the model with its batch axes scaled to batch ") + std::to_string(batch + 1) +
           " is invalid (" + e.what() + ")");
  }
  const std::vector<uint8_t> expected = at_next_batch([&] { return emitted(next, next_graph, next_options); });
  if (!std::equal(scaled->bytes().begin(), scaled->bytes().end(), expected.begin(), expected.end()))
    refuse("an op's parameters or a constant differ between batch " + std::to_string(batch) + " and " +
           std::to_string(batch + 1));
}

}  // namespace vkbnn::convert::detail
