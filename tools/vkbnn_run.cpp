// vkbnn-run: classifies images with a .vkbnn model, or runs it on raw .npy tensors.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "profile_table.hpp"
#include "vkbnn/cli.hpp"
#include "vkbnn/io/classify.hpp"
#include "vkbnn/io/image_input.hpp"
#include "vkbnn/io/npy.hpp"
#include "vkbnn/vkbnn.hpp"

namespace vkbnn::tools {
namespace {

struct Options {
  std::string model;
  std::string input_size;  // --input-size HxW, empty: the model's
  std::vector<std::string> images;
  size_t top = 5;
  bool json = false;
  std::optional<uint32_t> device;
  bool profile = false;
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
};

const char* kProfileNote = "steady state: one warm-up run preceded the profiled run";

std::string percent(double p) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%6.2f%%", 100.0 * p);
  return buffer;
}

// The profile is taken from the run after a warm-up, so first-use costs (pipeline compilation in
// the driver, page faults in staging memory) stay out of the table.
void warm_up(Network& network, const std::vector<std::span<const float>>& inputs) {
  network.set_profiling(true);
  network.run(inputs);
}

void print_profile(const Profile& profile) {
  std::cout << "\nprofile (" << kProfileNote << "):\n" << format_profile(profile);
}

int classify_images(const Options& options, const Model& model, Context& context) {
  const io::InputLayout layout = io::input_layout(model);
  if (model.outputs().size() != 1)
    throw Error("the model has " + std::to_string(model.outputs().size()) +
                " outputs; classifying images needs one (use --input/--output for raw tensors)");

  // Decode everything first, so a bad file is reported before any work is done.
  std::vector<std::vector<float>> prepared;
  for (const std::string& path : options.images) prepared.push_back(io::preprocess(io::load_image(path), layout));

  Network network(context, model);
  const size_t batch = static_cast<size_t>(layout.batch);
  const size_t per_image = model.outputs()[0].elements() / batch;
  std::vector<float> input(batch * layout.image_elements());
  auto fill = [&](size_t first) {
    std::fill(input.begin(), input.end(), 0.0f);
    for (size_t b = 0; b < batch && first + b < prepared.size(); ++b)
      std::copy(prepared[first + b].begin(), prepared[first + b].end(),
                input.begin() + static_cast<std::ptrdiff_t>(b * layout.image_elements()));
  };

  std::optional<Profile> profile;
  if (options.profile) {
    fill(0);
    warm_up(network, {input});
  }

  nlohmann::ordered_json results = nlohmann::ordered_json::array();
  for (size_t first = 0; first < prepared.size(); first += batch) {
    fill(first);
    const Tensor output = network.run(std::span<const float>(input));
    if (options.profile && !profile) profile = network.last_profile();
    for (size_t b = 0; b < batch && first + b < prepared.size(); ++b) {
      const std::span<const float> raw(output.data.data() + b * per_image, per_image);
      const std::vector<float> probabilities = io::to_probabilities(raw);
      const std::vector<io::Ranked> ranked = io::top_k(probabilities, options.top);
      const std::string& name = options.images[first + b];
      if (options.json) {
        nlohmann::ordered_json top = nlohmann::ordered_json::array();
        for (const io::Ranked& r : ranked)
          top.push_back({{"index", r.index},
                         {"label", io::class_label(model.metadata(), r.index)},
                         {"probability", r.probability}});
        results.push_back({{"image", name},
                           {"top", top},
                           {"output", std::vector<float>(raw.begin(), raw.end())},
                           {"probabilities", probabilities}});
      } else {
        std::cout << name << '\n';
        for (size_t i = 0; i < ranked.size(); ++i) {
          std::cout << "  " << i + 1 << ". " << percent(ranked[i].probability) << "  ";
          if (ranked[i].index < model.metadata().labels.size())
            std::cout << model.metadata().labels[ranked[i].index] << " (" << ranked[i].index << ")\n";
          else
            std::cout << "class " << ranked[i].index << "\n";
        }
      }
    }
  }

  if (options.json) {
    nlohmann::ordered_json report = {{"model", options.model}, {"device", context.device().name}, {"images", results}};
    if (profile) {
      report["profile"] = profile_json(*profile);
      report["profile"]["note"] = kProfileNote;
    }
    std::cout << report.dump(2) << '\n';
  } else if (profile) {
    print_profile(*profile);
  }
  return 0;
}

int run_raw(const Options& options, const Model& model, Context& context) {
  if (options.inputs.size() != model.inputs().size())
    throw Error("the model has " + std::to_string(model.inputs().size()) + " inputs but " +
                std::to_string(options.inputs.size()) + " --input files were given");
  if (options.outputs.size() != model.outputs().size())
    throw Error("the model has " + std::to_string(model.outputs().size()) + " outputs but " +
                std::to_string(options.outputs.size()) + " --output files were given");

  std::vector<io::NpyArray> arrays;
  for (size_t i = 0; i < options.inputs.size(); ++i) {
    arrays.push_back(io::read_npy(options.inputs[i]));
    const TensorDesc& desc = model.inputs()[i];
    // Any shape with the right element count is accepted: C order makes e.g. [1,784] and
    // [1,1,28,28] the same bytes.
    if (arrays.back().data.size() != desc.elements())
      throw Error("'" + options.inputs[i] + "' has shape " + shape_string(arrays.back().shape) + " but the input '" +
                  desc.name + "' is " + shape_string(desc.shape));
  }
  std::vector<std::span<const float>> inputs;
  for (const io::NpyArray& array : arrays) inputs.emplace_back(array.data);

  Network network(context, model);
  if (options.profile) warm_up(network, inputs);
  const std::vector<Tensor> outputs = network.run(inputs);
  for (size_t i = 0; i < outputs.size(); ++i)
    io::write_output_npy(options.outputs[i], outputs[i].shape, outputs[i].data, model.outputs()[i]);

  if (options.json) {
    nlohmann::ordered_json written = nlohmann::ordered_json::array();
    for (size_t i = 0; i < outputs.size(); ++i)
      written.push_back({{"name", model.outputs()[i].name}, {"path", options.outputs[i]}, {"shape", outputs[i].shape}});
    nlohmann::ordered_json report = {{"model", options.model}, {"device", context.device().name}, {"outputs", written}};
    if (options.profile) {
      report["profile"] = profile_json(network.last_profile());
      report["profile"]["note"] = kProfileNote;
    }
    std::cout << report.dump(2) << '\n';
  } else {
    for (size_t i = 0; i < outputs.size(); ++i)
      std::cout << "wrote " << options.outputs[i] << " (" << model.outputs()[i].name << ", "
                << shape_string(outputs[i].shape) << ")\n";
    if (options.profile) print_profile(network.last_profile());
  }
  return 0;
}

int run(const Options& options) {
  const Model model = vkbnn::cli::at_input_size(Model::load(options.model), options.input_size);
  ContextOptions context_options;
  context_options.device_index = options.device;
  Context context(context_options);
  return cli::validated("vkbnn-run", context,
                   options.inputs.empty() ? classify_images(options, model, context) : run_raw(options, model, context));
}

}  // namespace
}  // namespace vkbnn::tools

