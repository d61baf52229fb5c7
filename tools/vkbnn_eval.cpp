// vkbnn-eval: top-1/top-5 accuracy and speed of a .vkbnn classifier on an IDX dataset, an image
// folder with one subfolder per class, or a list file of images and class indices.
#include <chrono>
#include <cstdio>
#include <functional>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#ifdef _WIN32
#include <io.h>
#define VKBNN_ISATTY(fd) _isatty(fd)
#else
#include <unistd.h>
#define VKBNN_ISATTY(fd) isatty(fd)
#endif

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "vkbnn/cli.hpp"
#include "vkbnn/io/classify.hpp"
#include "vkbnn/io/datasets.hpp"
#include "vkbnn/io/idx.hpp"
#include "vkbnn/io/image_input.hpp"
#include "vkbnn/vkbnn.hpp"

namespace vkbnn::tools {
namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string model;
  std::string input_size;  // --input-size HxW, empty: the model's
  std::string images;
  std::string labels;
  std::string folder;
  std::string list;
  io::ClassOrder class_order = io::ClassOrder::Auto;
  std::optional<size_t> limit;
  std::optional<uint32_t> device;
  std::optional<int64_t> batch;
  bool blocking = false;
  bool json = false;
};

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::string fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

// Images with their class indices, decoded one at a time as the evaluation reaches them.
struct Dataset {
  std::string source;
  std::string mapping;
  std::vector<size_t> labels;
  std::vector<std::string> class_names;
  std::function<io::Image(size_t)> image;
};

Dataset idx_dataset(const Options& options, const Model& model, size_t classes) {
  auto images = std::make_shared<io::IdxImages>(io::read_idx_images(options.images));
  const std::vector<uint8_t> labels = io::read_idx_labels(options.labels);
  if (labels.size() != images->count)
    throw Error("'" + options.images + "' has " + std::to_string(images->count) + " images but '" + options.labels +
                "' has " + std::to_string(labels.size()) + " labels");
  Dataset dataset;
  dataset.source = options.images;
  dataset.mapping = "class indices from the IDX label file";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] >= classes)
      throw Error("label " + std::to_string(labels[i]) + " of image " + std::to_string(i) + " is outside the model's " +
                  std::to_string(classes) + " classes");
    dataset.labels.push_back(labels[i]);
  }
  for (size_t c = 0; c < classes; ++c) dataset.class_names.push_back(io::class_label(model.metadata(), c));
  dataset.image = [images](size_t i) {
    const std::span<const uint8_t> pixels = images->image(i);
    return io::Image{static_cast<int>(images->cols), static_cast<int>(images->rows), 1,
                 std::vector<uint8_t>(pixels.begin(), pixels.end())};
  };
  return dataset;
}

Dataset file_dataset(const Options& options, const Model& model, size_t classes) {
  io::LabeledImages files = options.folder.empty() ? io::image_list(options.list, model.metadata(), classes)
                                               : io::image_folder(options.folder, model.metadata(), classes, options.class_order);
  Dataset dataset;
  dataset.source = options.folder.empty() ? options.list : options.folder;
  dataset.mapping = std::move(files.mapping);
  dataset.labels = std::move(files.labels);
  dataset.class_names = std::move(files.class_names);
  dataset.image = [paths = std::move(files.paths)](size_t i) { return io::load_image(paths[i]); };
  return dataset;
}

// A bar redrawn in place on a terminal; elsewhere (a log, a pipe) a line every 1000 images.
class Progress {
 public:
  explicit Progress(size_t total) : total_(total), terminal_(VKBNN_ISATTY(2) != 0), start_(Clock::now()) {}

  void update(size_t done, size_t top1) {
    const double accuracy = 100.0 * static_cast<double>(top1) / static_cast<double>(done);
    if (!terminal_) {
      if (done / kLineEvery != last_ / kLineEvery || done == total_)
        std::cerr << "vkbnn-eval: " << done << "/" << total_ << " images, top-1 " << fixed(accuracy, 2) << "%\n";
      last_ = done;
      return;
    }
    const Clock::time_point now = Clock::now();
    if (done != total_ && now - drawn_ < std::chrono::milliseconds(100)) return;
    drawn_ = now;
    constexpr size_t kWidth = 30;
    const size_t filled = done * kWidth / total_;
    std::cerr << "\r[" << std::string(filled, '#') << std::string(kWidth - filled, '.') << "] " << done << "/" << total_
              << "  top-1 " << fixed(accuracy, 2) << "%  " << fixed(done / std::max(seconds(now - start_), 1e-9), 0)
              << " images/s " << (done == total_ ? "\n" : "") << std::flush;
  }

