// vkbnn-convert: ONNX model in, .vkbnn model out, with a summary of the converted graph.

#include <algorithm>
#include <fstream>
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>

#include "converter.hpp"
#include "vkbnn/cli.hpp"
#include "vkbnn/io/datasets.hpp"

namespace {

std::vector<float> parse_floats(const std::string& text, const char* option) {
  std::vector<float> values;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    try {
      size_t used = 0;
      values.push_back(std::stof(item, &used));
      if (used != item.size()) throw std::invalid_argument(item);
    } catch (const std::exception&) {
      throw vkbnn::Error(std::string(option) + ": '" + item + "' is not a number");
    }
  }
  return values;
}

std::vector<std::string> read_labels(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw vkbnn::Error(path + ": cannot open the labels file");
  std::vector<std::string> labels;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    labels.push_back(line);
  }
  while (!labels.empty() && labels.back().empty()) labels.pop_back();
  return labels;
}

// "name:1x3x224x224"; the last ':' separates, so input names may contain ':'.
std::pair<std::string, std::vector<int64_t>> parse_input_shape(const std::string& text) {
  const auto colon = text.rfind(':');
  const auto bad = [&]() {
    return vkbnn::Error("--input-shape: expected NAME:DxDx..., e.g. image:1x3x224x224, got '" + text + "'");
  };
  if (colon == std::string::npos || colon == 0) throw bad();
  std::vector<int64_t> dims;
  std::stringstream in(text.substr(colon + 1));
  for (std::string item; std::getline(in, item, 'x');) {
    try {
      size_t used = 0;
      dims.push_back(std::stoll(item, &used));
      if (used != item.size() || dims.back() < 1) throw std::invalid_argument(item);
    } catch (const std::exception&) {
      throw bad();
    }
  }
  if (dims.empty() || text.back() == 'x') throw bad();
  return {text.substr(0, colon), dims};
}

void print_progress(size_t done, size_t total) {
  constexpr size_t kWidth = 30;
  const size_t filled = done * kWidth / std::max<size_t>(total, 1);
  // Redrawn only when the bar grows, so that a log of it stays short.
  if (done != total && filled == (done - 1) * kWidth / std::max<size_t>(total, 1)) return;
  std::cerr << "\rcalibrating [" << std::string(filled, '#') << std::string(kWidth - filled, '.') << "] " << done
            << "/" << total << (done == total ? "\n" : "") << std::flush;
}

