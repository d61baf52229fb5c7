// vkbnn-convert: ONNX model in, .vkbnn model out, with a summary of the converted graph.

#include <algorithm>
#include <fstream>
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>

#include "converter.hpp"
#include "idx.hpp"
#include "image_input.hpp"
#include "tool_main.hpp"

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

// Up to `count` calibration samples from a folder of images or an IDX image file, preprocessed
// as the model's metadata says.
std::vector<std::vector<float>> load_calibration(const std::filesystem::path& path, size_t count,
                                                 const vkbnn::Model& model) {
  const auto layout = vkbnn::tools::input_layout(model);
  std::vector<std::vector<float>> samples;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(path)) {
      std::string ext = entry.path().extension().string();
      std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
      static const std::vector<std::string> kImages{".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".ppm", ".tga", ".gif"};
      if (entry.is_regular_file() && std::find(kImages.begin(), kImages.end(), ext) != kImages.end())
        files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    if (files.empty()) throw vkbnn::Error("--calib: no images (png, jpg, bmp, ...) in " + path.string());
    files.resize(std::min(files.size(), count));
    for (const auto& file : files) samples.push_back(vkbnn::tools::preprocess(vkbnn::tools::load_image(file), layout));
  } else if (std::filesystem::is_regular_file(path, ec)) {
    const auto idx = vkbnn::tools::read_idx_images(path);
    for (size_t i = 0; i < std::min<size_t>(idx.count, count); ++i) {
      const auto pixels = idx.image(i);
      vkbnn::tools::Image image{static_cast<int>(idx.cols), static_cast<int>(idx.rows), 1,
                                std::vector<uint8_t>(pixels.begin(), pixels.end())};
      samples.push_back(vkbnn::tools::preprocess(image, layout));
    }
    if (samples.empty()) throw vkbnn::Error("--calib: " + path.string() + " holds no images");
  } else {
    throw vkbnn::Error("--calib: " + path.string() + ": no such file or folder");
  }
  return samples;
}

void print_progress(size_t done, size_t total) {
  constexpr size_t kWidth = 30;
  const size_t filled = done * kWidth / std::max<size_t>(total, 1);
  // Redrawn only when the bar grows, so that a log of it stays short.
  if (done != total && filled == (done - 1) * kWidth / std::max<size_t>(total, 1)) return;
  std::cerr << "\rcalibrating [" << std::string(filled, '#') << std::string(kWidth - filled, '.') << "] " << done
            << "/" << total << (done == total ? "\n" : "") << std::flush;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Convert an ONNX model to the vkbnn format"};
  std::string input, output, labels, mean, stdev, size, order, description;
  app.add_option("model", input, "ONNX model")->required();
  app.add_option("-o,--output", output, "output .vkbnn file")->required();
  app.add_option("--labels", labels, "class names, one per line");
  app.add_option("--mean", mean, "per-channel mean of the normalization, e.g. 0.485,0.456,0.406");
  app.add_option("--std", stdev, "per-channel std of the normalization, e.g. 0.229,0.224,0.225");
  app.add_option("--input-size", size, "input height and width, HxW");
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

  return vkbnn::tools::guarded_main("vkbnn-convert", [&] {
    vkbnn::convert::Options options;
    if (!labels.empty()) options.labels = read_labels(labels);
    if (!mean.empty()) options.mean = parse_floats(mean, "--mean");
    if (!stdev.empty()) options.std = parse_floats(stdev, "--std");
    if (!size.empty()) {
      int64_t h = 0, w = 0;
      char x = 0, rest = 0;
      std::istringstream in(size);
      if (!(in >> h >> x >> w) || (x != 'x' && x != 'X') || in >> rest || h <= 0 || w <= 0)
        throw vkbnn::Error("--input-size: expected HxW, e.g. 224x224, got '" + size + "'");
      options.input_size = {h, w};
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
      q.calibration = [&](const vkbnn::Model& fp32) { return load_calibration(calib, calib_count, fp32); };
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