 private:
  static constexpr size_t kLineEvery = 1000;
  size_t total_;
  bool terminal_;
  size_t last_ = 0;
  Clock::time_point start_;
  Clock::time_point drawn_{};
};

int run(const Options& options) {
  const Model loaded = vkbnn::cli::at_input_size(Model::load(options.model), options.input_size);
  const Model model = options.batch ? loaded.with_batch(*options.batch) : loaded;
  const io::InputLayout layout = io::input_layout(model);
  if (model.outputs().size() != 1)
    throw Error("the model has " + std::to_string(model.outputs().size()) + " outputs; evaluation needs one");
  const size_t batch = static_cast<size_t>(layout.batch);
  const size_t classes = model.outputs()[0].elements() / batch;

  const Dataset dataset =
      options.images.empty() ? file_dataset(options, model, classes) : idx_dataset(options, model, classes);
  const size_t count = std::min(dataset.labels.size(), options.limit.value_or(dataset.labels.size()));
  if (count == 0) throw Error("there are no images to evaluate");

  ContextOptions context_options;
  context_options.device_index = options.device;
  Context context(context_options);
  // The Networks are gone before the validation check, so their teardown is checked too.
  const int status = [&] {
    Network network(context, model);

    std::vector<std::vector<size_t>> confusion(classes, std::vector<size_t>(classes, 0));
    size_t top1 = 0, top5 = 0, runs = 0;
    Clock::duration inference{};
    Progress progress(count);
    auto score = [&](const Tensor& output, size_t first, size_t in_batch) {
      for (size_t b = 0; b < in_batch; ++b) {
        const std::span<const float> scores(output.data.data() + b * classes, classes);
        const std::vector<io::Ranked> ranked = io::top_k(scores, 5);
        const size_t label = dataset.labels[first + b];
        top1 += ranked[0].index == label;
        for (const io::Ranked& r : ranked) top5 += r.index == label;
        ++confusion[label][ranked[0].index];
      }
      progress.update(first + in_batch, top1);
    };
    // Unless --blocking, batch k+1 is decoded, preprocessed and submitted while the GPU works on
    // batch k (the Network's two runs in flight), and batch k is scored after that.
    struct Pending {
      Ticket ticket;
      size_t first = 0, in_batch = 0;
      Clock::time_point submitted;
    };
    std::optional<Pending> pending;
    auto collect = [&](const Pending& p) {
      const Tensor output = std::move(network.wait(p.ticket).front());
      inference += Clock::now() - p.submitted;
      ++runs;
      score(output, p.first, p.in_batch);
    };
    std::vector<float> input(batch * layout.image_elements());
    const Clock::time_point start = Clock::now();
    for (size_t first = 0; first < count; first += batch) {
      const size_t in_batch = std::min(batch, count - first);
      std::fill(input.begin(), input.end(), 0.0f);
      for (size_t b = 0; b < in_batch; ++b)
        io::preprocess(dataset.image(first + b), layout,
                       std::span<float>(input).subspan(b * layout.image_elements(), layout.image_elements()));
      const Clock::time_point before = Clock::now();
      if (options.blocking) {
        const Tensor output = network.run(std::span<const float>(input));
        inference += Clock::now() - before;
        ++runs;
        score(output, first, in_batch);
        continue;
      }
      Pending next{network.submit(std::span<const float>(input)), first, in_batch, before};
      if (pending) collect(*pending);
      pending = next;
    }
    if (pending) collect(*pending);
    const double wall = seconds(Clock::now() - start);
    const double accuracy1 = static_cast<double>(top1) / count;
    const double accuracy5 = static_cast<double>(top5) / count;
    const double latency_ms = 1000.0 * seconds(inference) / runs;
    const double throughput = count / wall;
    const bool has_top5 = classes >= 5;

    if (options.json) {
      nlohmann::ordered_json report = {{"model", options.model},
                                       {"device", context.device().name},
                                       {"dataset", dataset.source},
                                       {"class_mapping", dataset.mapping},
                                       {"images", count},
                                       {"batch", batch},
                                       {"blocking", options.blocking},
                                       {"top1", accuracy1}};
      if (has_top5) report["top5"] = accuracy5;
      report["images_per_second"] = throughput;
      report["mean_latency_ms"] = latency_ms;
      report["seconds"] = wall;
      report["classes"] = dataset.class_names;
      report["confusion"] = confusion;
      report["confusion_axes"] = "rows: true class, columns: top-1 prediction";
      std::cout << report.dump(2) << '\n';
    } else {
      std::cout << "model       " << options.model << "\n"
                << "device      " << context.device().name << "\n"
                << "dataset     " << dataset.source << " (" << dataset.mapping << ")\n"
                << "images      " << count << " (batch " << batch << ")\n"
                << "top-1       " << fixed(100.0 * accuracy1, 2) << "% (" << top1 << "/" << count << ")\n";
      if (has_top5) std::cout << "top-5       " << fixed(100.0 * accuracy5, 2) << "% (" << top5 << "/" << count << ")\n";
      std::cout << "throughput  " << fixed(throughput, 1) << " images/s (decoding and preprocessing included)\n"
                << "latency     " << fixed(latency_ms, 3) << " ms mean per run"
                << (options.blocking ? " (blocking)" : ", submit to outputs (two in flight)") << "\n";
    }
    return 0;
  }();
  return cli::validated("vkbnn-eval", context, status);
}

}  // namespace
}  // namespace vkbnn::tools

