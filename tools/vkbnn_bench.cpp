// vkbnn-bench: per-layer GPU profile of a model over many runs (a count, or a duration), with the
// spread, the work each layer does and the rate it reaches, reconciled with the end-to-end
// latency, the throughput at the model's batch size and the memory it holds on the device and the
// host; optionally as JSON, CSV and a Chrome trace (chrome://tracing, Perfetto). Inputs come from
// .npy files or are random, as in TFLite's benchmark_model and onnxruntime_perf_test.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <set>

#include "memory_report.hpp"
#include "profile_table.hpp"
#include "vkbnn/cli.hpp"
#include "vkbnn/io/npy.hpp"
#include "vkbnn/vkbnn.hpp"

namespace {

using vkbnn::shape_string;

struct Options {
  std::string model;
  std::string input_size;  // --input-size HxW, empty: the model's
  uint32_t iters = 50;
  uint32_t warmup = 5;
  std::optional<double> duration_s;
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  std::string csv;
  std::optional<uint32_t> device;
  bool json = false;
  std::string trace;
  bool limits = false;
};

// Median, the 10th / 90th percentiles and the mean.
struct Spread {
  double median = 0, p10 = 0, p90 = 0, mean = 0;
};

Spread spread(std::vector<double> v) {
  if (v.empty()) return {};
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5)]; };
  double sum = 0;
  for (double x : v) sum += x;
  return {at(0.5), at(0.1), at(0.9), sum / static_cast<double>(v.size())};
}

// The data for each model input and where it came from.
struct Inputs {
  std::vector<std::vector<float>> data;
  std::vector<std::string> sources;
};

std::string input_names(const vkbnn::Model& model) {
  std::string names;
  for (const auto& in : model.inputs()) names += (names.empty() ? "'" : ", '") + in.name + "'";
  return names;
}

// --input FILE (one per model input, in order) or --input NAME=FILE (any subset); inputs without
// a file get normal random values with a fixed seed.
Inputs load_inputs(const vkbnn::Model& model, const std::vector<std::string>& specs) {
  const auto& descs = model.inputs();
  std::vector<std::optional<std::string>> files(descs.size());
  std::vector<std::string> positional;
  size_t named = 0;
  for (const std::string& spec : specs) {
    const size_t eq = spec.find('=');
    std::optional<size_t> index;
    if (eq != std::string::npos)
      for (size_t i = 0; i < descs.size(); ++i)
        if (descs[i].name == spec.substr(0, eq)) index = i;
    if (!index) {
      if (eq != std::string::npos && !std::filesystem::exists(spec))
        throw vkbnn::Error("--input " + spec + ": the model has no input named '" + spec.substr(0, eq) +
                           "' (its inputs: " + input_names(model) + ") and no such file exists");
      positional.push_back(spec);
      continue;
    }
    if (files[*index]) throw vkbnn::Error("--input names '" + descs[*index].name + "' twice");
    files[*index] = spec.substr(eq + 1);
    ++named;
  }
  if (named && !positional.empty())
    throw vkbnn::Error("give every --input as NAME=FILE or every one as FILE in the model's input order, not both");
  if (!positional.empty()) {
    if (positional.size() != descs.size())
      throw vkbnn::Error("the model has " + std::to_string(descs.size()) + " input(s) (" + input_names(model) +
                         ") but " + std::to_string(positional.size()) +
                         " --input file(s) were given; use NAME=FILE to give only some");
    for (size_t i = 0; i < descs.size(); ++i) files[i] = positional[i];
  }

  Inputs inputs;
  std::mt19937 rng(1);
  std::normal_distribution<float> dist;
  for (size_t i = 0; i < descs.size(); ++i) {
    if (!files[i]) {
      inputs.data.emplace_back(descs[i].elements());
      for (auto& v : inputs.data.back()) v = dist(rng);
      inputs.sources.push_back("random normal values (seed 1)");
      continue;
    }
    vkbnn::io::NpyArray array = vkbnn::io::read_npy(*files[i]);
    // As in vkbnn-run: any shape with the right element count, since C order makes e.g. [1,784]
    // and [1,1,28,28] the same bytes.
    if (array.data.size() != descs[i].elements())
      throw vkbnn::Error("'" + *files[i] + "' has shape " + shape_string(array.shape) + " but the input '" +
                         descs[i].name + "' is " + shape_string(descs[i].shape));
    if (!std::all_of(array.data.begin(), array.data.end(), [](float v) { return std::isfinite(v); }))
      throw vkbnn::Error("'" + *files[i] + "' holds NaN or infinite values");
    inputs.data.push_back(std::move(array.data));
    inputs.sources.push_back(*files[i]);
  }
  return inputs;
}

