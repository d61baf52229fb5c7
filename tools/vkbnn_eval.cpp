// vkbnn-eval: top-1/top-5 accuracy and speed of a .vkbnn classifier on an IDX dataset.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "classify.hpp"
#include "idx.hpp"
#include "image_input.hpp"
#include "tool_main.hpp"
#include "vkbnn/vkbnn.hpp"

namespace vkbnn::tools {
namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string model;
  std::string images;
  std::string labels;
  std::optional<size_t> limit;
  std::optional<uint32_t> device;
  bool json = false;
};

constexpr size_t kProgressEvery = 1000;

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::string fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

// Runs the data set through the model and prints the scores.
int evaluate(const Options& options, const Model& model, const InputLayout& layout, const IdxImages& images,
             const std::vector<uint8_t>& labels, size_t count, Context& context) {
  const size_t batch = static_cast<size_t>(layout.batch);
  const size_t classes = model.outputs()[0].elements() / batch;
  Network network(context, model);

  std::vector<float> input(batch * layout.image_elements());
  Image image{static_cast<int>(images.cols), static_cast<int>(images.rows), 1, {}};
  size_t top1 = 0, top5 = 0, runs = 0;
  Clock::duration inference{};
  const Clock::time_point start = Clock::now();
  for (size_t first = 0; first < count; first += batch) {
    const size_t in_batch = std::min(batch, count - first);
    std::fill(input.begin(), input.end(), 0.0f);
    for (size_t b = 0; b < in_batch; ++b) {
      const std::span<const uint8_t> pixels = images.image(first + b);
      image.pixels.assign(pixels.begin(), pixels.end());
      preprocess(image, layout, std::span<float>(input).subspan(b * layout.image_elements(), layout.image_elements()));
    }
    const Clock::time_point before = Clock::now();
    const Tensor output = network.run(std::span<const float>(input));
    inference += Clock::now() - before;
    ++runs;
    for (size_t b = 0; b < in_batch; ++b) {
      const std::span<const float> scores(output.data.data() + b * classes, classes);
      const std::vector<Ranked> ranked = top_k(scores, 5);
      const size_t label = labels[first + b];
      top1 += ranked[0].index == label;
      for (const Ranked& r : ranked) top5 += r.index == label;
    }
    const size_t done = first + in_batch;
    if (done / kProgressEvery != first / kProgressEvery || done == count)
      std::cerr << "vkbnn-eval: " << done << "/" << count << " images, top-1 " << fixed(100.0 * top1 / done, 2)
                << "%\n";
  }
  const double wall = seconds(Clock::now() - start);
  const double accuracy1 = static_cast<double>(top1) / count;
  const double accuracy5 = static_cast<double>(top5) / count;
  const double latency_ms = 1000.0 * seconds(inference) / runs;
  const double throughput = count / wall;
  const bool has_top5 = classes >= 5;

  if (options.json) {
    nlohmann::ordered_json report = {{"model", options.model},
                                     {"device", context.device().name},
                                     {"images", count},
                                     {"batch", batch},
                                     {"top1", accuracy1}};
    if (has_top5) report["top5"] = accuracy5;
    report["images_per_second"] = throughput;
    report["mean_latency_ms"] = latency_ms;
    report["seconds"] = wall;
    std::cout << report.dump(2) << '\n';
  } else {
    std::cout << "model       " << options.model << "\n"
              << "device      " << context.device().name << "\n"
              << "images      " << count << " (batch " << batch << ")\n"
              << "top-1       " << fixed(100.0 * accuracy1, 2) << "% (" << top1 << "/" << count << ")\n";
    if (has_top5) std::cout << "top-5       " << fixed(100.0 * accuracy5, 2) << "% (" << top5 << "/" << count << ")\n";
    std::cout << "throughput  " << fixed(throughput, 1) << " images/s (preprocessing included)\n"
              << "latency     " << fixed(latency_ms, 3) << " ms mean per run() call\n";
  }
  return 0;
}

int run(const Options& options) {
  const IdxImages images = read_idx_images(options.images);
  const std::vector<uint8_t> labels = read_idx_labels(options.labels);
  if (labels.size() != images.count)
    throw Error("'" + options.images + "' has " + std::to_string(images.count) + " images but '" + options.labels +
                "' has " + std::to_string(labels.size()) + " labels");
  const size_t count = std::min<size_t>(images.count, options.limit.value_or(images.count));
  if (count == 0) throw Error("there are no images to evaluate");

  const Model model = Model::load(options.model);
  const InputLayout layout = input_layout(model);
  if (model.outputs().size() != 1)
    throw Error("the model has " + std::to_string(model.outputs().size()) + " outputs; evaluation needs one");
  const size_t batch = static_cast<size_t>(layout.batch);
  const size_t classes = model.outputs()[0].elements() / batch;
  for (size_t i = 0; i < count; ++i)
    if (labels[i] >= classes)
      throw Error("label " + std::to_string(labels[i]) + " of image " + std::to_string(i) + " is outside the model's " +
                  std::to_string(classes) + " classes");

  ContextOptions context_options;
  context_options.device_index = options.device;
  Context context(context_options);
  return validated("vkbnn-eval", context, evaluate(options, model, layout, images, labels, count, context));
}

}  // namespace
}  // namespace vkbnn::tools

int main(int argc, char** argv) {
  vkbnn::tools::Options options;
  CLI::App app{"Measure a .vkbnn classifier's accuracy and speed on an IDX dataset (e.g. Fashion-MNIST)."};
  app.add_option("model", options.model, "Model file (.vkbnn)")->required();
  app.add_option("--images", options.images, "IDX image file (u8, magic 0x803), gzip or plain")->required();
  app.add_option("--labels", options.labels, "IDX label file (u8, magic 0x801), gzip or plain")->required();
  app.add_option("--limit", options.limit, "Evaluate only the first N images")->check(vkbnn::tools::positive_integer());
  app.add_option("--device", options.device, "Vulkan device index (see vkbnn-info); default: VKBNN_DEVICE or the best GPU");
  app.add_flag("--json", options.json, "Print one JSON object instead of text");
  CLI11_PARSE(app, argc, argv);
  return vkbnn::tools::guarded_main("vkbnn-eval", [&] { return vkbnn::tools::run(options); });
}
