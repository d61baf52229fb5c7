// vkbnn-info: the Vulkan devices vkbnn can use, and optionally what a model file holds.
#include <cstdio>
#include <optional>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "memory_report.hpp"
#include "profile_table.hpp"
#include "vkbnn/cli.hpp"
#include "vkbnn/vkbnn.hpp"

namespace vkbnn::tools {
namespace {

struct Options {
  std::string model;
  std::optional<uint32_t> device;
  bool json = false;
};

std::string api_version(uint32_t v) {
  return std::to_string(VK_API_VERSION_MAJOR(v)) + "." + std::to_string(VK_API_VERSION_MINOR(v)) + "." +
         std::to_string(VK_API_VERSION_PATCH(v));
}

std::string hex(uint32_t v) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "0x%04x", v);
  return buffer;
}

std::string mib(uint64_t bytes) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return buffer;
}

const char* yes_no(bool b) { return b ? "yes" : "no"; }

const char* order_name(ChannelOrder order) {
  switch (order) {
    case ChannelOrder::RGB: return "RGB";
    case ChannelOrder::BGR: return "BGR";
    case ChannelOrder::Gray: return "Gray";
  }
  return "unknown";
}

nlohmann::ordered_json device_json(const DeviceInfo& d, const DeviceMemory& memory) {
  return {{"index", d.index},
          {"name", d.name},
          {"type", d.type},
          {"driver", d.driver},
          {"api_version", api_version(d.api_version)},
          {"vendor_id", d.vendor_id},
          {"device_id", d.device_id},
          {"timestamps", d.timestamps},
          {"timestamp_period_ns", d.timestamp_period_ns},
          {"storage_int8", d.storage_int8},
          {"integer_dot_product", d.integer_dot_product},
          {"integer_dot_product_accelerated", d.integer_dot_product_accelerated},
          {"float16", d.float16},
          {"debug_utils", d.debug_utils},
          {"subgroup_size", d.subgroup_size},
          {"subgroup_broadcast", d.subgroup_broadcast},
          {"cpu_vector_registers", d.cpu_vector_registers},
          {"max_texel_buffer_elements", d.max_texel_buffer_elements},
          {"max_storage_buffer_range", d.max_storage_buffer_range},
          {"max_memory_allocation_size", d.max_memory_allocation_size},
          {"max_shared_memory", d.max_shared_memory},
          {"device_local_bytes", d.device_local_bytes},
          {"memory_budget", memory.budget},
          {"heaps", heaps_json(memory)}};
}

void print_device(const DeviceInfo& d, const DeviceMemory& memory) {
  std::cout << "device " << d.index << ": " << d.name << "\n"
            << "  type                      " << d.type << "\n"
            << "  driver                    " << d.driver << "\n"
            << "  Vulkan API                " << api_version(d.api_version) << "\n"
            << "  vendor / device id        " << hex(d.vendor_id) << " / " << hex(d.device_id) << "\n"
            << "  timestamps                " << yes_no(d.timestamps);
  if (d.timestamps) std::cout << " (period " << d.timestamp_period_ns << " ns)";
  std::cout << "\n"
            << "  8-bit storage             " << yes_no(d.storage_int8) << "\n"
            << "  integer dot product       " << yes_no(d.integer_dot_product)
            << (d.integer_dot_product_accelerated ? " (4x8-bit packed in hardware)" : "") << "\n"
            << "  float16 arithmetic        " << yes_no(d.float16) << "\n"
            << "  debug utils               " << yes_no(d.debug_utils) << "\n"
            << "  subgroup size             " << d.subgroup_size << "\n"
            << "  subgroup broadcast        " << yes_no(d.subgroup_broadcast) << "\n";
  if (d.cpu_vector_registers) std::cout << "  CPU vector registers      " << d.cpu_vector_registers << "\n";
  std::cout << "  max texel buffer          " << d.max_texel_buffer_elements << " elements\n"
            << "  max storage buffer range  " << mib(d.max_storage_buffer_range) << "\n"
            << "  max memory allocation     " << mib(d.max_memory_allocation_size) << "\n"
            << "  max shared memory         " << d.max_shared_memory / 1024 << " KiB\n"
            << "  device-local memory       " << mib(d.device_local_bytes) << "\n"
            << "  memory heaps\n"
            << format_heaps(memory, "    ");
}

// The type a client hands the values out as (vkbnn-run's .npy files, the Python module's arrays).
const char* value_type(const TensorDesc& t) { return t.integer ? "int64" : (t.boolean ? "bool" : "float32"); }

nlohmann::ordered_json tensors_json(const std::vector<TensorDesc>& tensors) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const TensorDesc& t : tensors) out.push_back({{"name", t.name}, {"shape", t.shape}, {"type", value_type(t)}});
  return out;
}

