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
  // A run of an untapped network submitted but not collected yet: it is collected once the next
  // run is queued behind it (so that preprocessing and upload of frame k+1 overlap the GPU work
  // of frame k), or before the loop would block, switch to the tapped network or load a model.
  struct Pending {
    Network* network = nullptr;
    Ticket ticket;
    Result result;  // all but what the outputs and the profile give
    Clock::time_point start;
    bool overlapped = false;  // the next run was submitted before this one was collected
  };
  std::optional<Pending> pending;
  auto collect = [&] {
    if (!pending) return;
    Pending p = std::move(*pending);
    pending.reset();
    try {
      auto out = p.network->wait(p.ticket);
      const Slot& slot = *slots_[p.result.model];
      auto probabilities = io::to_probabilities(out.at(0).data);
      p.result.top = io::top_k(probabilities, 5);
      for (const auto& t : p.result.top) p.result.labels.push_back(io::class_label(slot.model->metadata(), t.index));
      p.result.profile = p.network->last_profile();
      p.result.end_to_end_us = micros(Clock::now() - p.start);
      if (p.overlapped) ++overlapped_runs_;
      std::lock_guard lock(mutex_);
      latest_ = std::move(p.result);
      error_.clear();
    } catch (const std::exception& e) {
      std::lock_guard lock(mutex_);
      error_ = e.what();
    }
  };
  // Loads the first model not loaded yet (one between two runs); true if there was one.
  auto load_next = [&] {
    for (size_t i = 0; i < slots_.size(); ++i)
      if (!slots_[i]->network && !slots_[i]->failed) {
        collect();
        ensure_loaded(*slots_[i], i);
        return true;
      }
    return false;
  };
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
      if (!has_work()) {
        lock.unlock();
        collect();
        lock.lock();
      }
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
    if (!slot.network) collect();
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
      collect();
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || generation_ != generation || selected_ != index; });
      if (stop_) return;
      continue;
    }
    if ((!image && !tensor) || (!live && !forced && generation == done_generation && index == done_model)) {
      // Only here because a model waits to be loaded.
      load_next();
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
    // The tapped network's arena is what the activation view draws: its runs stay blocking, so
    // that no run in flight overwrites the activations being drawn.
    const bool use_tapped = activations && slot.tapped;
    Network& network = use_tapped ? *slot.tapped : *slot.network;
    if (use_tapped) collect();
    const auto t0 = Clock::now();
    try {
      auto input = tensor ? std::make_shared<std::vector<float>>(*tensor)
                          : std::make_shared<std::vector<float>>(io::preprocess(*image, slot.layout));
      Pending next{.network = &network, .start = t0};
      Result& r = next.result;
      r.preprocess_us = micros(Clock::now() - t0);
      r.model = index;
      r.input_generation = generation;
      r.origin = origin;
      r.layout = slot.layout;
      r.tapped = use_tapped;
      r.sequence = ++sequence;
      const std::span<const float> in(*input);
      r.preprocessed = std::move(input);
      if (use_tapped) {
        // Collected under the arena lock, so the view never draws a run half done.
        std::lock_guard lock(arena_mutex_);
        next.ticket = network.submit(in);
        slot.tapped_has_run = true;
        pending = std::move(next);
        collect();
      } else {
        next.ticket = network.submit(in);
        if (pending) pending->overlapped = true;
        collect();
        pending = std::move(next);
      }
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
    load_next();
    if (live && max_rate > 0) {
      auto next_run = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / max_rate));
      if (Clock::now() < next_run) collect();
      std::unique_lock lock(mutex_);
      wake_.wait_until(lock, next_run, [&] { return stop_ || generation_ != generation || selected_ != index; });
    }
  }
}

}  // namespace vkbnn::studio