// The leading dimension of the first input: the images one run processes.
int64_t batch_size(const vkbnn::Model& model) {
  const auto& in = model.inputs();
  return !in.empty() && !in[0].shape.empty() ? in[0].shape[0] : 1;
}

// RFC 4180: fields with commas, quotes or line breaks are quoted, quotes doubled.
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string csv_number(double v) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.6g", v);
  return buffer;
}

std::string fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

std::string pad(const std::string& s, size_t width, bool right = false) {
  if (s.size() >= width) return s;
  return right ? std::string(width - s.size(), ' ') + s : s + std::string(width - s.size(), ' ');
}

// Giga-MACs per second for `macs` in `us` microseconds.
double rate(uint64_t macs, double us) { return us > 0 ? static_cast<double>(macs) / (us * 1e3) : 0.0; }

// How close a layer comes to the device's limit: its arithmetic against the peak of the
// arithmetic it runs on (2 ops a MAC; int8 layers against the packed dot-product peak where the
// int8 kernels use dot products, else, like binary MACs, against the fp32 peak, so a binary
// layer can pass 100%), or, for layers without MACs, the memory it must move against the
// bandwidth.
struct Fraction {
  double value = 0;
  const char* of = "";
};

// Microseconds the layer's MACs take at the peak rate, or its bytes at the bandwidth.
std::pair<double, const char*> ideal_us(const vkbnn::LayerInfo& l, const vkbnn::DeviceLimits& limits) {
  if (l.macs && l.precision == vkbnn::Precision::Int8 && limits.int8_gops > 0)
    return {2.0 * static_cast<double>(l.macs) / (limits.int8_gops * 1e3), "int8 dot peak"};
  if (l.macs) return {2.0 * static_cast<double>(l.macs) / (limits.fp32_gflops * 1e3), "fp32 peak"};
  return {static_cast<double>(l.bytes) / (limits.bandwidth_gbps * 1e3), "bandwidth"};
}

Fraction fraction(const vkbnn::LayerInfo& l, double us, const vkbnn::DeviceLimits& limits) {
  if (us <= 0) return {};
  const auto [ideal, of] = ideal_us(l, limits);
  return {ideal / us, of};
}

// The layers' time at their limits over their measured time.
double network_fraction(const std::vector<vkbnn::LayerInfo>& layers, double median_sum,
                        const vkbnn::DeviceLimits& limits) {
  double ideal = 0;
  for (const auto& l : layers)
    if (l.macs) ideal += ideal_us(l, limits).first;
  return median_sum > 0 ? ideal / median_sum : 0;
}

void write_trace(const std::string& path, const vkbnn::Network& network, const vkbnn::Profile& p) {
  nlohmann::ordered_json events = nlohmann::ordered_json::array();
  const auto& layers = network.layers();
  for (size_t k = 0; k < p.layers.size(); ++k) {
    const auto& t = p.layers[k];
    events.push_back({{"name", t.name},
                      {"cat", "layer"},
                      {"ph", "X"},
                      {"ts", t.start_us},
                      {"dur", t.gpu_us},
                      {"pid", 1},
                      {"tid", 1},
                      {"args", {{"op", t.op}, {"precision", vkbnn::to_string(layers[k].precision)}, {"output", shape_string(t.output_shape)},
                                {"macs", layers[k].macs}}}});
  }
  // The host's view of the same run, on its own track: upload, submit, wait, readback in order.
  double ts = -p.upload_us - p.submit_us;
  for (auto [name, us] : {std::pair{"upload", p.upload_us}, {"submit", p.submit_us}, {"wait", p.wait_us},
                          {"readback", p.readback_us}}) {
    events.push_back(
        {{"name", name}, {"cat", "host"}, {"ph", "X"}, {"ts", ts}, {"dur", us}, {"pid", 1}, {"tid", 2}, {"args", {}}});
    ts += us;
  }
  events.push_back({{"name", "thread_name"}, {"ph", "M"}, {"pid", 1}, {"tid", 1}, {"args", {{"name", "GPU"}}}});
  events.push_back({{"name", "thread_name"}, {"ph", "M"}, {"pid", 1}, {"tid", 2}, {"args", {{"name", "host"}}}});
  std::ofstream out(path);
  out << nlohmann::ordered_json{{"traceEvents", events}, {"displayTimeUnit", "ms"}}.dump(1) << '\n';
  if (!out) throw vkbnn::Error("cannot write the trace to " + path);
}

