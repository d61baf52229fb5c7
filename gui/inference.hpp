#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "vkbnn/io/classify.hpp"
#include "vkbnn/io/image_input.hpp"
#include "vkbnn/vkbnn.hpp"

namespace vkbnn::studio {

// What the panels show about a model once the worker has loaded it.
struct ModelSummary {
  std::filesystem::path path;
  std::string name;  // file stem
  enum class State { Waiting, Loading, Ready, Failed } state = State::Waiting;
  std::string error;
  std::vector<LayerInfo> layers;
  MemoryReport memory;
  LoadReport load;
  uint64_t weight_bytes = 0;
  uint64_t file_bytes = 0;
  size_t classes = 0;
  std::string description;
  io::InputLayout layout;
};

// One classification, as the worker publishes it.
struct Result {
  size_t model = 0;
  uint64_t input_generation = 0;
  std::string origin;
  std::vector<io::Ranked> top;  // top 5
  std::vector<std::string> labels;  // one per entry of top
  std::shared_ptr<const std::vector<float>> preprocessed;  // CHW, normalised
  io::InputLayout layout;
  Profile profile;
  double preprocess_us = 0;
  double end_to_end_us = 0;  // preprocessing + run() + ranking
  uint64_t sequence = 0;     // counts every run
  bool tapped = false;       // ran on the network that keeps every activation
};

// Runs the models on a thread of its own so that the window never waits for the GPU. It loads
// every model (the selected one first) and then classifies the newest input with the selected
// model, again and again (live: at most max_rate runs a second) or once per new input.
class InferenceWorker {
 public:
  InferenceWorker(Context& context, std::vector<std::filesystem::path> models);
  ~InferenceWorker();
  InferenceWorker(const InferenceWorker&) = delete;
  InferenceWorker& operator=(const InferenceWorker&) = delete;

  void set_input(std::shared_ptr<const io::Image> image, std::string origin, uint64_t generation);
  // An input already preprocessed (on the GPU) for a model with this layout; models with
  // another layout wait for the next one.
  void set_input_tensor(std::shared_ptr<const std::vector<float>> tensor, io::InputLayout layout,
                        std::string origin, uint64_t generation);
  void select_model(size_t index);
  size_t selected_model() const;
  void set_live(bool live, double max_rate);
  // With activations on, the selected model runs as a second Network that keeps every
  // activation (NetworkOptions::tap_all), so that they can be drawn; the first Network's memory
  // plan stays the one the model panel reports.
  void set_activations(bool on);

  // Calls f(DeviceTensor) for a layer of the model's tapped network while no run can overwrite
  // the arena; false when that network has not run yet.
  template <typename F>
  bool with_device_tensor(size_t model, const std::string& layer, F&& f) {
    std::lock_guard lock(arena_mutex_);
    const Network* network = tapped_network(model);
    if (!network) return false;
    f(network->device_tensor(layer));
    return true;
  }

  std::vector<ModelSummary> models() const;
  // The newest result (nullopt until the first one), and the last error (model load or run).
  std::optional<Result> latest() const;
  std::string error() const;
  double runs_per_second() const { return runs_per_second_.load(); }

 private:
  struct Slot;
  void loop();
  bool ensure_loaded(Slot& slot, size_t index);
  const Network* tapped_network(size_t model) const;  // arena_mutex_ held

  Context& context_;
  std::vector<std::unique_ptr<Slot>> slots_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::shared_ptr<const io::Image> image_;
  std::shared_ptr<const std::vector<float>> tensor_;
  io::InputLayout tensor_layout_;
  std::string origin_;
  uint64_t generation_ = 0;
  size_t selected_ = 0;
  bool live_ = true;
  bool activations_ = false;
  bool force_run_ = false;  // run again although nothing changed (activations switched on)
  std::mutex arena_mutex_;  // held while a tapped network runs
  double max_rate_ = 30;
  bool stop_ = false;
  std::vector<ModelSummary> summaries_;
  std::optional<Result> latest_;
  std::string error_;
  std::atomic<double> runs_per_second_{0};
  std::thread thread_;
};

}  // namespace vkbnn::studio