nlohmann::ordered_json model_json(const Model& model) {
  const ModelMetadata& m = model.metadata();
  return {{"file", model.origin()},
          {"file_bytes", model.file_bytes()},
          {"weight_bytes", model.weight_bytes()},
          {"nodes", model.node_count()},
          {"inputs", tensors_json(model.inputs())},
          {"outputs", tensors_json(model.outputs())},
          {"metadata",
           {{"input_height", m.input_height},
            {"input_width", m.input_width},
            {"layout", m.layout},
            {"channel_order", order_name(m.channel_order)},
            {"mean", m.mean},
            {"std", m.std},
            {"labels", m.labels},
            {"description", m.description}}}};
}

std::string list(const std::vector<float>& values) {
  std::string s;
  for (size_t i = 0; i < values.size(); ++i) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%s%g", i ? ", " : "", static_cast<double>(values[i]));
    s += buffer;
  }
  return s.empty() ? "(none)" : s;
}

void print_model(const Model& model) {
  const ModelMetadata& m = model.metadata();
  std::cout << "model " << model.origin() << "\n"
            << "  file size       " << model.file_bytes() << " bytes\n"
            << "  weights         " << model.weight_bytes() << " bytes\n"
            << "  nodes           " << model.node_count() << "\n";
  for (const TensorDesc& t : model.inputs()) std::cout << "  input           " << t.name << " " << shape_string(t.shape) << "\n";
  for (const TensorDesc& t : model.outputs())
    std::cout << "  output          " << t.name << " " << shape_string(t.shape) << " " << value_type(t) << "\n";
  std::cout << "  image size      " << m.input_height << "x" << m.input_width << "\n"
            << "  layout          " << m.layout << "\n"
            << "  channel order   " << order_name(m.channel_order) << "\n"
            << "  mean            " << list(m.mean) << "\n"
            << "  std             " << list(m.std) << "\n"
            << "  labels          ";
  if (m.labels.empty()) std::cout << "(none: classes are shown by index)";
  for (size_t i = 0; i < m.labels.size(); ++i) std::cout << (i ? ", " : "") << i << ":" << m.labels[i];
  std::cout << "\n";
  if (!m.description.empty()) std::cout << "  description     " << m.description << "\n";
}

// What the model takes on a device: a Network is built there (weights uploaded, arena planned)
// and reports it, next to the heaps as they are with that Network alive.
struct Need {
  DeviceInfo device;
  MemoryReport memory;
  DeviceMemory heaps;
};

Need measure_need(const Model& model, std::optional<uint32_t> device) {
  ContextOptions options;
  options.device_index = device;
  Context context(options);
  Network network(context, model);
  return {context.device(), network.memory(), memory_heaps(context)};
}

int run(const Options& options) {
  const std::vector<DeviceInfo> devices = Context::list_devices();
  const std::vector<DeviceMemory> memories = list_memory_heaps();
  if (memories.size() != devices.size()) throw Error("the Vulkan devices changed while being listed");
  std::optional<Model> model;
  std::optional<Need> need;
  if (!options.model.empty()) {
    model = Model::load(options.model);
    need = measure_need(*model, options.device);
  }
  if (options.json) {
    nlohmann::ordered_json report = {{"devices", nlohmann::ordered_json::array()}};
    for (size_t i = 0; i < devices.size(); ++i) report["devices"].push_back(device_json(devices[i], memories[i]));
    if (model) {
      report["model"] = model_json(*model);
      report["model"]["memory"] = need_json(need->memory, need->heaps);
      report["model"]["memory"]["device"] = need->device.index;
    }
    std::cout << report.dump(2) << '\n';
    return 0;
  }
  if (devices.empty()) std::cout << "no Vulkan devices found\n";
  for (size_t i = 0; i < devices.size(); ++i) print_device(devices[i], memories[i]);
  if (model) {
    std::cout << "\n";
    print_model(*model);
    std::cout << "  memory on device " << need->device.index << " (" << need->device.name << ")\n"
              << format_need(need->memory, need->heaps, "    ");
  }
  return 0;
}

}  // namespace
}  // namespace vkbnn::tools

int main(int argc, char** argv) {
  vkbnn::tools::Options options;
  CLI::App app{"List the Vulkan devices vkbnn can use and, with --model, what a model file holds."};
  app.add_option("--model", options.model,
                 "Also describe this model file (.vkbnn) and the device memory it needs (weights + arena + staging)");
  app.add_option("--device", options.device,
                 "Device to place --model on for its memory need (see the list); default: VKBNN_DEVICE or the best GPU");
  app.add_flag("--json", options.json, "Print one JSON object instead of text");
  if (const auto status = vkbnn::cli::parse_command_line(app, argc, argv)) return *status;
  return vkbnn::cli::guarded_main("vkbnn-info", [&] { return vkbnn::tools::run(options); });
}
