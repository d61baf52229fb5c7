// Binary against fp32 3x3 convolution on ResNet-18's layer shapes (C -> C channels, stride 1,
// padding 1): the GPU time of the convolution layer alone, from the engine's per-layer
// timestamps, for a Conv2D and for a Binarize -> BinaryConv2D pair whose epilogue carries the
// usual Elastic-Link identity add and RPReLU. Ratios are taken from medians of the same run.
// Beside the GPU time, the process CPU time of a whole run less that of a run of one ReLU on
// the same tensor (upload, download, submission) is reported: on a CPU device (lavapipe) it is
// the work done, and unlike wall-clock time it does not grow when other processes load the
// machine and pre-empt its worker threads.
//   vkbnn_bench_binary_conv [--benchmark_*]
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <sys/resource.h>

#include <benchmark/benchmark.h>

#include "converter/writer/model_writer.hpp"
#include "layer_models.hpp"
#include "vkbnn/vkbnn.hpp"

namespace {

using vkbnn::bench::median;
using vkbnn::bench::random_values;

flatbuffers::Offset<flatbuffers::Vector<int32_t>> ints(flatbuffers::FlatBufferBuilder& b, std::vector<int32_t> v) {
  return b.CreateVector(v);
}

// The fixed cost of a run: one ReLU on the same tensor.
std::vector<uint8_t> overhead(int64_t c, int64_t hw) {
  vkbnn::convert::ModelWriter w;
  auto& b = w.builder();
  const uint32_t x = w.add_tensor("x", {1, c, hw, hw});
  const uint32_t y = w.add_tensor("y", {1, c, hw, hw});
  w.add_node("conv", vkbnn::fb::OpParams::ActivationOp,
             vkbnn::fb::CreateActivationOp(b, vkbnn::fb::CreateActivation(b, vkbnn::fb::ActivationKind::Relu)).Union(),
             {x}, {y});
  w.set_inputs({x});
  w.set_outputs({y});
  return w.finish();
}

std::vector<uint8_t> binary_conv(int64_t c, int64_t hw) {
  vkbnn::convert::ModelWriter w;
  auto& b = w.builder();
  const uint32_t x = w.add_tensor("x", {1, c, hw, hw});
  const uint32_t bits = w.add_tensor("bits", {1, c, hw, hw}, vkbnn::fb::DataType::Bit);
  const uint32_t y = w.add_tensor("y", {1, c, hw, hw});
  w.add_node("binarize", vkbnn::fb::OpParams::Binarize, vkbnn::fb::CreateBinarize(b).Union(),
             {x, w.add_constant("threshold", {c}, random_values(static_cast<size_t>(c), 3))}, {bits});
  std::vector<uint32_t> words(static_cast<size_t>(c * ((c + 31) / 32) * 9));
  std::mt19937 rng(4);
  for (auto& word : words) word = rng();
  if (c % 32)
    for (size_t i = 0; i < words.size(); ++i)
      if ((i / 9) % static_cast<size_t>((c + 31) / 32) == static_cast<size_t>(c / 32)) words[i] &= (1u << (c % 32)) - 1;
  auto channel = [&](const char* name, uint32_t seed) {
    return w.add_constant(name, {c}, random_values(static_cast<size_t>(c), seed));
  };
  auto link = vkbnn::fb::CreateElasticLink(b);
  w.add_node("conv", vkbnn::fb::OpParams::BinaryConv2D,
             vkbnn::fb::CreateBinaryConv2D(
                 b, ints(b, {3, 3}), ints(b, {1, 1}), ints(b, {1, 1}), ints(b, {1, 1, 1, 1}),
                 vkbnn::fb::BinaryPadding::Zero,
                 vkbnn::fb::CreateBinaryEpilogue(b, vkbnn::fb::BinaryActivationKind::RPRelu, true, link))
                 .Union(),
             {bits, w.add_bit_constant("w", {c, c, 3, 3}, words), channel("scale", 5), channel("shift", 6), x,
              channel("gamma", 7), channel("shift_in", 8), channel("slope", 9), channel("shift_out", 10)},
             {y});
  w.set_inputs({x});
  w.set_outputs({y});
  return w.finish();
}

// Median GPU microseconds of the layer named "conv", and median process CPU microseconds of a
// run, per benchmark name.
std::map<std::string, double> g_medians, g_cpu_medians;

double cpu_us() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e6 +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
}

