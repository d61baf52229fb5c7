// vkbnn-studio: classify images, a folder or a camera live, and see where the time goes.
#include <CLI/CLI.hpp>

#include <filesystem>
#include <iostream>
#include <optional>

#include "app.hpp"
#include "vkbnn/cli.hpp"

namespace {

// Bundled assets: next to the working directory when run from the source tree, else where the
// build was configured from.
std::filesystem::path asset(const std::filesystem::path& relative) {
  if (std::filesystem::exists("assets" / relative)) return "assets" / relative;
  return std::filesystem::path(VKBNN_STUDIO_ASSETS) / relative;
}

}  // namespace

int main(int argc, char** argv) {
  vkbnn::studio::Options options;
  std::vector<std::string> models;
  std::string image, folder, screenshot;
  int camera = -1;
  CLI::App app{"vkbnn-studio: live classification with per-layer GPU timings"};
  app.add_option("models", models, "model files (.vkbnn); default: the bundled ones");
  auto* image_opt = app.add_option("--image", image, "an image file");
  auto* folder_opt = app.add_option("--folder", folder, "a folder of images, shown as a slideshow");
  auto* camera_opt = app.add_option("--camera", camera, "V4L2 camera N (/dev/videoN)");
  std::string image_camera;
  auto* image_camera_opt = app.add_option("--image-camera", image_camera,
                                          "a stand-in camera: the image as YUYV frames, through the GPU camera path");
  image_opt->excludes(folder_opt)->excludes(camera_opt)->excludes(image_camera_opt);
  folder_opt->excludes(camera_opt)->excludes(image_camera_opt);
  camera_opt->excludes(image_camera_opt);
  bool image_camera_mjpeg = false;
  app.add_flag("--image-camera-mjpeg", image_camera_mjpeg,
               "with --image-camera: deliver the image as MJPEG frames, decoded as a camera's are")
      ->needs(image_camera_opt);
  app.add_option("--frames", options.frames, "render N frames (after the first result) and exit")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--screenshot", screenshot, "with --frames: write the last frame as a PNG");
  app.add_flag("--print-results", options.print_results, "print the model, input and top results at exit");
  app.add_option("--save-input", options.save_input,
                 "at exit, write the input tensor the shown result was computed from (for a camera: as the GPU "
                 "preprocessed it) as .npy");
  app.add_flag("--validation", options.validation, "enable the Khronos validation layer; exit 2 on any message");
  app.add_option("--device", options.device, "Vulkan device name (substring)");
  app.add_option("--cycle-models", options.cycle_models,
                 "switch to the next model every N frames (once the current one has shown a result)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--layer", options.layer, "the layer whose activations are shown first");
  app.add_option("--channel", options.channel, "the activation channel enlarged first")->check(CLI::NonNegativeNumber);
  app.add_option("--size", options.width, "window width")->check(CLI::Range(320, 8192));
  if (const auto status = vkbnn::cli::parse_command_line(app, argc, argv)) return *status;
  if (!screenshot.empty() && options.frames == 0) {
    std::cerr << "vkbnn-studio: --screenshot needs --frames N\n";
    return 1;
  }
  options.screenshot = screenshot;
  options.height = options.width * 9 / 14;

  if (models.empty()) {
    for (const char* name : {"fmnist-cnn-fp32", "fmnist-cnn-int8", "fmnist-mbv2-int8", "fmnist-bnn", "fmnist-bnn-el"}) {
      auto path = asset(std::filesystem::path("models") / (std::string(name) + ".vkbnn"));
      if (std::filesystem::exists(path)) options.models.push_back(path);
    }
    if (options.models.empty()) {
      std::cerr << "vkbnn-studio: no model given and the bundled models were not found\n";
      return 1;
    }
  } else {
    for (auto& m : models) options.models.emplace_back(m);
  }
  if (camera >= 0) options.camera = camera;
  options.image = image;
  options.folder = folder;
  options.image_camera = image_camera;
  options.image_camera_mjpeg = image_camera_mjpeg;
  if (image.empty() && folder.empty() && camera < 0 && image_camera.empty()) options.folder = asset("images");

  try {
    for (;;) {
      std::optional<uint32_t> restart_on;
      const int status = vkbnn::studio::run_app(options, &restart_on);
      if (!restart_on) return status;
      options.device.clear();
      options.device_index = restart_on;
    }
  } catch (const std::exception& e) {
    std::cerr << "vkbnn-studio: " << e.what() << '\n';
    return 1;
  }
}
