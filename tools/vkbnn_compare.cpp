// vkbnn-compare: runs an ONNX model's reference evaluation and its converted .vkbnn model on the
// same input and reports, tensor by tensor in graph order, where the engine departs.
//
// The reference is tools/onnx_reference.py (NumPy/PyTorch, float64), run as a subprocess that
// writes every value of the ONNX graph as .npy files. The engine side taps every tensor; tensors
// are matched by name, which the converter keeps from the ONNX graph for every value it computes
// (a fused op's tensor is the last fused op's output, so fused chains compare at their end).
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "profile_table.hpp"
#include "vkbnn_model_generated.h"
#include "vkbnn/cli.hpp"
#include "vkbnn/io/npy.hpp"
#include "vkbnn/vkbnn.hpp"

extern char** environ;

namespace vkbnn::tools {
namespace {

namespace fs = std::filesystem;

struct Options {
  std::string onnx;
  std::string model;
  std::vector<std::string> inputs;
  uint32_t seed = 0;
  double tolerance = 1e-3;
  bool json = false;
  std::optional<uint32_t> device;
  std::string python;
  std::string reference_script;
};

// A scratch directory for the reference's files, removed with everything in it.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (fs::temp_directory_path() / "vkbnn-compare-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw Error("cannot create a scratch directory: " + std::string(std::strerror(errno)));
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs argv (no shell) with its stderr in `stderr_file`; returns the exit status.
int run_program(const std::vector<std::string>& argv, const fs::path& stderr_file) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) throw Error("cannot run '" + argv[0] + "': " + std::strerror(spawned));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) throw Error("waiting for '" + argv[0] + "': " + std::strerror(errno));
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// The installed copy next to the tool's prefix, else the source tree's (a build-tree run).
fs::path reference_script(const Options& options) {
  if (!options.reference_script.empty()) return options.reference_script;
  std::error_code error;
  const fs::path exe = fs::read_symlink("/proc/self/exe", error);
  if (!error) {
    const fs::path installed = exe.parent_path().parent_path() / VKBNN_REFERENCE_INSTALLED;
    if (fs::is_regular_file(installed, error)) return installed;
  }
  return VKBNN_REFERENCE_SOURCE;
}

std::string python_executable(const Options& options) {
  if (!options.python.empty()) return options.python;
  const char* env = std::getenv("VKBNN_PYTHON");
  return env && *env ? env : "python3";
}

struct ReferenceValue {
  std::string name;
  std::string op;
  io::NpyArray array;
};

// Evaluates the ONNX graph; returns its float values in graph order.
std::vector<ReferenceValue> run_reference(const Options& options, const fs::path& script, const ScratchDir& scratch,
                                          const std::vector<std::pair<std::string, fs::path>>& inputs) {
  const fs::path out = scratch.path() / "reference";
  std::vector<std::string> argv = {python_executable(options), script.string(), options.onnx, out.string()};
  for (const auto& [name, path] : inputs) argv.push_back("--input=" + name + "=" + path.string());
  const fs::path log = scratch.path() / "reference.log";
  const int status = run_program(argv, log);
  if (status != 0) {
    std::string message = read_text(log);
    while (!message.empty() && (message.back() == '\n' || message.back() == '\r')) message.pop_back();
    if (const size_t line = message.rfind('\n'); line != std::string::npos) message = message.substr(line + 1);
    throw Error("the reference evaluation (" + argv[0] + " " + script.string() + ") failed with exit status " +
                std::to_string(status) + (message.empty() ? "" : ": " + message));
  }
  const nlohmann::json manifest = nlohmann::json::parse(read_text(out / "manifest.json"));
  std::vector<ReferenceValue> values;
  for (const auto& entry : manifest.at("values")) {
    const std::string file = entry.at("file").get<std::string>();
    if (file.find('/') != std::string::npos) throw Error("the reference manifest names a file outside its folder");
    values.push_back({entry.at("name").get<std::string>(), entry.at("op").get<std::string>(), io::read_npy(out / file)});
  }
  return values;
}

struct EngineTensor {
  std::string name;
  std::string layer;
  std::string op;
  bool int8 = false;
};

// Tensors that nodes compute, by name: the ones a reference value can be compared with.
std::map<std::string, EngineTensor> computed_tensors(const Model& model) {
  std::map<std::string, EngineTensor> tensors;
  const fb::Model& schema = model.schema();
  for (const fb::Node* node : *schema.nodes())
    for (uint32_t output : *node->outputs())
    {
      const fb::Tensor* tensor = schema.tensors()->Get(output);
      tensors[tensor->name()->str()] = {tensor->name()->str(), node->name()->str(),
                                        fb::EnumNameOpParams(node->params_type()), tensor->type() == fb::DataType::Int8};
    }
  return tensors;
}

// The engine tensor holding an ONNX value: the one of its name, else for a value that the
// converter's int8 pass computes only in int8 (quantize.cpp names it "<value>_int8") that one,
// read back dequantized.
const EngineTensor* engine_tensor(const std::map<std::string, EngineTensor>& tensors, const std::string& value) {
  if (auto it = tensors.find(value); it != tensors.end()) return &it->second;
  if (auto it = tensors.find(value + "_int8"); it != tensors.end() && it->second.int8) return &it->second;
  return nullptr;
}

