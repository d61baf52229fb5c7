// Whole-network latency: one benchmark per model file given on the command line, each a
// steady-state Network::run() on random input (after Google Benchmark's own flags).
//   vkbnn_bench_networks [--benchmark_*] MODEL.vkbnn...
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "vkbnn/vkbnn.hpp"

namespace {

void run_network(benchmark::State& state, vkbnn::Context* context, const std::string& path) {
  auto model = vkbnn::Model::load(path);
  vkbnn::Network network(*context, model);
  std::vector<float> input(model.inputs()[0].elements());
  std::mt19937 rng(1);
  std::normal_distribution<float> dist;
  for (auto& v : input) v = dist(rng);
  network.run(input);  // warm-up: first-use costs stay out of the numbers
  for (auto _ : state) benchmark::DoNotOptimize(network.run(input));
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (argc < 2) {
    std::cerr << "usage: vkbnn_bench_networks [--benchmark_*] MODEL.vkbnn...\n";
    return 2;
  }
  try {
    vkbnn::Context context;
    std::cerr << "device: " << vkbnn::to_string(context.device()) << '\n';
    for (int i = 1; i < argc; ++i)
      benchmark::RegisterBenchmark(argv[i], run_network, &context, std::string(argv[i]))
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime()
          ->MinTime(2.0);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
  } catch (const std::exception& e) {
    std::cerr << "vkbnn_bench_networks: error: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