// The figures of one benchmark, gathered before they are printed in any format.
struct Results {
  std::vector<Spread> per_layer;
  std::map<std::string, double> by_op;
  double median_sum = 0;
  uint64_t total_macs = 0;
  // Stages end to end, as "name" -> spread over the runs.
  std::vector<std::pair<std::string, Spread>> stages;
  uint64_t runs = 0;
  size_t sampled = 0;     // runs the spreads are over (all of them up to kMaxSamples)
  double measured_s = 0;  // wall time of the measured runs
  int64_t batch = 1;
  vkbnn::MemoryReport memory;
  uint64_t host_peak_rss = 0;
  vkbnn::DeviceMemory heaps;
  std::optional<vkbnn::DeviceLimits> limits;

  double runs_per_s() const { return measured_s > 0 ? static_cast<double>(runs) / measured_s : 0; }
  const Spread& stage(const std::string& name) const {
    for (const auto& [n, s] : stages)
      if (n == name) return s;
    throw vkbnn::Error("no stage " + name);
  }
};

void write_csv(const std::string& path, const std::vector<vkbnn::LayerInfo>& layers, const Results& r) {
  std::ofstream out(path);
  out << "row,name,op,precision,output_shape,macs,median_us,p10_us,p90_us,mean_us,gmacs_per_s,value\n";
  for (size_t k = 0; k < layers.size(); ++k) {
    const auto& l = layers[k];
    const Spread& s = r.per_layer[k];
    out << "layer," << csv_field(l.name) << ',' << csv_field(l.op) << ',' << vkbnn::to_string(l.precision) << ','
        << shape_string(l.output_shape) << ',' << l.macs << ',' << csv_number(s.median) << ',' << csv_number(s.p10)
        << ',' << csv_number(s.p90) << ',' << csv_number(s.mean) << ',' << csv_number(rate(l.macs, s.median))
        << ",\n";
  }
  for (const auto& [name, s] : r.stages)
    out << "stage," << name << ",,,,," << csv_number(s.median) << ',' << csv_number(s.p10) << ','
        << csv_number(s.p90) << ',' << csv_number(s.mean) << ",,\n";
  const std::vector<std::pair<std::string, double>> summary = {
      {"batch", static_cast<double>(r.batch)},
      {"runs", static_cast<double>(r.runs)},
      {"measured_s", r.measured_s},
      {"runs_per_s", r.runs_per_s()},
      {"images_per_s", r.runs_per_s() * static_cast<double>(r.batch)},
      {"macs", static_cast<double>(r.total_macs)},
      {"device_weight_bytes", static_cast<double>(r.memory.weight_bytes)},
      {"device_arena_bytes", static_cast<double>(r.memory.arena_bytes)},
      {"device_staging_bytes", static_cast<double>(r.memory.staging_bytes)},
      {"device_total_bytes", static_cast<double>(vkbnn::tools::network_bytes(r.memory))},
      {"host_peak_rss_bytes", static_cast<double>(r.host_peak_rss)}};
  char buffer[64];
  for (const auto& [name, value] : summary) {
    // Counts and byte sizes exactly, rates to six significant digits.
    if (value == std::floor(value) && value < 1e15)
      std::snprintf(buffer, sizeof buffer, "%.0f", value);
    else
      std::snprintf(buffer, sizeof buffer, "%.6g", value);
    out << "summary," << name << ",,,,,,,,,," << buffer << '\n';
  }
  if (!out) throw vkbnn::Error("cannot write the CSV to " + path);
}