int main(int argc, char** argv) {
  vkbnn::tools::Options options;
  CLI::App app{"Run a .vkbnn model: classify images, or map .npy input tensors to .npy outputs."};
  app.add_option("model", options.model, "Model file (.vkbnn)")->required();
  auto* images = app.add_option("images", options.images, "Images to classify (PNG, JPEG, BMP, ...)");
  app.add_option("-k,--top", options.top, "How many classes to list per image")
      ->capture_default_str()
      ->check(vkbnn::cli::positive_integer());
  app.add_flag("--json", options.json, "Print one JSON object instead of text");
  app.add_option("--device", options.device, "Vulkan device index (see vkbnn-info); default: VKBNN_DEVICE or the best GPU");
  vkbnn::cli::add_input_size_option(app, options.input_size);
  app.add_flag("--profile", options.profile, "Print per-layer GPU times after a warm-up run");
  auto* inputs = app.add_option("--input", options.inputs, "Raw mode: .npy float32 input; one --input per model input, in order");
  auto* outputs = app.add_option("--output", options.outputs, "Raw mode: .npy file to write; one --output per model output, in order");
  // One file per flag, so that a file name never swallows the positional arguments after it.
  inputs->allow_extra_args(false)->needs(outputs)->excludes(images);
  outputs->allow_extra_args(false);
  outputs->needs(inputs);
  app.callback([&] {
    if (options.images.empty() && options.inputs.empty()) throw CLI::RequiredError("IMAGE... or --input/--output");
  });
  if (const auto status = vkbnn::cli::parse_command_line(app, argc, argv)) return *status;
  return vkbnn::cli::guarded_main("vkbnn-run", [&] { return vkbnn::tools::run(options); });
}
