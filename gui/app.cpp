#include "app.hpp"

#define GLFW_INCLUDE_VULKAN
#include <GLFW/glfw3.h>
#include <imgui.h>
#include <imgui_impl_glfw.h>
#include <imgui_impl_vulkan.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <set>
#include <thread>

#include "activations.hpp"
#include "gpu_preprocess.hpp"
#include "panels.hpp"
#include "renderer.hpp"
#include "vkbnn/error.hpp"
#include "vkbnn/io/npy.hpp"

namespace vkbnn::studio {

void RollingProfile::add(const Profile& p) {
  if (!runs.empty() && runs.back().layers.size() != p.layers.size()) runs.clear();
  runs.push_back(p);
  while (runs.size() > kRuns) runs.pop_front();
}

Profile RollingProfile::average() const {
  Profile avg;
  if (runs.empty()) return avg;
  avg.layers = runs.back().layers;
  for (auto& l : avg.layers) l.gpu_us = 0;
  const double n = static_cast<double>(runs.size());
  for (const auto& p : runs) {
    for (size_t k = 0; k < avg.layers.size() && k < p.layers.size(); ++k) avg.layers[k].gpu_us += p.layers[k].gpu_us / n;
    avg.upload_us += p.upload_us / n;
    avg.submit_us += p.submit_us / n;
    avg.wait_us += p.wait_us / n;
    avg.readback_us += p.readback_us / n;
    avg.total_us += p.total_us / n;
    avg.gpu_us += p.gpu_us / n;
    avg.gpu_upload_us += p.gpu_upload_us / n;
    avg.gpu_readback_us += p.gpu_readback_us / n;
  }
  return avg;
}

namespace {

std::vector<std::filesystem::path> g_dropped;

void on_drop(GLFWwindow*, int count, const char** paths) {
  for (int i = 0; i < count; ++i) g_dropped.emplace_back(paths[i]);
}

void on_glfw_error(int code, const char* message) { std::cerr << "vkbnn-studio: GLFW error " << code << ": " << message << '\n'; }

struct GlfwSession {
  GlfwSession() {
    glfwSetErrorCallback(on_glfw_error);
    if (!glfwInit()) throw Error("cannot initialise GLFW (no display? run under xvfb-run for a virtual one)");
  }
  ~GlfwSession() { glfwTerminate(); }
};

struct Window {
  GLFWwindow* handle = nullptr;
  Window(int w, int h) {
    glfwWindowHint(GLFW_CLIENT_API, GLFW_NO_API);
    handle = glfwCreateWindow(w, h, "vkbnn studio", nullptr, nullptr);
    if (!handle) throw Error("cannot create the window");
  }
  ~Window() { glfwDestroyWindow(handle); }
};

struct ImGuiSession {
  ImGuiSession() {
    IMGUI_CHECKVERSION();
    ImGui::CreateContext();
    ImGui::GetIO().IniFilename = nullptr;  // the layout is fixed; nothing written next to the binary
    ImGui::StyleColorsDark();
  }
  ~ImGuiSession() { ImGui::DestroyContext(); }
};

// Redraws the activation heatmaps from the latest tapped run (at most 15 times a second).
void update_activations(AppState& state, InferenceWorker& worker, Renderer& renderer,
                        std::chrono::steady_clock::time_point& last) {
  if (!state.show_activations || !state.result || !state.result->tapped ||
      state.result->model != state.selected_model || state.selected_model >= state.models.size())
    return;
  const ModelSummary& model = state.models[state.selected_model];
  if (model.layers.empty()) return;
  if (state.activation_layer < 0 && !state.options.layer.empty())
    for (size_t i = 0; i < model.layers.size(); ++i)
      if (model.layers[i].name == state.options.layer) state.activation_layer = static_cast<int>(i);
  if (state.activation_layer < 0 || state.activation_layer >= static_cast<int>(model.layers.size())) {
    // The first layer with a spatial output.
    state.activation_layer = 0;
    for (size_t i = 0; i < model.layers.size(); ++i)
      if (model.layers[i].output_shape.size() == 4) {
        state.activation_layer = static_cast<int>(i);
        break;
      }
  }
  state.activation_layer_name = model.layers[state.activation_layer].name;
  auto now = std::chrono::steady_clock::now();
  bool changed = state.activation_drawn_layer != state.activation_layer_name;
  if (!changed && (state.result->sequence == state.activation_sequence || now - last < std::chrono::milliseconds(66)))
    return;
  try {
    bool drawn = worker.with_device_tensor(state.selected_model, state.activation_layer_name, [&](const DeviceTensor& t) {
      state.activations->update(t, [&] { renderer.wait_frames(); });
    });
    if (drawn) {
      state.activation_sequence = state.result->sequence;
      state.activation_drawn_layer = state.activation_layer_name;
      state.activation_error.clear();
      last = now;
    }
  } catch (const std::exception& e) {
    state.activation_error = e.what();
    state.activation_drawn_layer = state.activation_layer_name;  // do not retry every frame
    state.activation_sequence = state.result->sequence;
  }
}

}  // namespace

int run_app(const Options& options, std::optional<uint32_t>* restart_on) {
  GlfwSession glfw;
  if (!glfwVulkanSupported()) throw Error("GLFW finds no Vulkan loader");
  ContextOptions context_options;
  context_options.validation = options.validation;
  context_options.device_name = options.device;
  context_options.device_index = options.device_index;
  context_options.instance_extensions = window_instance_extensions();
  context_options.device_extensions = window_device_extensions();
  Context context(context_options);

  Window window(options.width, options.height);
  glfwSetDropCallback(window.handle, on_drop);
  ImGuiSession imgui;

  int status = 0;
  {
    Renderer renderer(window.handle, context);
    ActivationView activations(context, renderer.textures());
    GpuPreprocess camera_preprocess(context, renderer.textures());
    InferenceWorker worker(context, options.models);
    AppState state;
    state.textures = &renderer.textures();
    state.activations = &activations;
    state.enlarged_channel = options.channel;
    state.options = options;
    state.context = &context;
    state.worker = &worker;
    state.cameras = list_cameras();
    state.devices = Context::list_devices();
    if (!options.image_camera.empty())
      state.source.open_image_camera(options.image_camera, options.image_camera_mjpeg);
    else if (options.camera)
      state.source.open_camera(*options.camera);
    else if (!options.folder.empty())
      state.source.open_folder(options.folder);
    else
      state.source.open_file(options.image);
    state.path_field = options.image.string();
    state.folder_field = options.folder.string();
    // A fixed number of frames is a test or a screenshot: the same image every time.
    if (options.frames > 0) state.source.slideshow = false;

    uint64_t sent_generation = 0, shown_generation = 0;
    auto last_heatmap = std::chrono::steady_clock::now() - std::chrono::seconds(1);
    int frames = 0, settled = 0;
    std::set<std::string> models_with_results;
    auto last = std::chrono::steady_clock::now();
    const auto started = last;
    while (!glfwWindowShouldClose(window.handle) && !state.switch_device) {
      glfwPollEvents();
      for (const auto& p : g_dropped) {
        state.source.open_path(p);
        state.path_field = p.string();
      }
      g_dropped.clear();
      state.source.update();
      if (state.source.image() && state.source.generation() != sent_generation) {
        sent_generation = state.source.generation();
        worker.set_input(state.source.image(), state.source.origin(), sent_generation);
      }
      if (state.source.kind() == InputSource::Kind::Camera && state.source.camera_frame() &&
          state.source.generation() != sent_generation) {
        // Converted for the selected model on the GPU; until that model is loaded, frames wait.
        const auto& models = state.models;
        size_t selected = worker.selected_model();
        if (selected < models.size() && models[selected].state == ModelSummary::State::Ready) {
          sent_generation = state.source.generation();
          try {
            auto t0 = std::chrono::steady_clock::now();
            auto tensor = std::make_shared<const std::vector<float>>(camera_preprocess.process(
                *state.source.camera_frame(), models[selected].layout, [&] { renderer.wait_frames(); }));
            state.camera_convert_us =
                std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
            worker.set_input_tensor(std::move(tensor), models[selected].layout, state.source.origin(), sent_generation);
            state.camera_error.clear();
          } catch (const std::exception& e) {
            state.camera_error = e.what();
          }
        }
      }
      worker.set_live(state.live, state.max_rate);
      worker.set_activations(state.show_activations);
      state.models = worker.models();
      if (size_t selected = worker.selected_model(); selected != state.selected_model) {
        state.selected_model = selected;
        state.activation_layer = -1;  // the first spatial layer of the new model
        state.enlarged_channel = 0;
      }
      if (auto r = worker.latest(); r && r->sequence != state.shown_sequence) {
        state.shown_sequence = r->sequence;
        state.profiles[r->model].add(r->profile);
        if (r->preprocessed && (!state.result || state.result->preprocessed != r->preprocessed))
          state.textures->set_pixels("preprocessed", static_cast<uint32_t>(r->layout.width),
                                     static_cast<uint32_t>(r->layout.height),
                                     preprocessed_rgba(*r->preprocessed, r->layout));
        state.result = std::move(r);
      }
      if (state.source.image() && state.source.generation() != shown_generation) {
        shown_generation = state.source.generation();
        const auto& image = *state.source.image();
        state.textures->set_pixels("input", static_cast<uint32_t>(image.width), static_cast<uint32_t>(image.height),
                                   image_rgba(image));
      }
      update_activations(state, worker, renderer, last_heatmap);

      auto now = std::chrono::steady_clock::now();
      double dt = std::chrono::duration<double, std::milli>(now - last).count();
      last = now;
      state.frame_ms = state.frame_ms == 0 ? dt : 0.95 * state.frame_ms + 0.05 * dt;
      state.fps = state.frame_ms > 0 ? 1000.0 / state.frame_ms : 0;

      ImGui_ImplVulkan_NewFrame();
      ImGui_ImplGlfw_NewFrame();
      ImGui::NewFrame();
      draw_input_panel(state);
      draw_results_panel(state);
      draw_performance_panel(state);
      draw_model_panel(state);
      draw_layers_panel(state);
      draw_activations_panel(state);
      ImGui::Render();

      // With --frames, count frames once the shown result belongs to the shown input and model.
      const bool camera = state.source.kind() == InputSource::Kind::Camera;
      bool current = state.result && state.result->model == state.selected_model &&
                     (camera ? state.result->input_generation > 0
                             : state.result->input_generation == state.source.generation());
      bool failed = !state.models.empty() && state.selected_model < state.models.size() &&
                    state.models[state.selected_model].state == ModelSummary::State::Failed;
      bool nothing = !state.source.image() && !state.source.camera_frame() &&
                     (!camera || !state.source.error().empty());
      if (current || failed || nothing) ++settled;
      ++frames;
      bool ready = current || failed || nothing;
      if (current && state.result) models_with_results.insert(state.models[state.result->model].name);
      size_t usable = 0;
      for (const auto& m : state.models) usable += m.state != ModelSummary::State::Failed;
      bool cycled = options.cycle_models == 0 || models_with_results.size() >= usable;
      bool last_frame = options.frames > 0 && frames >= options.frames && settled >= 2 && ready && cycled;
      // Demo and test mode: the next model every N frames, once the current one has a result.
      if (options.cycle_models > 0 && frames % options.cycle_models == 0 && current && state.models.size() > 1 &&
          !last_frame)
        worker.select_model((state.selected_model + 1) % state.models.size());
      renderer.render(ImGui::GetDrawData(), last_frame ? options.screenshot : std::filesystem::path{});
      if (last_frame) {
        if (!options.screenshot.empty()) std::cerr << "vkbnn-studio: wrote " << options.screenshot.string() << '\n';
        break;
      }
      if (options.frames > 0 && std::chrono::steady_clock::now() - started > std::chrono::minutes(3)) {
        std::cerr << "vkbnn-studio: no result after 3 minutes\n";
        status = 1;
        break;
      }
    }

    *restart_on = state.switch_device;
    if (!options.save_input.empty()) {
      if (!state.result || !state.result->preprocessed) throw Error("--save-input: no result to save the input of");
      const io::InputLayout& l = state.result->layout;
      const int64_t shape[] = {1, l.channels, l.height, l.width};
      io::write_npy(options.save_input, shape, *state.result->preprocessed);
    }
    if (options.print_results) {
      const ModelSummary* m = state.selected_model < state.models.size() ? &state.models[state.selected_model] : nullptr;
      std::cout << "model       " << (m ? m->path.string() : "") << '\n';
      std::cout << "input       " << state.source.origin() << '\n';
      std::cout << "device      " << context.device().name << '\n';
      std::cout << "shown       ";
      for (const auto& name : models_with_results) std::cout << name << ' ';
      std::cout << '\n';
      if (state.result && !state.result->top.empty()) {
        const Result& r = *state.result;
        std::printf("top-1       %s (%zu) %.2f%%\n", r.labels[0].c_str(), r.top[0].index, r.top[0].probability * 100.0);
        for (size_t i = 0; i < r.top.size(); ++i)
          std::printf("  %zu. %6.2f%%  %s (%zu)\n", i + 1, r.top[i].probability * 100.0, r.labels[i].c_str(),
                      r.top[i].index);
        std::printf("latency     %.1f us end to end, %.1f us GPU; %.1f runs/s, window %.1f frames/s\n",
                    r.end_to_end_us, r.profile.gpu_us, worker.runs_per_second(), state.fps);
      } else {
        std::cout << "top-1       (none)\n";
        status = 1;
      }
      if (activations.ready() && !state.activation_drawn_layer.empty() && state.enlarged_channel >= 0 &&
          state.enlarged_channel < static_cast<int>(activations.channels())) {
        const auto& range = activations.ranges()[state.enlarged_channel];
        std::printf("activations %s %ux%ux%u%s channel %d range %.6g %.6g mean %.6g\n",
                    state.activation_drawn_layer.c_str(), activations.channels(), activations.height(),
                    activations.width(), activations.packed_bits() ? " bits" : "", state.enlarged_channel, range.min,
                    range.max, range.mean);
      }
      if (!state.activation_error.empty()) std::cout << "error       " << state.activation_error << '\n';
      if (!state.source.error().empty()) std::cout << "error       " << state.source.error() << '\n';
      std::string error = worker.error();
      if (!error.empty()) std::cout << "error       " << error << '\n';
      std::fflush(stdout);
    }
  }
  if (uint32_t n = context.validation_message_count(); n > 0) {
    restart_on->reset();
    std::cerr << "vkbnn-studio: " << n << " Vulkan validation message(s)\n";
    return 2;
  }
  return status;
}

}  // namespace vkbnn::studio
