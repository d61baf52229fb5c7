#include "converter.hpp"

#include <fstream>
#include <optional>
#include <iomanip>
#include <sstream>

#include "ir.hpp"

namespace vkbnn::convert {

onnx::ModelProto load_onnx(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw ModelError(path.string() + ": no such file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ModelError(path.string() + ": cannot open the file");
  onnx::ModelProto model;
  if (!model.ParseFromIstream(&in) || !model.has_graph())
    throw ModelError(path.string() + ": not an ONNX model (protobuf parsing failed)");
  return model;
}

void bind_inputs(onnx::ModelProto& model, const std::map<std::string, onnx::TensorProto>& values) {
  auto* g = model.mutable_graph();
  for (const auto& value : values) {
    // Not a structured binding: clang before 16 cannot capture one in the lambda below.
    const std::string& name = value.first;
    auto* inputs = g->mutable_input();
    auto it = std::find_if(inputs->begin(), inputs->end(), [&](const auto& v) { return v.name() == name; });
    if (it == inputs->end()) throw ModelError("cannot bind '" + name + "': it is not a graph input");
    // IR version 3 wants every initializer listed as a graph input too (the importer drops it).
    if (model.ir_version() >= 4) inputs->erase(it);
    auto* init = g->add_initializer();
    *init = value.second;
    init->set_name(name);
  }
}

namespace {

Result convert_unchecked(onnx::ModelProto model, const Options& options) {
  std::optional<onnx::ModelProto> source;
  if (options.dynamic_batch || options.dynamic_size) source = model;
  detail::ImportedGraph graph = detail::import_onnx(std::move(model), options);
  detail::simplify_transposes(graph);
  detail::Program program = detail::lower(graph);
  detail::optimize(program);
  if (options.dynamic_batch) detail::find_batch_axes(program, graph, *source, options);
  if (options.dynamic_size) detail::check_dynamic_size(program, graph, std::move(*source), options);
  if (options.quantize) return detail::quantize_and_emit(program, graph, options);
  detail::fuse_qdq(program);
  return detail::emit(program, graph, options);
}

}  // namespace

Result convert_model(onnx::ModelProto model, const Options& options) {
  Result result;
  try {
    result = convert_unchecked(std::move(model), options);
  } catch (const Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw ModelError("the conversion ran out of memory");
  } catch (const std::exception& e) {
    throw InternalError(std::string("internal converter error (please report it with the model): ") + e.what());
  }
  // What the engine would refuse is not handed out: its loader checks the file as it will when
  // the model is used, and its reason becomes the conversion's.
  Model::from_bytes(result.bytes, "the converted model");
  return result;
}

std::vector<uint8_t> convert(onnx::ModelProto model, const Options& options) {
  return convert_model(std::move(model), options).bytes;
}

std::string format_summary(const Summary& s) {
  std::ostringstream out;
  size_t name_width = 4;
  for (const auto& n : s.nodes) name_width = std::max(name_width, n.name.size());
  name_width = std::min<size_t>(name_width, 48);
  out << std::left << std::setw(static_cast<int>(name_width)) << "node" << "  " << std::setw(20) << "op" << "  "
      << std::setw(9) << "precision" << "  " << std::setw(18) << "output" << "  " << std::setw(20) << "activation"
      << "  " << "params\n";
  for (const auto& n : s.nodes)
    out << std::left << std::setw(static_cast<int>(name_width)) << n.name << "  " << std::setw(20) << n.op << "  "
        << std::setw(9) << n.precision << "  " << std::setw(18) << shape_string(n.output_shape) << "  "
        << std::setw(20) << (n.activation.empty() ? "-" : n.activation) << "  " << n.params << "\n";
  size_t binary = 0, linked = 0;
  for (const auto& n : s.nodes) {
    binary += n.precision.starts_with("binary");
    linked += n.precision == "binary+EL";
  }
  if (binary) out << "binary layers: " << binary << " (" << linked << " with Elastic-Link fused)\n";
  out << "nodes: " << s.onnx_nodes << " ONNX -> " << s.nodes.size() << " vkbnn (" << s.folded_constants
      << " folded away, " << s.folded_batchnorms << " BatchNormalization folded, " << s.fused_activations
      << " activations fused)\n";
  out << "weights: " << s.weight_bytes << " bytes";
  if (s.fp32_weight_bytes != s.weight_bytes)
    out << " (" << s.fp32_weight_bytes << " as fp32, " << std::fixed << std::setprecision(1)
        << static_cast<double>(s.fp32_weight_bytes) / static_cast<double>(std::max<size_t>(s.weight_bytes, 1))
        << "x smaller)";
  out << ", file: " << s.file_bytes << " bytes\n";
  for (const auto& note : s.notes) out << "note: " << note << "\n";
  if (!s.quantization.empty()) {
    out << "\nint8 quantization (SQNR of each layer's output against the fp32 model; low values show where "
           "accuracy is lost)\n";
    out << std::left << std::setw(static_cast<int>(name_width)) << "node" << "  " << std::setw(21) << "op" << "  "
        << std::setw(18) << "range from" << "  " << std::setw(22) << "range" << "  " << std::setw(11) << "scale"
        << "  " << std::setw(5) << "zp" << "  " << "SQNR dB\n";
    for (const auto& l : s.quantization) {
      std::ostringstream range, scale, sqnr;
      range << std::setprecision(4) << "[" << l.lo << ", " << l.hi << "]";
      scale << std::setprecision(4) << l.scale;
      sqnr << std::fixed << std::setprecision(1) << l.sqnr_db;
      out << std::left << std::setw(static_cast<int>(name_width)) << l.node << "  " << std::setw(21) << l.op << "  "
          << std::setw(18) << l.method << "  " << std::setw(22) << range.str() << "  " << std::setw(11) << scale.str()
          << "  " << std::setw(5) << l.zero_point << "  " << sqnr.str() << "\n";
    }
  }
  return out.str();
}

}  // namespace vkbnn::convert