// The README's table of supported ops, as Markdown.
void print_supported_ops() {
  auto join = [](const std::vector<std::string>& names) {
    std::string text;
    for (const auto& n : names) text += (text.empty() ? "" : ", ") + n;
    return text;
  };
  std::cout << "| ONNX ops | supported |\n|---|---|\n";
  for (const auto& group : vkbnn::convert::supported_ops())
    std::cout << "| " << join(group.onnx_ops) << " | " << group.notes << " |\n";
  std::cout << "\nEvaluated at conversion time when all their inputs are constants: "
            << join(vkbnn::convert::folded_only_ops()) << ".\n";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Convert an ONNX model to the vkbnn format"};
  app.add_flag_callback(
      "--list-ops",
      [] {
        print_supported_ops();
        throw CLI::Success();
      },
      "print the supported ONNX ops as a Markdown table and exit");
  std::string input, output, labels, mean, stdev, size, order, description;
  app.add_option("model", input, "ONNX model")->required();
  app.add_option("-o,--output", output, "output .vkbnn file")->required();
  app.add_option("--labels", labels, "class names, one per line");
  app.add_option("--mean", mean, "per-channel mean of the normalization, e.g. 0.485,0.456,0.406");
  app.add_option("--std", stdev, "per-channel std of the normalization, e.g. 0.229,0.224,0.225");
  app.add_option("--input-size", size, "input height and width, HxW (of several inputs, the dynamic ones)");
  int64_t batch = 1;
  app.add_option("--batch", batch, "batch size where the model leaves it dynamic (default 1)")
      ->check(CLI::Range(int64_t{1}, int64_t{65536}));
  bool dynamic_batch = false;
  app.add_flag("--dynamic-batch", dynamic_batch,
               "let the batch be chosen when the model is used (NetworkOptions::batch, vkbnn-eval --batch): the first "
               "dimension of every input is the batch, --batch the one the file's shapes are for");
  bool dynamic_size = false;
  app.add_flag("--dynamic-size", dynamic_size,
               "let the input size (the axes after N and C) be chosen when the model is used (NetworkOptions::"
               "input_sizes, --input-size of vkbnn-run, vkbnn-bench and vkbnn-eval); the file's shapes are for "
               "--input-size or the declared size, and a model whose computation pins the size is refused");
  std::vector<std::string> input_shapes;
  app.add_option("--input-shape", input_shapes, "the whole shape of one input, NAME:1x3x224x224 (repeatable)")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--channel-order", order, "channel order of the input")
      ->check(CLI::IsMember({"rgb", "bgr", "gray"}));
  app.add_option("--description", description, "free text stored in the model");
  std::string quantize, calib, method = "auto", keep;
  size_t calib_count = 500;
  app.add_option("--quantize", quantize, "post-training quantization of the weights and activations")
      ->check(CLI::IsMember({"int8"}));
  app.add_option("--calib", calib, "calibration data: a folder of images or an IDX image file");
  app.add_option("--calib-count", calib_count, "calibration images to use (default 500, or all there are)")
      ->check(CLI::PositiveNumber);
  app.add_option("--calib-method", method, "how each activation's range is chosen")
      ->check(CLI::IsMember({"minmax", "percentile", "entropy", "mse", "auto"}));
  app.add_option("--keep-fp32", keep, "comma-separated node names to leave in fp32");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help exits 0; every usage error exits 1 like the other failures.
    return app.exit(e) == 0 ? 0 : 1;
  }

  return vkbnn::cli::guarded_main("vkbnn-convert", [&] {
    vkbnn::convert::Options options;
    if (!labels.empty()) options.labels = read_labels(labels);
    if (!mean.empty()) options.mean = parse_floats(mean, "--mean");
    if (!stdev.empty()) options.std = parse_floats(stdev, "--std");
    if (!size.empty()) options.input_size = vkbnn::cli::parse_input_size(size);
    options.batch = batch;
    options.dynamic_batch = dynamic_batch;
    options.dynamic_size = dynamic_size;
    for (const auto& text : input_shapes) {
      auto [name, dims] = parse_input_shape(text);
      if (!options.input_shapes.emplace(name, dims).second)
        throw vkbnn::Error("--input-shape: '" + name + "' is given twice");
    }
    if (order == "rgb") options.channel_order = vkbnn::ChannelOrder::RGB;
    if (order == "bgr") options.channel_order = vkbnn::ChannelOrder::BGR;
    if (order == "gray") options.channel_order = vkbnn::ChannelOrder::Gray;
    options.description = description;

    if (quantize.empty() && (!calib.empty() || !keep.empty()))
      throw vkbnn::Error("--calib and --keep-fp32 apply only with --quantize int8");
    if (!quantize.empty()) {
      if (calib.empty()) throw vkbnn::Error("--quantize int8 needs calibration data: --calib FOLDER|IDX_FILE");
      vkbnn::convert::QuantizeOptions q;
      q.calibration = [&](const vkbnn::Model& fp32) { return vkbnn::io::calibration_samples(calib, calib_count, fp32); };
      using Method = vkbnn::convert::CalibrationMethod;
      const std::map<std::string, Method> methods{{"minmax", Method::MinMax}, {"percentile", Method::Percentile},
                                                  {"entropy", Method::Entropy}, {"mse", Method::Mse},
                                                  {"auto", Method::Auto}};
      q.method = methods.at(method);
      std::stringstream names(keep);
      for (std::string name; std::getline(names, name, ',');)
        if (!name.empty()) q.keep_fp32.push_back(name);
      q.progress = print_progress;
      options.quantize = std::move(q);
    }

    auto result = vkbnn::convert::convert_model(vkbnn::convert::load_onnx(input), options);
    std::ofstream out(output, std::ios::binary);
    out.write(reinterpret_cast<const char*>(result.bytes.data()), static_cast<std::streamsize>(result.bytes.size()));
    out.close();
    if (!out) throw vkbnn::Error(output + ": cannot write the model file");
    std::cout << vkbnn::convert::format_summary(result.summary) << "wrote " << output << "\n";
    return 0;
  });
}