nlohmann::ordered_json spread_json(const Spread& s) {
  return {{"median_us", s.median}, {"p10_us", s.p10}, {"p90_us", s.p90}, {"mean_us", s.mean}};
}

void print_json(const Options& options, const vkbnn::Context& context, const vkbnn::Network& network,
                const Inputs& inputs, const Results& r) {
  const auto& layers = network.layers();
  const auto& model = network.model();
  nlohmann::ordered_json report;
  report["model"] = options.model;
  report["device"] = context.device().name;
  report["batch"] = r.batch;
  for (size_t i = 0; i < model.inputs().size(); ++i)
    report["inputs"].push_back(
        {{"name", model.inputs()[i].name}, {"shape", model.inputs()[i].shape}, {"source", inputs.sources[i]}});
  report["iterations"] = r.runs;
  report["sampled_runs"] = r.sampled;
  report["warmup"] = options.warmup;
  if (options.duration_s) report["duration_s"] = *options.duration_s;
  report["measured_s"] = r.measured_s;
  report["runs_per_s"] = r.runs_per_s();
  report["images_per_s"] = r.runs_per_s() * static_cast<double>(r.batch);
  for (size_t k = 0; k < layers.size(); ++k) {
    const auto& l = layers[k];
    const Spread& s = r.per_layer[k];
    report["layers"].push_back({{"name", l.name},
                                {"op", l.op},
                                {"precision", vkbnn::to_string(l.precision)},
                                {"output_shape", l.output_shape},
                                {"macs", l.macs},
                                {"median_us", s.median},
                                {"p10_us", s.p10},
                                {"p90_us", s.p90},
                                {"mean_us", s.mean},
                                {"bytes", l.bytes},
                                {"weight_bytes", l.weight_bytes},
                                {"gmacs_per_s", rate(l.macs, s.median)}});
    if (r.limits) {
      const Fraction f = fraction(l, s.median, *r.limits);
      report["layers"].back()["fraction_of_limit"] = f.value;
      report["layers"].back()["limit"] = f.of;
    }
  }
  for (const auto& [op, us] : r.by_op) report["by_op"][op] = {{"median_us", us}, {"share", us / r.median_sum}};
  report["totals"] = {{"layers_median_sum_us", r.median_sum},
                      {"gpu_span_median_us", r.stage("gpu_span").median},
                      {"end_to_end_median_us", r.stage("end_to_end").median},
                      {"end_to_end_p10_us", r.stage("end_to_end").p10},
                      {"end_to_end_p90_us", r.stage("end_to_end").p90},
                      {"end_to_end_mean_us", r.stage("end_to_end").mean},
                      {"upload_median_us", r.stage("upload").median},
                      {"submit_median_us", r.stage("submit").median},
                      {"wait_median_us", r.stage("wait").median},
                      {"readback_median_us", r.stage("readback").median},
                      {"macs", r.total_macs},
                      {"gmacs_per_s", rate(r.total_macs, r.median_sum)}};
  for (const auto& [name, s] : r.stages) report["stages"][name] = spread_json(s);
  if (r.limits) {
    report["limits"] = {{"fp32_gflops", r.limits->fp32_gflops},
                        {"int8_gops", r.limits->int8_gops},
                        {"bandwidth_gbps", r.limits->bandwidth_gbps}};
    report["totals"]["fraction_of_fp32_peak"] = 2.0 * rate(r.total_macs, r.median_sum) / r.limits->fp32_gflops;
    report["totals"]["fraction_of_peak"] = network_fraction(layers, r.median_sum, *r.limits);
  }
  report["memory"] = {{"device", vkbnn::tools::need_json(r.memory, r.heaps)},
                      {"host_peak_rss_bytes", r.host_peak_rss},
                      {"memory_budget", r.heaps.budget},
                      {"heaps", vkbnn::tools::heaps_json(r.heaps)}};
  const auto& load = network.load_report();
  report["load"] = {{"total_ms", load.total_ms},
                    {"pipelines_ms", load.pipelines_ms},
                    {"pipelines", load.pipelines},
                    {"pipeline_cache", context.pipeline_cache_file().string()},
                    {"pipeline_cache_warm", context.pipeline_cache_loaded()}};
  std::cout << report.dump(2) << '\n';
}

