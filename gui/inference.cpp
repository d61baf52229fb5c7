#include "inference.hpp"

#include <chrono>

namespace vkbnn::studio {

namespace {
using Clock = std::chrono::steady_clock;
double micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }
}  // namespace

struct InferenceWorker::Slot {
  std::filesystem::path path;
  std::unique_ptr<Model> model;
  std::unique_ptr<Network> network;
  std::unique_ptr<Network> tapped;  // tap_all, made when activations are first shown
  bool tapped_has_run = false;
  bool tapped_failed = false;
  io::InputLayout layout;
  bool failed = false;
};

InferenceWorker::InferenceWorker(Context& context, std::vector<std::filesystem::path> models) : context_(context) {
  for (auto& path : models) {
    auto slot = std::make_unique<Slot>();
    slot->path = path;
    slots_.push_back(std::move(slot));
    ModelSummary summary;
    summary.path = path;
    summary.name = path.stem().string();
    summaries_.push_back(std::move(summary));
  }
  thread_ = std::thread([this] { loop(); });
}

InferenceWorker::~InferenceWorker() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void InferenceWorker::set_input(std::shared_ptr<const io::Image> image, std::string origin, uint64_t generation) {
  {
    std::lock_guard lock(mutex_);
    image_ = std::move(image);
    tensor_.reset();
    origin_ = std::move(origin);
    generation_ = generation;
  }
  wake_.notify_all();
}

void InferenceWorker::set_input_tensor(std::shared_ptr<const std::vector<float>> tensor, io::InputLayout layout,
                                       std::string origin, uint64_t generation) {
  {
    std::lock_guard lock(mutex_);
    image_.reset();
    tensor_ = std::move(tensor);
    tensor_layout_ = std::move(layout);
    origin_ = std::move(origin);
    generation_ = generation;
  }
  wake_.notify_all();
}

void InferenceWorker::select_model(size_t index) {
  {
    std::lock_guard lock(mutex_);
    if (index < slots_.size()) selected_ = index;
  }
  wake_.notify_all();
}

size_t InferenceWorker::selected_model() const {
  std::lock_guard lock(mutex_);
  return selected_;
}

void InferenceWorker::set_live(bool live, double max_rate) {
  {
    std::lock_guard lock(mutex_);
    live_ = live;
    max_rate_ = max_rate;
  }
  wake_.notify_all();
}

void InferenceWorker::set_activations(bool on) {
  {
    std::lock_guard lock(mutex_);
    if (activations_ != on) force_run_ = true;
    activations_ = on;
  }
  wake_.notify_all();
}

const Network* InferenceWorker::tapped_network(size_t model) const {
  if (model >= slots_.size()) return nullptr;
  const Slot& slot = *slots_[model];
  return slot.tapped && slot.tapped_has_run ? slot.tapped.get() : nullptr;
}

std::vector<ModelSummary> InferenceWorker::models() const {
  std::lock_guard lock(mutex_);
  return summaries_;
}

std::optional<Result> InferenceWorker::latest() const {
  std::lock_guard lock(mutex_);
  return latest_;
}

std::string InferenceWorker::error() const {
  std::lock_guard lock(mutex_);
  return error_;
}

bool InferenceWorker::ensure_loaded(Slot& slot, size_t index) {
  if (slot.network) return true;
  if (slot.failed) return false;
  {
    std::lock_guard lock(mutex_);
    summaries_[index].state = ModelSummary::State::Loading;
  }
  try {
    slot.model = std::make_unique<Model>(Model::load(slot.path));
    slot.layout = io::input_layout(*slot.model);
    slot.network = std::make_unique<Network>(context_, *slot.model, NetworkOptions{.profiling = true});
    std::lock_guard lock(mutex_);
    auto& s = summaries_[index];
    s.state = ModelSummary::State::Ready;
    s.layers = slot.network->layers();
    s.memory = slot.network->memory();
    s.load = slot.network->load_report();
    s.weight_bytes = slot.model->weight_bytes();
    s.file_bytes = slot.model->file_bytes();
    s.classes = slot.model->outputs().empty() ? 0 : slot.model->outputs()[0].elements();
    s.description = slot.model->metadata().description;
    s.layout = slot.layout;
    return true;
  } catch (const std::exception& e) {
    slot.failed = true;
    slot.network.reset();
    std::lock_guard lock(mutex_);
    summaries_[index].state = ModelSummary::State::Failed;
    summaries_[index].error = e.what();
    error_ = slot.path.string() + ": " + e.what();
    return false;
  }
}

