// Winograd F(2x2, 3x3) against the direct convolution on 3x3 stride-1 layers (ResNet-18's stage
// shapes by default, C -> C channels, padding 1, bias and ReLU): the GPU time of the layer from
// the engine's per-layer timestamps, the two algorithms run alternately in the same process so
// that load on the machine affects both alike (NetworkOptions::conv_algorithm). Prints medians
// and their ratio as a Markdown table. With --model, the same for a whole network: the sum of its
// layers' GPU time and the wall time of a run, direct everywhere against the automatic choice.
//   vkbnn_bench_conv_winograd [--runs N] [--shape CxHW]... [--model FILE.vkbnn]
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "layer_models.hpp"
#include "vkbnn/vkbnn.hpp"

namespace {

using vkbnn::bench::median;
using vkbnn::bench::random_values;

double layer_us(vkbnn::Network& network, const std::vector<float>& input) {
  network.run(input);
  for (const auto& layer : network.last_profile().layers)
    if (layer.name == "conv") return layer.gpu_us;
  throw std::runtime_error("the profile has no layer 'conv'");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Winograd against direct 3x3 convolutions, GPU time per layer, interleaved"};
  int runs = 15;
  std::vector<std::string> shapes{"64x56", "128x28", "256x14", "512x7"};
  app.add_option("--runs", runs, "runs of each algorithm per shape")->check(CLI::Range(1, 10000));
  app.add_option("--shape", shapes, "CxHW: C channels in and out on an HW x HW image");
  std::string model_path;
  app.add_option("--model", model_path, "also compare a whole network (.vkbnn) end to end")->check(CLI::ExistingFile);
  CLI11_PARSE(app, argc, argv);
  try {
    vkbnn::Context context;
    std::cerr << "device: " << vkbnn::to_string(context.device()) << '\n';
    std::printf("| 3x3 conv, stride 1 | direct us | Winograd us | speed-up |\n|---|---|---|---|\n");
    for (const auto& text : shapes) {
      const auto x = text.find('x');
      if (x == std::string::npos) throw std::runtime_error("--shape " + text + " is not CxHW");
      const int64_t c = std::stoll(text.substr(0, x)), hw = std::stoll(text.substr(x + 1));
      if (c < 1 || c > 4096 || hw < 1 || hw > 1024) throw std::runtime_error("--shape " + text + " is out of range");
      const auto model = vkbnn::Model::from_bytes(vkbnn::bench::fp32_conv3x3(c, hw));
      vkbnn::NetworkOptions direct_options, winograd_options;
      direct_options.profiling = winograd_options.profiling = true;
      direct_options.conv_algorithm = vkbnn::ConvAlgorithm::Direct;
      winograd_options.conv_algorithm = vkbnn::ConvAlgorithm::Winograd;
      vkbnn::Network direct(context, model, direct_options), winograd(context, model, winograd_options);
      const auto input = random_values(static_cast<size_t>(c * hw * hw), 3);
      layer_us(direct, input);
      layer_us(winograd, input);
      std::vector<double> direct_us, winograd_us;
      for (int r = 0; r < runs; ++r) {
        direct_us.push_back(layer_us(direct, input));
        winograd_us.push_back(layer_us(winograd, input));
      }
      const double d = median(direct_us), w = median(winograd_us);
      std::printf("| %lld ch @ %lldx%lld | %.0f | %.0f | %.2fx |\n", static_cast<long long>(c),
                  static_cast<long long>(hw), static_cast<long long>(hw), d, w, d / w);
      std::fflush(stdout);
    }
    if (!model_path.empty()) {
      const auto model = vkbnn::Model::load(model_path);
      vkbnn::NetworkOptions direct_options, auto_options;
      direct_options.profiling = auto_options.profiling = true;
      direct_options.conv_algorithm = vkbnn::ConvAlgorithm::Direct;
      vkbnn::Network direct(context, model, direct_options), chosen(context, model, auto_options);
      const auto input = random_values(model.inputs()[0].elements(), 4);
      auto run = [&](vkbnn::Network& network, std::vector<double>& gpu, std::vector<double>& wall) {
        const auto start = std::chrono::steady_clock::now();
        network.run(input);
        wall.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
        double sum = 0;
        for (const auto& layer : network.last_profile().layers) sum += layer.gpu_us;
        gpu.push_back(sum / 1000.0);
      };
      std::vector<double> dg, dw, ag, aw;
      run(direct, dg, dw);
      run(chosen, ag, aw);
      dg.clear(), dw.clear(), ag.clear(), aw.clear();
      for (int r = 0; r < runs; ++r) {
        run(direct, dg, dw);
        run(chosen, ag, aw);
      }
      std::printf("\n| %s | direct | Winograd where chosen | speed-up |\n|---|---|---|---|\n", model_path.c_str());
      std::printf("| layers' GPU ms | %.1f | %.1f | %.2fx |\n", median(dg), median(ag), median(dg) / median(ag));
      std::printf("| run wall ms | %.1f | %.1f | %.2fx |\n", median(dw), median(aw), median(dw) / median(aw));
    }
  } catch (const std::exception& e) {
    std::cerr << "vkbnn_bench_conv_winograd: error: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