void print_text(const Options& options, const vkbnn::Context& context, const vkbnn::Network& network,
                const Inputs& inputs, const Results& r) {
  const auto& layers = network.layers();
  const auto& model = network.model();
  size_t name_width = 5, op_width = 2, shape_width = 6;
  for (const auto& l : layers) {
    name_width = std::max(name_width, l.name.size());
    op_width = std::max(op_width, l.op.size());
    shape_width = std::max(shape_width, shape_string(l.output_shape).size());
  }
  std::cout << "model   " << options.model << "\ndevice  " << vkbnn::to_string(context.device()) << '\n';
  for (size_t i = 0; i < model.inputs().size(); ++i)
    std::cout << "input   " << model.inputs()[i].name << " " << shape_string(model.inputs()[i].shape) << ": "
              << inputs.sources[i] << '\n';
  std::cout << "batch   " << r.batch << "\nruns    " << r.runs << " measured in " << fixed(r.measured_s, 2)
            << " s after " << options.warmup << " warm-up";
  if (options.duration_s) std::cout << " (--duration-s " << fixed(*options.duration_s, 2) << ")";
  if (r.sampled < r.runs) std::cout << "; spreads over a uniform sample of " << r.sampled << " runs";
  std::cout << "\n\n";
  std::cout << pad("layer", name_width) << "  " << pad("op", op_width) << "  " << pad("precision", 9) << "  "
            << pad("output", shape_width) << "  " << pad("median us", 10, true) << "  " << pad("p10-p90 us", 17, true)
            << "  " << pad("MMAC", 9, true) << "  " << pad("GMAC/s", 8, true)
            << (r.limits ? "  of the limit" : "") << '\n';
  for (size_t k = 0; k < layers.size(); ++k) {
    const auto& l = layers[k];
    const Spread& s = r.per_layer[k];
    std::cout << pad(l.name, name_width) << "  " << pad(l.op, op_width) << "  " << pad(vkbnn::to_string(l.precision), 9) << "  "
              << pad(shape_string(l.output_shape), shape_width) << "  " << pad(fixed(s.median, 1), 10, true) << "  "
              << pad(fixed(s.p10, 1) + "-" + fixed(s.p90, 1), 17, true) << "  "
              << pad(l.macs ? fixed(static_cast<double>(l.macs) / 1e6, 1) : "-", 9, true) << "  "
              << pad(l.macs ? fixed(rate(l.macs, s.median), 1) : "-", 8, true);
    if (r.limits) {
      const Fraction f = fraction(l, s.median, *r.limits);
      if (f.value > 0) std::cout << "  " << pad(fixed(100.0 * f.value, 1) + "%", 7, true) << ' ' << f.of;
    }
    std::cout << '\n';
  }
  std::cout << "\nshare of the layers' time by op:\n";
  std::vector<std::pair<double, std::string>> ops;
  for (const auto& [op, us] : r.by_op) ops.emplace_back(us, op);
  std::sort(ops.rbegin(), ops.rend());
  for (const auto& [us, op] : ops)
    std::cout << "  " << pad(op, 22) << pad(fixed(us, 1), 10, true) << " us  " << fixed(100.0 * us / r.median_sum, 1)
              << "%\n";
  const Spread& e2e = r.stage("end_to_end");
  std::cout << "\nmedians over the runs:\n"
            << "  layers (sum)          " << pad(fixed(r.median_sum, 1), 10, true) << " us  "
            << fixed(rate(r.total_macs, r.median_sum), 1) << " GMAC/s over "
            << fixed(static_cast<double>(r.total_macs) / 1e9, 2) << " GMAC\n"
            << "  GPU timestamp span    " << pad(fixed(r.stage("gpu_span").median, 1), 10, true) << " us\n"
            << "  upload (host copy)    " << pad(fixed(r.stage("upload").median, 1), 10, true) << " us\n"
            << "  submit                " << pad(fixed(r.stage("submit").median, 1), 10, true) << " us\n"
            << "  wait (GPU)            " << pad(fixed(r.stage("wait").median, 1), 10, true) << " us\n"
            << "  readback (host copy)  " << pad(fixed(r.stage("readback").median, 1), 10, true) << " us\n"
            << "  end to end            " << pad(fixed(e2e.median, 1), 10, true) << " us  (p10 " << fixed(e2e.p10, 1)
            << ", p90 " << fixed(e2e.p90, 1) << ", mean " << fixed(e2e.mean, 1) << ")\n"
            << "\nthroughput  " << fixed(r.runs_per_s(), 1) << " runs/s, "
            << fixed(r.runs_per_s() * static_cast<double>(r.batch), 1) << " images/s at batch " << r.batch
            << " (runs back to back, one in flight)\n";
  if (r.limits)
    std::cout << "\nlimits  fp32 " << fixed(r.limits->fp32_gflops, 1) << " GFLOP/s"
              << (r.limits->int8_gops > 0 ? ", int8 dot products " + fixed(r.limits->int8_gops, 1) + " GOP/s" : "")
              << ", memory " << fixed(r.limits->bandwidth_gbps, 1)
              << " GB/s (micro-benchmarks); the layers' MACs take "
              << fixed(100.0 * network_fraction(layers, r.median_sum, *r.limits), 1)
              << "% of their time at the peak of their arithmetic\n";
  std::cout << "\nmemory\n"
            << vkbnn::tools::format_need(r.memory, r.heaps, "  ") << "  host peak RSS "
            << (r.host_peak_rss ? vkbnn::tools::bytes_string(r.host_peak_rss) : std::string("not reported")) << '\n'
            << "  device heaps (after loading):\n"
            << vkbnn::tools::format_heaps(r.heaps, "    ");
  const auto& load = network.load_report();
  std::cout << "\nload    " << fixed(load.total_ms, 1) << " ms, of which " << fixed(load.pipelines_ms, 1)
            << " ms creating " << load.pipelines << " pipelines (pipeline cache: "
            << (context.pipeline_cache_file().empty() ? std::string("off")
                                                      : (context.pipeline_cache_loaded() ? "warm, " : "cold, ") +
                                                            context.pipeline_cache_file().string())
            << ")\n";
  if (!options.trace.empty()) std::cout << "trace   " << options.trace << " (last run)\n";
  if (!options.csv.empty()) std::cout << "csv     " << options.csv << '\n';
  for (const std::string& file : options.outputs) std::cout << "output  " << file << " (last run)\n";
}