int main(int argc, char** argv) {
  using vkbnn::io::ClassOrder;
  vkbnn::tools::Options options;
  CLI::App app{"Measure a .vkbnn classifier's accuracy and speed on an IDX dataset (e.g. Fashion-MNIST), an image "
               "folder with one subfolder per class, or a list of images and class indices."};
  app.add_option("model", options.model, "Model file (.vkbnn)")->required();
  auto* images = app.add_option("--images", options.images, "IDX image file (u8, magic 0x803), gzip or plain");
  auto* labels = app.add_option("--labels", options.labels, "IDX label file (u8, magic 0x801), gzip or plain");
  auto* folder = app.add_option("--folder", options.folder,
                                "Image folder, one subfolder of images per class (torchvision's ImageFolder layout)");
  auto* list = app.add_option("--list", options.list,
                              "List file: one 'path class-index' per line, paths relative to the file's folder");
  const std::map<std::string, ClassOrder> orders{
      {"auto", ClassOrder::Auto}, {"labels", ClassOrder::Labels}, {"sorted", ClassOrder::Sorted}};
  app.add_option("--class-order", options.class_order,
                 "How --folder's subfolders map to classes: by the model's labels, sorted by name (ImageFolder), or "
                 "auto (labels when any subfolder matches one)")
      ->transform(CLI::CheckedTransformer(orders, CLI::ignore_case))
      ->needs(folder);
  images->needs(labels)->excludes(folder)->excludes(list);
  labels->needs(images);
  folder->excludes(list);
  app.add_option("--limit", options.limit, "Evaluate only the first N images")->check(vkbnn::cli::positive_integer());
  app.add_option("--device", options.device, "Vulkan device index (see vkbnn-info); default: VKBNN_DEVICE or the best GPU");
  vkbnn::cli::add_input_size_option(app, options.input_size);
  app.add_option("--batch", options.batch,
                 "Images per run: builds the network for this batch (a model converted with --dynamic-batch); "
                 "default: the model's")
      ->check(CLI::Range(int64_t{1}, int64_t{65536}));
  app.add_flag("--blocking", options.blocking,
               "One run at a time (Network::run) instead of preparing the next batch while the GPU works");
  app.add_flag("--json", options.json, "Print one JSON object (with the confusion matrix) instead of text");
  if (const auto status = vkbnn::cli::parse_command_line(app, argc, argv)) return *status;
  if (options.images.empty() && options.folder.empty() && options.list.empty()) {
    std::cerr << "vkbnn-eval: error: give --images and --labels, --folder or --list\n";
    return 1;
  }
  return vkbnn::cli::guarded_main("vkbnn-eval", [&] { return vkbnn::tools::run(options); });
}
