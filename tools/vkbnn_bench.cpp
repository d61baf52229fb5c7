// vkbnn-bench: per-layer GPU profile of a model over many runs, with the spread, the work each
// layer does and the rate it reaches, reconciled with the end-to-end latency; optionally as JSON
// and as a Chrome trace (chrome://tracing, Perfetto).
#include <algorithm>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <random>

#include "profile_table.hpp"
#include "tool_main.hpp"
#include "vkbnn/vkbnn.hpp"

namespace {

using vkbnn::tools::shape_string;

struct Options {
  std::string model;
  uint32_t iters = 50;
  uint32_t warmup = 5;
  std::optional<uint32_t> device;
  bool json = false;
  std::string trace;
  bool limits = false;
};

// Median and the 10th / 90th percentiles.
struct Spread {
  double median = 0, p10 = 0, p90 = 0;
};

Spread spread(std::vector<double> v) {
  if (v.empty()) return {};
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5)]; };
  return {at(0.5), at(0.1), at(0.9)};
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
  if (l.macs && l.precision == "int8" && limits.int8_gops > 0)
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
                      {"args", {{"op", t.op}, {"precision", layers[k].precision}, {"output", shape_string(t.output_shape)},
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

int bench(const Options& options, vkbnn::Context& context) {
  auto model = vkbnn::Model::load(options.model);
  vkbnn::Network network(context, model, {.profiling = true});
  if (!context.device().timestamps) throw vkbnn::Error("device '" + context.device().name + "' has no GPU timestamps");
  std::optional<vkbnn::DeviceLimits> limits;
  if (options.limits) limits = vkbnn::measure_limits(context);

  std::vector<std::vector<float>> inputs;
  std::mt19937 rng(1);
  std::normal_distribution<float> dist;
  for (const auto& in : model.inputs()) {
    inputs.emplace_back(in.elements());
    for (auto& v : inputs.back()) v = dist(rng);
  }
  const std::vector<std::span<const float>> views(inputs.begin(), inputs.end());
  for (uint32_t i = 0; i < options.warmup; ++i) network.run(views);

  const size_t n_layers = network.layers().size();
  std::vector<std::vector<double>> layer_us(n_layers);
  std::vector<double> total, upload, submit, wait, readback, gpu, layer_sum;
  for (uint32_t i = 0; i < options.iters; ++i) {
    network.run(views);
    const auto& p = network.last_profile();
    double sum = 0;
    for (size_t k = 0; k < n_layers; ++k) {
      layer_us[k].push_back(p.layers[k].gpu_us);
      sum += p.layers[k].gpu_us;
    }
    total.push_back(p.total_us), upload.push_back(p.upload_us), submit.push_back(p.submit_us);
    wait.push_back(p.wait_us), readback.push_back(p.readback_us), gpu.push_back(p.gpu_us), layer_sum.push_back(sum);
  }
  if (!options.trace.empty()) write_trace(options.trace, network, network.last_profile());

  const auto& layers = network.layers();
  std::vector<Spread> per_layer;
  std::map<std::string, double> by_op;
  double median_sum = 0;
  uint64_t total_macs = 0;
  for (size_t k = 0; k < n_layers; ++k) {
    per_layer.push_back(spread(layer_us[k]));
    by_op[layers[k].op] += per_layer.back().median;
    median_sum += per_layer.back().median;
    total_macs += layers[k].macs;
  }
  const Spread e2e = spread(total), gpu_span = spread(gpu);
  const auto& load = network.load_report();

  if (options.json) {
    nlohmann::ordered_json report;
    report["model"] = options.model;
    report["device"] = context.device().name;
    report["iterations"] = options.iters;
    report["warmup"] = options.warmup;
    for (size_t k = 0; k < n_layers; ++k) {
      const auto& l = layers[k];
      report["layers"].push_back({{"name", l.name},
                                  {"op", l.op},
                                  {"precision", l.precision},
                                  {"output_shape", l.output_shape},
                                  {"macs", l.macs},
                                  {"median_us", per_layer[k].median},
                                  {"p10_us", per_layer[k].p10},
                                  {"p90_us", per_layer[k].p90},
                                  {"bytes", l.bytes},
                                  {"gmacs_per_s", rate(l.macs, per_layer[k].median)}});
      if (limits) {
        const Fraction f = fraction(l, per_layer[k].median, *limits);
        report["layers"].back()["fraction_of_limit"] = f.value;
        report["layers"].back()["limit"] = f.of;
      }
    }
    for (const auto& [op, us] : by_op) report["by_op"][op] = {{"median_us", us}, {"share", us / median_sum}};
    report["totals"] = {{"layers_median_sum_us", median_sum}, {"gpu_span_median_us", gpu_span.median},
                        {"end_to_end_median_us", e2e.median}, {"end_to_end_p10_us", e2e.p10},
                        {"end_to_end_p90_us", e2e.p90}, {"upload_median_us", spread(upload).median},
                        {"submit_median_us", spread(submit).median}, {"wait_median_us", spread(wait).median},
                        {"readback_median_us", spread(readback).median}, {"macs", total_macs},
                        {"gmacs_per_s", rate(total_macs, median_sum)}};
    if (limits) {
      report["limits"] = {{"fp32_gflops", limits->fp32_gflops},
                          {"int8_gops", limits->int8_gops},
                          {"bandwidth_gbps", limits->bandwidth_gbps}};
      report["totals"]["fraction_of_fp32_peak"] = 2.0 * rate(total_macs, median_sum) / limits->fp32_gflops;
      report["totals"]["fraction_of_peak"] = network_fraction(layers, median_sum, *limits);
    }
    report["load"] = {{"total_ms", load.total_ms},
                      {"pipelines_ms", load.pipelines_ms},
                      {"pipelines", load.pipelines},
                      {"pipeline_cache", context.pipeline_cache_file().string()},
                      {"pipeline_cache_warm", context.pipeline_cache_loaded()}};
    std::cout << report.dump(2) << '\n';
    return 0;
  }

  size_t name_width = 5, op_width = 2, shape_width = 6;
  for (const auto& l : layers) {
    name_width = std::max(name_width, l.name.size());
    op_width = std::max(op_width, l.op.size());
    shape_width = std::max(shape_width, shape_string(l.output_shape).size());
  }
  std::cout << "model   " << options.model << "\ndevice  " << vkbnn::to_string(context.device()) << "\nruns    "
            << options.iters << " measured after " << options.warmup << " warm-up\n\n";
  std::cout << pad("layer", name_width) << "  " << pad("op", op_width) << "  " << pad("precision", 9) << "  "
            << pad("output", shape_width) << "  " << pad("median us", 10, true) << "  " << pad("p10-p90 us", 17, true)
            << "  " << pad("MMAC", 9, true) << "  " << pad("GMAC/s", 8, true)
            << (limits ? "  of the limit" : "") << '\n';
  for (size_t k = 0; k < n_layers; ++k) {
    const auto& l = layers[k];
    const Spread& s = per_layer[k];
    std::cout << pad(l.name, name_width) << "  " << pad(l.op, op_width) << "  " << pad(l.precision, 9) << "  "
              << pad(shape_string(l.output_shape), shape_width) << "  " << pad(fixed(s.median, 1), 10, true) << "  "
              << pad(fixed(s.p10, 1) + "-" + fixed(s.p90, 1), 17, true) << "  "
              << pad(l.macs ? fixed(static_cast<double>(l.macs) / 1e6, 1) : "-", 9, true) << "  "
              << pad(l.macs ? fixed(rate(l.macs, s.median), 1) : "-", 8, true);
    if (limits) {
      const Fraction f = fraction(l, s.median, *limits);
      if (f.value > 0) std::cout << "  " << pad(fixed(100.0 * f.value, 1) + "%", 7, true) << ' ' << f.of;
    }
    std::cout << '\n';
  }
  std::cout << "\nshare of the layers' time by op:\n";
  std::vector<std::pair<double, std::string>> ops;
  for (const auto& [op, us] : by_op) ops.emplace_back(us, op);
  std::sort(ops.rbegin(), ops.rend());
  for (const auto& [us, op] : ops)
    std::cout << "  " << pad(op, 22) << pad(fixed(us, 1), 10, true) << " us  " << fixed(100.0 * us / median_sum, 1)
              << "%\n";
  std::cout << "\nmedians over the runs:\n"
            << "  layers (sum)          " << pad(fixed(median_sum, 1), 10, true) << " us  "
            << fixed(rate(total_macs, median_sum), 1) << " GMAC/s over " << fixed(static_cast<double>(total_macs) / 1e9, 2)
            << " GMAC\n"
            << "  GPU timestamp span    " << pad(fixed(gpu_span.median, 1), 10, true) << " us\n"
            << "  upload (host copy)    " << pad(fixed(spread(upload).median, 1), 10, true) << " us\n"
            << "  submit                " << pad(fixed(spread(submit).median, 1), 10, true) << " us\n"
            << "  wait (GPU)            " << pad(fixed(spread(wait).median, 1), 10, true) << " us\n"
            << "  readback (host copy)  " << pad(fixed(spread(readback).median, 1), 10, true) << " us\n"
            << "  end to end            " << pad(fixed(e2e.median, 1), 10, true) << " us  (p10 " << fixed(e2e.p10, 1)
            << ", p90 " << fixed(e2e.p90, 1) << ")\n";
  if (limits)
    std::cout << "\nlimits  fp32 " << fixed(limits->fp32_gflops, 1) << " GFLOP/s"
              << (limits->int8_gops > 0 ? ", int8 dot products " + fixed(limits->int8_gops, 1) + " GOP/s" : "")
              << ", memory " << fixed(limits->bandwidth_gbps, 1)
              << " GB/s (micro-benchmarks); the layers' MACs take "
              << fixed(100.0 * network_fraction(layers, median_sum, *limits), 1)
              << "% of their time at the peak of their arithmetic\n";
  std::cout << "\nload    " << fixed(load.total_ms, 1) << " ms, of which " << fixed(load.pipelines_ms, 1)
            << " ms creating " << load.pipelines << " pipelines (pipeline cache: "
            << (context.pipeline_cache_file().empty() ? std::string("off")
                                                      : (context.pipeline_cache_loaded() ? "warm, " : "cold, ") +
                                                            context.pipeline_cache_file().string())
            << ")\n";
  if (!options.trace.empty()) std::cout << "trace   " << options.trace << " (last run)\n";
  return 0;
}

int run(const Options& options) {
  vkbnn::ContextOptions context_options;
  context_options.device_index = options.device;
  vkbnn::Context context(context_options);
  return vkbnn::tools::validated("vkbnn-bench", context, bench(options, context));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Profile a .vkbnn model layer by layer over many runs."};
  Options options;
  app.add_option("model", options.model, "Model file (.vkbnn)")->required();
  app.add_option("--iters", options.iters, "Measured runs")->check(vkbnn::tools::positive_integer());
  app.add_option("--warmup", options.warmup, "Runs before measuring");
  app.add_option("--device", options.device, "Vulkan device index (see vkbnn-info); default: VKBNN_DEVICE or the best GPU");
  app.add_flag("--json", options.json, "Print one JSON object instead of tables");
  app.add_option("--trace", options.trace, "Write the last run as Chrome trace-event JSON (Perfetto, chrome://tracing)");
  app.add_flag("--limits", options.limits,
               "Measure the device's fp32 rate and memory bandwidth first and show each layer's fraction of them");
  CLI11_PARSE(app, argc, argv);
  return vkbnn::tools::guarded_main("vkbnn-bench", [&] { return run(options); });
}
