#pragma once

#include <chrono>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "inference.hpp"
#include "sources.hpp"

struct GLFWwindow;

namespace vkbnn::studio {

struct Options {
  std::vector<std::filesystem::path> models;
  std::filesystem::path image;
  std::filesystem::path folder;
  std::optional<int> camera;
  std::filesystem::path image_camera;  // stand-in camera replaying an image as YUYV
  bool image_camera_mjpeg = false;     // ... or as MJPEG frames
  int frames = 0;  // 0: run until the window closes
  int cycle_models = 0;  // > 0: switch to the next model every that many frames
  std::filesystem::path screenshot;
  std::filesystem::path save_input;  // .npy of the shown result's preprocessed input, at exit
  bool print_results = false;
  bool validation = false;
  std::string device;                   // a device name (substring), from --device
  std::optional<uint32_t> device_index;  // set when the window's device picker chose one
  bool activations = true;  // the activation view, at start
  float max_rate = 30;      // live runs a second at most, at start; 0: no limit
  std::string layer;  // activation layer shown first
  int channel = 0;    // channel enlarged first
  int width = 1400;
  int height = 900;
};

// Per-layer GPU times averaged over the latest runs of one model.
struct RollingProfile {
  static constexpr size_t kRuns = 30;
  std::deque<Profile> runs;
  void add(const Profile& p);
  void clear() { runs.clear(); }
  // Averages, layer by layer (by position) and for the Profile totals.
  Profile average() const;
};

// What the panels read and change. The main loop owns it.
class TextureSystem;
class ActivationView;

struct AppState {
  Options options;
  Context* context = nullptr;
  InferenceWorker* worker = nullptr;
  InputSource source;
  std::vector<ModelSummary> models;  // refreshed every frame from the worker
  size_t selected_model = 0;
  std::optional<Result> result;
  uint64_t shown_sequence = 0;
  std::map<size_t, RollingProfile> profiles;  // per model
  std::string path_field;
  std::string folder_field;
  std::vector<CameraDevice> cameras;
  // The formats and sizes of the camera last picked in the Input panel, and why not, if not.
  int camera_formats_of = -1;
  std::vector<CameraFormat> camera_formats;
  std::string camera_formats_error;
  std::vector<DeviceInfo> devices;        // every Vulkan device, for the picker
  std::optional<uint32_t> switch_device;  // picked in the window: the app restarts on it
  bool live = true;
  float max_rate = 30;
  double frame_ms = 0;  // smoothed
  double fps = 0;
  TextureSystem* textures = nullptr;
  // Activations: the layer shown (index into the model's layers; -1 picks the first conv-like
  // layer), the channel enlarged, and when the heatmaps were last drawn.
  ActivationView* activations = nullptr;
  double camera_convert_us = 0;  // GPU conversion of the latest camera frame, submit to result
  std::string camera_error;
  bool show_activations = true;
  int activation_layer = -1;
  std::string activation_layer_name;
  int enlarged_channel = 0;
  std::string activation_error;
  uint64_t activation_sequence = 0;
  std::string activation_drawn_layer;
};

// Opens the window, runs the loop until it closes (or options.frames have been shown) and
// returns the process exit status. When the user picks another Vulkan device, the loop ends with
// *restart_on set to it: the caller runs the app again there, since the window, the renderer
// and every network live on the one device.
int run_app(const Options& options, std::optional<uint32_t>* restart_on);

}  // namespace vkbnn::studio