void run_layer(benchmark::State& state, vkbnn::Context* context, std::vector<uint8_t> bytes, std::string key) {
  vkbnn::Network network(*context, vkbnn::Model::from_bytes(std::move(bytes)));
  network.set_profiling(true);
  std::vector<float> input(network.model().inputs()[0].elements());
  input = random_values(input.size(), 11);
  network.run(input);
  std::vector<double> times, cpu;
  for (auto _ : state) {
    const double cpu_before = cpu_us();
    network.run(input);
    cpu.push_back(cpu_us() - cpu_before);
    const auto& layers = network.last_profile().layers;
    auto it = std::find_if(layers.begin(), layers.end(), [](const auto& l) { return l.name == "conv"; });
    times.push_back(it->gpu_us);
    state.SetIterationTime(it->gpu_us * 1e-6);
  }
  g_medians[key] = median(times);
  g_cpu_medians[key] = median(cpu);
  const auto& s = network.model().inputs()[0].shape;
  const double macs = static_cast<double>(s[1] * s[1] * 9 * s[2] * s[3]);
  state.counters["GMAC/s"] = macs / (g_medians[key] * 1e3);
  state.counters["cpu_us"] = g_cpu_medians[key];
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  try {
    vkbnn::Context context;
    std::cerr << "device: " << vkbnn::to_string(context.device()) << '\n';
    const std::vector<std::pair<int64_t, int64_t>> shapes = {{64, 56}, {128, 28}, {256, 14}, {512, 7}};
    for (auto [c, hw] : shapes) {
      const std::string shape = std::to_string(c) + "@" + std::to_string(hw) + "x" + std::to_string(hw);
      for (const std::string kind : {"fp32", "binary", "overhead"}) {
        const std::string key = kind + "/" + shape;
        benchmark::RegisterBenchmark(key.c_str(), run_layer, &context,
                                     kind == "fp32"     ? vkbnn::bench::fp32_conv3x3(c, hw)
                                     : kind == "binary" ? binary_conv(c, hw)
                                                        : overhead(c, hw),
                                     key)
            ->Unit(benchmark::kMicrosecond)
            ->UseManualTime()
            ->MinTime(1.0);
      }
    }
    benchmark::RunSpecifiedBenchmarks();
    std::printf("\n| layer (3x3, stride 1) | fp32 us | binary us | speed-up | fp32 CPU us | binary CPU us | CPU speed-up |\n"
                "|---|---|---|---|---|---|---|\n");
    for (auto [c, hw] : shapes) {
      const std::string shape = std::to_string(c) + "@" + std::to_string(hw) + "x" + std::to_string(hw);
      const double fp = g_medians["fp32/" + shape], bin = g_medians["binary/" + shape];
      const double base = g_cpu_medians["overhead/" + shape];
      const double fp_cpu = g_cpu_medians["fp32/" + shape] - base, bin_cpu = g_cpu_medians["binary/" + shape] - base;
      if (fp > 0 && bin > 0)
        std::printf("| %s | %.0f | %.0f | %.1fx | %.0f | %.0f | %.1fx |\n", shape.c_str(), fp, bin, fp / bin, fp_cpu,
                    bin_cpu, bin_cpu > 0 ? fp_cpu / bin_cpu : 0.0);
    }
    benchmark::Shutdown();
  } catch (const std::exception& e) {
    std::cerr << "vkbnn_bench_binary_conv: error: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