struct Comparison {
  std::string name;
  std::string engine_tensor;
  std::string layer;
  std::string op;       // the engine's
  std::string onnx_op;  // the ONNX node's that computes the reference value
  std::vector<int64_t> shape;
  double relative_l2 = 0;
  double max_abs = 0;
  std::string problem;  // a shape or element count mismatch, non-finite values
  bool within = true;
};

Comparison compare(const ReferenceValue& reference, const EngineTensor& engine, const Tensor& actual,
                   double tolerance) {
  Comparison c;
  c.name = reference.name;
  c.engine_tensor = engine.name;
  c.layer = engine.layer;
  c.op = engine.op;
  c.onnx_op = reference.op;
  c.shape = actual.shape;
  const std::vector<float>& expected = reference.array.data;
  if (actual.data.size() != expected.size()) {
    c.problem = "engine " + shape_string(actual.shape) + " vs reference " + shape_string(reference.array.shape);
    c.relative_l2 = c.max_abs = INFINITY;
    c.within = false;
    return c;
  }
  double diff = 0, norm = 0;
  bool finite = true;
  for (size_t i = 0; i < expected.size(); ++i) {
    const double d = static_cast<double>(actual.data[i]) - expected[i];
    finite = finite && std::isfinite(actual.data[i]);
    diff += d * d;
    norm += static_cast<double>(expected[i]) * expected[i];
    c.max_abs = std::max(c.max_abs, std::abs(d));
  }
  if (!finite) {
    c.problem = "non-finite engine values";
    c.relative_l2 = c.max_abs = INFINITY;
  } else {
    c.relative_l2 = norm > 0 ? std::sqrt(diff / norm) : (diff > 0 ? INFINITY : 0.0);
  }
  c.within = finite && c.relative_l2 <= tolerance;
  return c;
}

std::string number(double v) {
  if (std::isinf(v)) return "inf";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3g", v);
  return buffer;
}

std::string padded(const std::string& s, size_t width) { return s.size() >= width ? s + " " : s + std::string(width - s.size() + 1, ' '); }

void print_table(const std::vector<Comparison>& rows, std::optional<size_t> first) {
  size_t name_w = 6, layer_w = 5, op_w = 9;
  for (const Comparison& c : rows) {
    name_w = std::max(name_w, c.name.size());
    layer_w = std::max(layer_w, c.layer.size());
    op_w = std::max(op_w, c.op.size() + c.onnx_op.size() + 3);
  }
  std::cout << padded("#", 4) << padded("tensor", name_w) << padded("layer", layer_w) << padded("op (ONNX)", op_w)
            << padded("shape", 14) << padded("rel L2", 10) << "max abs\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    const Comparison& c = rows[i];
    std::string line = padded(std::to_string(i + 1), 4) + padded(c.name, name_w) + padded(c.layer, layer_w) +
                       padded(c.op + " (" + c.onnx_op + ")", op_w) + padded(shape_string(c.shape), 14) +
                       padded(number(c.relative_l2), 10) + padded(number(c.max_abs), 10);
    if (first && *first == i) line += "<-- first departure";
    else if (!c.within) line += "*";
    if (!c.problem.empty()) line += " (" + c.problem + ")";
    line.erase(line.find_last_not_of(' ') + 1);
    std::cout << line << '\n';
  }
}