int run(const Options& options) {
  // Bad input files are reported before any device work.
  auto model = vkbnn::cli::at_input_size(vkbnn::Model::load(options.model), options.input_size);
  const Inputs inputs = load_inputs(model, options.inputs);
  if (!options.outputs.empty() && options.outputs.size() != model.outputs().size())
    throw vkbnn::Error("the model has " + std::to_string(model.outputs().size()) + " output(s) but " +
                       std::to_string(options.outputs.size()) + " --output file(s) were given");
  vkbnn::ContextOptions context_options;
  context_options.device_index = options.device;
  vkbnn::Context context(context_options);
  // The Networks are gone before the validation check, so their teardown is checked too.
  const int status = [&] {
    vkbnn::Network network(context, model, {.profiling = true});
    if (!context.device().timestamps) throw vkbnn::Error("device '" + context.device().name + "' has no GPU timestamps");
    Results r;
    if (options.limits) r.limits = vkbnn::measure_limits(context);

    const std::vector<std::span<const float>> views(inputs.data.begin(), inputs.data.end());
    for (uint32_t i = 0; i < options.warmup; ++i) network.run(views);

    using Clock = std::chrono::steady_clock;
    const size_t n_layers = network.layers().size();
    // Each run's layer times, then its stages; a long --duration-s keeps a uniform sample of the
    // runs (reservoir sampling) so that memory stays bounded.
    constexpr size_t kMaxSamples = 1 << 16;
    const std::vector<std::string> stage_names = {"end_to_end", "upload", "submit", "wait", "readback", "gpu_span",
                                                  "layers_sum"};
    std::vector<std::vector<double>> samples;
    std::mt19937_64 pick(1);
    std::vector<vkbnn::Tensor> outputs;
    uint64_t runs = 0;
    const auto start = Clock::now();
    const auto seconds = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
    // With --duration-s, runs start until that much time has passed; at least one is measured.
    while (options.duration_s ? (runs == 0 || seconds() < *options.duration_s) : runs < options.iters) {
      outputs = network.run(views);
      const auto& p = network.last_profile();
      std::vector<double> sample(n_layers);
      double sum = 0;
      for (size_t k = 0; k < n_layers; ++k) sum += sample[k] = p.layers[k].gpu_us;
      sample.insert(sample.end(), {p.total_us, p.upload_us, p.submit_us, p.wait_us, p.readback_us, p.gpu_us, sum});
      ++runs;
      if (samples.size() < kMaxSamples)
        samples.push_back(std::move(sample));
      else if (const uint64_t slot = pick() % runs; slot < kMaxSamples)
        samples[slot] = std::move(sample);
    }
    r.measured_s = seconds();
    r.runs = runs;
    r.sampled = samples.size();
    if (!options.trace.empty()) write_trace(options.trace, network, network.last_profile());
    for (size_t i = 0; i < options.outputs.size(); ++i)
      vkbnn::io::write_output_npy(options.outputs[i], outputs[i].shape, outputs[i].data, network.model().outputs()[i]);

    const auto column = [&](size_t c) {
      std::vector<double> values;
      for (const auto& sample : samples) values.push_back(sample[c]);
      return spread(std::move(values));
    };
    const auto& layers = network.layers();
    for (size_t k = 0; k < n_layers; ++k) {
      r.per_layer.push_back(column(k));
      r.by_op[layers[k].op] += r.per_layer.back().median;
      r.median_sum += r.per_layer.back().median;
      r.total_macs += layers[k].macs;
    }
    for (size_t i = 0; i < stage_names.size(); ++i) r.stages.emplace_back(stage_names[i], column(n_layers + i));
    r.batch = batch_size(model);
    r.memory = network.memory();
    r.host_peak_rss = vkbnn::tools::host_peak_rss_bytes();
    r.heaps = vkbnn::memory_heaps(context);

    if (!options.csv.empty()) write_csv(options.csv, layers, r);
    if (options.json)
      print_json(options, context, network, inputs, r);
    else
      print_text(options, context, network, inputs, r);
    return 0;
  }();
  return vkbnn::cli::validated("vkbnn-bench", context, status);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Benchmark a .vkbnn model layer by layer over many runs."};
  Options options;
  app.add_option("model", options.model, "Model file (.vkbnn)")->required();
  auto* iters = app.add_option("--iters", options.iters, "Measured runs")->capture_default_str()->check(
      vkbnn::cli::positive_integer());
  app.add_option("--duration-s", options.duration_s,
                 "Measure for this many seconds instead of --iters runs (at least one run after the warm-up)")
      ->excludes(iters)
      ->check(CLI::Validator(
          [](std::string& value) -> std::string {
            try {
              size_t used = 0;
              const double s = std::stod(value, &used);
              if (used == value.size() && s > 0 && s <= 86400) return {};
            } catch (const std::exception&) {
            }
            return "'" + value + "' is not a number of seconds in (0, 86400]";
          },
          "SECONDS"));
  vkbnn::cli::add_input_size_option(app, options.input_size);
  app.add_option("--warmup", options.warmup, "Runs before measuring")->capture_default_str();
  app.add_option("--input", options.inputs,
                 "Input data as float32 .npy: FILE, one per model input in order, or NAME=FILE for some of them "
                 "(repeatable); inputs without one get random values")
      ->allow_extra_args(false);
  app.add_option("--output", options.outputs,
                 "Write the last run's outputs as .npy, one file per model output in order (repeatable)")
      ->allow_extra_args(false);
  app.add_option("--csv", options.csv, "Also write per-layer rows, the stages and a summary as CSV to this file");
  app.add_option("--device", options.device, "Vulkan device index (see vkbnn-info); default: VKBNN_DEVICE or the best GPU");
  app.add_flag("--json", options.json, "Print one JSON object instead of tables");
  app.add_option("--trace", options.trace, "Write the last run as Chrome trace-event JSON (Perfetto, chrome://tracing)");
  app.add_flag("--limits", options.limits,
               "Measure the device's fp32 rate and memory bandwidth first and show each layer's fraction of them");
  if (const auto status = vkbnn::cli::parse_command_line(app, argc, argv)) return *status;
  return vkbnn::cli::guarded_main("vkbnn-bench", [&] { return run(options); });
}