void InferenceWorker::loop() {
  uint64_t done_generation = 0;
  size_t done_model = SIZE_MAX;
  uint64_t sequence = 0;
  auto rate_window = Clock::now();
  int rate_runs = 0;
  for (;;) {
    std::shared_ptr<const io::Image> image;
    std::shared_ptr<const std::vector<float>> tensor;
    io::InputLayout tensor_layout;
    std::string origin;
    uint64_t generation = 0;
    size_t index = 0;
    bool live = true;
    bool activations = false;
    bool forced = false;
    double max_rate = 30;
    {
      std::unique_lock lock(mutex_);
      // Load every model in the background once the selected one is up.
      bool pending_load = false;
      for (auto& s : summaries_)
        if (s.state == ModelSummary::State::Waiting) pending_load = true;
      auto has_work = [&] {
        return stop_ ||
               ((image_ || tensor_) &&
                (live_ || force_run_ || generation_ != done_generation || selected_ != done_model)) ||
               pending_load;
      };
      wake_.wait(lock, has_work);
      if (stop_) return;
      image = image_;
      tensor = tensor_;
      tensor_layout = tensor_layout_;
      origin = origin_;
      generation = generation_;
      index = selected_;
      live = live_;
      activations = activations_;
      max_rate = max_rate_;
      forced = force_run_;
      force_run_ = false;
    }
    Slot& slot = *slots_[index];
    if (!ensure_loaded(slot, index)) {
      // Nothing to run with; load the others and wait for a change.
      for (size_t i = 0; i < slots_.size(); ++i) ensure_loaded(*slots_[i], i);
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || selected_ != index; });
      if (stop_) return;
      continue;
    }
    auto same_layout = [](const io::InputLayout& a, const io::InputLayout& b) {
      return a.channels == b.channels && a.height == b.height && a.width == b.width && a.order == b.order &&
             a.mean == b.mean && a.std == b.std;
    };
    if (tensor && !same_layout(tensor_layout, slot.layout)) {
      // Made for another model: wait for the next frame.
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || generation_ != generation || selected_ != index; });
      if (stop_) return;
      continue;
    }
    if ((!image && !tensor) || (!live && !forced && generation == done_generation && index == done_model)) {
      // Only here because a model waits to be loaded.
      for (size_t i = 0; i < slots_.size(); ++i)
        if (!slots_[i]->network && !slots_[i]->failed) {
          ensure_loaded(*slots_[i], i);
          break;
        }
      continue;
    }
    if (activations && !slot.tapped && !slot.tapped_failed) {
      try {
        auto tapped = std::make_unique<Network>(context_, *slot.model, NetworkOptions{.tap_all = true, .profiling = true});
        std::lock_guard lock(arena_mutex_);
        slot.tapped = std::move(tapped);
        slot.tapped_has_run = false;
      } catch (const std::exception& e) {
        slot.tapped_failed = true;
        std::lock_guard lock(mutex_);
        error_ = std::string("cannot keep the activations: ") + e.what();
      }
    }
    const bool use_tapped = activations && slot.tapped;
    Network& network = use_tapped ? *slot.tapped : *slot.network;
    auto t0 = Clock::now();
    try {
      auto input = tensor ? std::make_shared<std::vector<float>>(*tensor)
                          : std::make_shared<std::vector<float>>(io::preprocess(*image, slot.layout));
      auto t1 = Clock::now();
      Tensor out;
      if (use_tapped) {
        std::lock_guard lock(arena_mutex_);
        out = network.run(std::span<const float>(*input));
        slot.tapped_has_run = true;
      } else {
        out = network.run(std::span<const float>(*input));
      }
      auto probabilities = io::to_probabilities(out.data);
      Result r;
      r.model = index;
      r.input_generation = generation;
      r.origin = origin;
      r.top = io::top_k(probabilities, 5);
      for (const auto& t : r.top) r.labels.push_back(io::class_label(slot.model->metadata(), t.index));
      r.preprocessed = std::move(input);
      r.layout = slot.layout;
      r.profile = network.last_profile();
      r.tapped = use_tapped;
      r.preprocess_us = micros(t1 - t0);
      r.end_to_end_us = micros(Clock::now() - t0);
      r.sequence = ++sequence;
      std::lock_guard lock(mutex_);
      latest_ = std::move(r);
      error_.clear();
    } catch (const std::exception& e) {
      std::lock_guard lock(mutex_);
      error_ = e.what();
    }
    done_generation = generation;
    done_model = index;
    ++rate_runs;
    double window = std::chrono::duration<double>(Clock::now() - rate_window).count();
    if (window >= 1.0) {
      runs_per_second_ = rate_runs / window;
      rate_runs = 0;
      rate_window = Clock::now();
    }
    // The other models load in the background, one between two runs.
    for (size_t i = 0; i < slots_.size(); ++i)
      if (!slots_[i]->network && !slots_[i]->failed) {
        ensure_loaded(*slots_[i], i);
        break;
      }
    if (live && max_rate > 0) {
      auto next = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / max_rate));
      std::unique_lock lock(mutex_);
      wake_.wait_until(lock, next, [&] { return stop_ || generation_ != generation || selected_ != index; });
    }
  }
}

}  // namespace vkbnn::studio