int run(const Options& options) {
  if (!fs::is_regular_file(options.onnx)) throw Error("'" + options.onnx + "' is not a file");
  const Model model = Model::load(options.model);
  const fs::path script = reference_script(options);
  if (!fs::is_regular_file(script)) throw Error("the reference script '" + script.string() + "' is not there");
  if (!options.inputs.empty() && options.inputs.size() != model.inputs().size())
    throw Error("the model has " + std::to_string(model.inputs().size()) + " inputs but " +
                std::to_string(options.inputs.size()) + " --input files were given");

  // The same float32 values go to both sides: the engine's input and the .npy the reference reads.
  ScratchDir scratch;
  std::vector<io::NpyArray> arrays;
  std::vector<std::pair<std::string, fs::path>> input_files;
  std::mt19937 random(options.seed);
  std::normal_distribution<float> normal;
  for (size_t i = 0; i < model.inputs().size(); ++i) {
    const TensorDesc& desc = model.inputs()[i];
    io::NpyArray array;
    if (options.inputs.empty()) {
      array.shape = desc.shape;
      array.data.resize(desc.elements());
      for (float& v : array.data) v = normal(random);
    } else {
      array = io::read_npy(options.inputs[i]);
      if (array.data.size() != desc.elements())
        throw Error("'" + options.inputs[i] + "' has shape " + shape_string(array.shape) + " but the input '" +
                    desc.name + "' is " + shape_string(desc.shape));
      array.shape = desc.shape;
    }
    const fs::path file = scratch.path() / ("input" + std::to_string(i) + ".npy");
    io::write_npy(file, array.shape, array.data);
    input_files.emplace_back(desc.name, file);
    arrays.push_back(std::move(array));
  }
  const std::vector<ReferenceValue> reference = run_reference(options, script, scratch, input_files);

  ContextOptions context_options;
  context_options.device_index = options.device;
  Context context(context_options);
  NetworkOptions network_options;
  network_options.tap_all = true;
  Network network(context, model, network_options);
  std::vector<std::span<const float>> inputs;
  for (const io::NpyArray& array : arrays) inputs.emplace_back(array.data);
  network.run(inputs);

  const std::map<std::string, EngineTensor> engine = computed_tensors(model);
  std::vector<Comparison> rows;
  std::vector<std::string> unmatched;
  std::optional<size_t> first;
  for (const ReferenceValue& value : reference) {
    if (value.op == "Input") continue;
    const EngineTensor* tensor = engine_tensor(engine, value.name);
    if (!tensor) {
      unmatched.push_back(value.name);
      continue;
    }
    rows.push_back(compare(value, *tensor, network.read_tensor(tensor->name), options.tolerance));
    if (!rows.back().within && !first) first = rows.size() - 1;
  }
  if (rows.empty())
    throw Error("no tensor of '" + options.model + "' has the name of a value of '" + options.onnx +
                "': was it converted from this ONNX file?");

  if (options.json) {
    nlohmann::ordered_json tensors = nlohmann::ordered_json::array();
    for (const Comparison& c : rows) {
      nlohmann::ordered_json row = {{"name", c.name}, {"engine_tensor", c.engine_tensor}, {"layer", c.layer}, {"op", c.op}, {"onnx_op", c.onnx_op},
                                    {"shape", c.shape}, {"relative_l2", c.relative_l2}, {"max_abs", c.max_abs},
                                    {"within_tolerance", c.within}};
      if (!c.problem.empty()) row["problem"] = c.problem;
      tensors.push_back(row);
    }
    nlohmann::ordered_json report = {
        {"onnx", options.onnx},
        {"model", options.model},
        {"device", context.device().name},
        {"reference", script.string() + " (NumPy/PyTorch, float64)"},
        {"input", options.inputs.empty() ? nlohmann::ordered_json{{"random_normal_seed", options.seed}}
                                         : nlohmann::ordered_json{{"files", options.inputs}}},
        {"tolerance", options.tolerance},
        {"tensors", tensors},
        {"first_departure", first ? nlohmann::ordered_json(rows[*first].name) : nlohmann::ordered_json(nullptr)},
        {"not_in_engine", unmatched}};
    std::cout << report.dump(2) << '\n';
  } else {
    std::cout << "reference: " << options.onnx << " evaluated by " << script.string()
              << " (NumPy/PyTorch, float64)\nengine:    " << options.model << " on " << context.device().name
              << "\ninput:     "
              << (options.inputs.empty() ? "random normal, seed " + std::to_string(options.seed) : "from --input")
              << "\n\n";
    print_table(rows, first);
    std::cout << '\n' << rows.size() << " tensors compared, relative L2 tolerance " << number(options.tolerance);
    if (!unmatched.empty())
      std::cout << "; " << unmatched.size() << " ONNX values have no engine tensor (fused or folded away)";
    std::cout << '\n';
    if (first)
      std::cout << "first departure: '" << rows[*first].name << "' (layer '" << rows[*first].layer
                << "'), relative L2 " << number(rows[*first].relative_l2) << ", max abs "
                << number(rows[*first].max_abs) << '\n';
    else
      std::cout << "all within tolerance\n";
  }
  return first ? 2 : 0;
}

}  // namespace
}  // namespace vkbnn::tools

int main(int argc, char** argv) {
  vkbnn::tools::Options options;
  CLI::App app{
      "Run an ONNX model's reference evaluation and its converted .vkbnn model on the same input and report, "
      "tensor by tensor, where the engine departs. Exit status 0: all within tolerance, 2: a departure, 1: error."};
  app.add_option("onnx", options.onnx, "The ONNX model")->required();
  app.add_option("model", options.model, "The .vkbnn model converted from it")->required();
  app.add_option("--input", options.inputs, ".npy float32 input, one per model input, in order (default: random)")
      ->allow_extra_args(false);
  app.add_option("--seed", options.seed, "Seed of the random normal input")->capture_default_str();
  app.add_option("--tol", options.tolerance, "Largest relative L2 error a tensor may have")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--json", options.json, "Print one JSON object instead of the table");
  app.add_option("--device", options.device, "Vulkan device index (see vkbnn-info); default: VKBNN_DEVICE or the best GPU");
  app.add_option("--python", options.python, "Python with numpy, torch and onnx (default: VKBNN_PYTHON or python3)");
  app.add_option("--reference-script", options.reference_script, "The reference evaluator (default: the installed onnx_reference.py)");
  // Status 2 means a departure, so bad arguments must not take CLI11's own codes (106 and so on).
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;
  }
  return vkbnn::cli::guarded_main("vkbnn-compare", [&] { return vkbnn::tools::run(options); });
}
