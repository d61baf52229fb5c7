#include "panels.hpp"

#include <imgui.h>
#include <imgui_stdlib.h>

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <map>
#include <numeric>

#include "activations.hpp"
#include "textures.hpp"

namespace vkbnn::studio {

namespace {

// The open camera's formats (VIDIOC_ENUM_FMT) and sizes (VIDIOC_ENUM_FRAMESIZES); picking one
// reopens the camera with it. Formats the studio cannot read are shown with the reason.
void camera_formats(AppState& state) {
  InputSource& src = state.source;
  const int index = src.camera_index();
  if (index < 0) return;
  if (state.camera_formats_of != index) {
    state.camera_formats_of = index;
    state.camera_formats.clear();
    state.camera_formats_error.clear();
    try {
      state.camera_formats = list_camera_formats(index);
    } catch (const std::exception& e) {
      state.camera_formats_error = e.what();
    }
  }
  if (!state.camera_formats_error.empty()) ImGui::TextDisabled("%s", state.camera_formats_error.c_str());
  for (const CameraFormat& f : state.camera_formats) {
    const std::string header = fourcc_string(f.fourcc) + "  " + f.name + "##fmt" + std::to_string(f.fourcc);
    if (!ImGui::TreeNode(header.c_str())) continue;
    if (!f.supported) ImGui::TextDisabled("%s", f.note.c_str());
    for (const auto& [w, h] : f.sizes) {
      const CameraMode& now = src.camera_mode();
      const bool current = now.fourcc == f.fourcc && now.width == w && now.height == h;
      const std::string label = std::to_string(w) + "x" + std::to_string(h) + "##" + header;
      // Unsupported formats stay pickable: opening one shows why it is refused.
      if (ImGui::Selectable(label.c_str(), current)) src.open_camera(index, {f.fourcc, w, h});
    }
    ImGui::TreePop();
  }
}

std::string bytes_text(uint64_t bytes) {
  char buf[64];
  if (bytes >= (1u << 20))
    std::snprintf(buf, sizeof buf, "%.2f MiB", bytes / 1048576.0);
  else if (bytes >= 1024)
    std::snprintf(buf, sizeof buf, "%.1f KiB", bytes / 1024.0);
  else
    std::snprintf(buf, sizeof buf, "%" PRIu64 " B", bytes);
  return buf;
}

ImU32 precision_colour(Precision precision) {
  switch (precision) {
    case Precision::Binary: return IM_COL32(240, 150, 40, 255);
    case Precision::Bits: return IM_COL32(90, 200, 110, 255);
    case Precision::Fp32: return IM_COL32(80, 140, 230, 255);
    case Precision::Int8: return IM_COL32(200, 90, 200, 255);
    case Precision::None: break;
  }
  return IM_COL32(150, 150, 150, 255);  // layers that only move data
}

// The legend's name: layers without a precision of their own only move data.
const char* precision_label(Precision precision) {
  return precision == Precision::None ? "other" : to_string(precision);
}

const ModelSummary* selected_summary(const AppState& state) {
  return state.selected_model < state.models.size() ? &state.models[state.selected_model] : nullptr;
}

// Draws pixels as filled rectangles (at most max_cells per side; larger images are sampled).
template <typename PixelFn>
void draw_pixels(int width, int height, float side, PixelFn pixel) {
  if (width <= 0 || height <= 0) return;
  const int max_cells = 112;
  int cols = std::min(width, max_cells), rows = std::min(height, max_cells);
  float scale = side / std::max(width, height);
  ImVec2 size(width * scale, height * scale);
  ImVec2 origin = ImGui::GetCursorScreenPos();
  ImDrawList* draw = ImGui::GetWindowDrawList();
  float cw = size.x / cols, ch = size.y / rows;
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) {
      int x = c * width / cols, y = r * height / rows;
      ImVec2 a(origin.x + c * cw, origin.y + r * ch);
      draw->AddRectFilled(a, ImVec2(a.x + cw + 0.5f, a.y + ch + 0.5f), pixel(x, y));
    }
  ImGui::Dummy(size);
}

[[maybe_unused]] void draw_image(const io::Image& image, float side) {
  draw_pixels(image.width, image.height, side, [&](int x, int y) {
    const uint8_t* p = image.pixels.data() + (static_cast<size_t>(y) * image.width + x) * image.channels;
    if (image.channels >= 3) return IM_COL32(p[0], p[1], p[2], 255);
    return IM_COL32(p[0], p[0], p[0], 255);
  });
}

// The tensor the model receives, mapped back to [0, 1] per channel.
[[maybe_unused]] void draw_preprocessed(const std::vector<float>& data, const io::InputLayout& layout, float side) {
  const size_t plane = static_cast<size_t>(layout.height) * layout.width;
  if (data.size() < plane * layout.channels) return;
  auto value = [&](int c, int x, int y) {
    float v = data[c * plane + static_cast<size_t>(y) * layout.width + x];
    float mean = c < static_cast<int>(layout.mean.size()) ? layout.mean[c] : 0.f;
    float sd = c < static_cast<int>(layout.std.size()) ? layout.std[c] : 1.f;
    return static_cast<int>(std::clamp(v * sd + mean, 0.f, 1.f) * 255.f + 0.5f);
  };
  draw_pixels(layout.width, layout.height, side, [&](int x, int y) {
    if (layout.channels >= 3) {
      int a = value(0, x, y), b = value(1, x, y), c = value(2, x, y);
      if (layout.order == ChannelOrder::BGR) std::swap(a, c);
      return IM_COL32(a, b, c, 255);
    }
    int g = value(0, x, y);
    return IM_COL32(g, g, g, 255);
  });
}

// A texture scaled to fit side x side, keeping its aspect.
void draw_texture(AppState& state, const char* name, float side) {
  Texture* t = state.textures->find(name);
  if (!t || !t->width || !t->height) return;
  float scale = side / std::max(t->width, t->height);
  state.textures->image(name, ImVec2(t->width * scale, t->height * scale));
}

}  // namespace

std::vector<uint8_t> image_rgba(const io::Image& image) {
  std::vector<uint8_t> out(static_cast<size_t>(image.width) * image.height * 4);
  for (size_t i = 0; i < static_cast<size_t>(image.width) * image.height; ++i) {
    const uint8_t* p = image.pixels.data() + i * image.channels;
    uint8_t* q = out.data() + i * 4;
    if (image.channels >= 3) {
      q[0] = p[0];
      q[1] = p[1];
      q[2] = p[2];
    } else {
      q[0] = q[1] = q[2] = p[0];
    }
    q[3] = 255;
  }
  return out;
}

std::vector<uint8_t> preprocessed_rgba(const std::vector<float>& data, const io::InputLayout& layout) {
  const size_t plane = static_cast<size_t>(layout.height) * layout.width;
  std::vector<uint8_t> out(plane * 4, 255);
  if (data.size() < plane * layout.channels) return out;
  for (int c = 0; c < std::min(layout.channels, 3); ++c) {
    float mean = c < static_cast<int>(layout.mean.size()) ? layout.mean[c] : 0.f;
    float sd = c < static_cast<int>(layout.std.size()) ? layout.std[c] : 1.f;
    int dst = layout.channels >= 3 && layout.order == ChannelOrder::BGR ? 2 - c : c;
    for (size_t i = 0; i < plane; ++i) {
      auto v = static_cast<uint8_t>(std::clamp(data[c * plane + i] * sd + mean, 0.f, 1.f) * 255.f + 0.5f);
      if (layout.channels >= 3) {
        out[i * 4 + dst] = v;
      } else {
        out[i * 4] = out[i * 4 + 1] = out[i * 4 + 2] = v;
      }
    }
  }
  return out;
}

void draw_input_panel(AppState& state) {
  ImGui::SetNextWindowPos(ImVec2(0, 0), ImGuiCond_FirstUseEver);
  ImGui::SetNextWindowSize(ImVec2(360, 600), ImGuiCond_FirstUseEver);
  ImGui::Begin("Input");
  auto& src = state.source;
  // The first frame opens the tab of the source the app started with.
  static bool first = true;
  auto tab_flags = [&](InputSource::Kind kind) {
    return first && src.kind() == kind ? ImGuiTabItemFlags_SetSelected : ImGuiTabItemFlags_None;
  };
  if (ImGui::BeginTabBar("source")) {
    if (ImGui::BeginTabItem("Image file", nullptr, tab_flags(InputSource::Kind::File))) {
      ImGui::InputText("##path", &state.path_field);
      ImGui::SameLine();
      if (ImGui::Button("Open") && !state.path_field.empty()) src.open_path(state.path_field);
      ImGui::TextDisabled("or drop an image or a folder on the window");
      ImGui::EndTabItem();
    }
    if (ImGui::BeginTabItem("Folder", nullptr, tab_flags(InputSource::Kind::Folder))) {
      ImGui::InputText("##folder", &state.folder_field);
      ImGui::SameLine();
      if (ImGui::Button("Open") && !state.folder_field.empty()) src.open_folder(state.folder_field);
      if (src.kind() == InputSource::Kind::Folder && !src.folder_files().empty()) {
        if (ImGui::Button("<")) src.previous();
        ImGui::SameLine();
        if (ImGui::Button(">")) src.next();
        ImGui::SameLine();
        ImGui::Text("%zu / %zu", src.folder_index() + 1, src.folder_files().size());
        ImGui::Checkbox("slideshow", &src.slideshow);
        ImGui::SameLine();
        ImGui::SetNextItemWidth(120);
        ImGui::SliderFloat("s", &src.slideshow_seconds, 0.2f, 10.f, "%.1f");
      }
      ImGui::EndTabItem();
    }
    if (ImGui::BeginTabItem("Camera", nullptr, tab_flags(InputSource::Kind::Camera))) {
      if (ImGui::Button("Find cameras")) state.cameras = list_cameras();
      if (state.cameras.empty()) ImGui::TextDisabled("no V4L2 camera found");
      for (const auto& cam : state.cameras) {
        std::string label = "/dev/video" + std::to_string(cam.index) + "  " + cam.name;
        if (ImGui::Selectable(label.c_str(), src.kind() == InputSource::Kind::Camera && src.camera_index() == cam.index))
          src.open_camera(cam.index);
      }
      if (src.kind() == InputSource::Kind::Camera) {
        ImGui::Text("camera %.1f frames/s", src.camera_fps());
        camera_formats(state);
      }
      ImGui::EndTabItem();
    }
    ImGui::EndTabBar();
  }
  first = false;
  if (!src.error().empty()) {
    ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(1, 0.4f, 0.3f, 1));
    ImGui::TextWrapped("%s", src.error().c_str());
    ImGui::PopStyleColor();
  }
  ImGui::Separator();
  if (src.kind() == InputSource::Kind::Camera && src.camera_frame()) {
    ImGui::TextWrapped("%s", src.origin().c_str());
    ImGui::Text("%dx%d %s, converted on the GPU in %.0f us", src.camera_frame()->width, src.camera_frame()->height,
                src.camera_frame()->format == PixelFormat::RGB ? "RGB (decoded MJPEG)" : "YUYV",
                state.camera_convert_us);
    if (!state.camera_error.empty()) ImGui::TextColored(ImVec4(1, 0.4f, 0.3f, 1), "%s", state.camera_error.c_str());
    draw_texture(state, "input", 160);
  } else if (src.image()) {
    ImGui::TextWrapped("%s", src.origin().c_str());
    ImGui::Text("%dx%d, %d channel%s", src.image()->width, src.image()->height, src.image()->channels,
                src.image()->channels == 1 ? "" : "s");
    draw_texture(state, "input", 160);
  } else {
    ImGui::TextDisabled("no image");
  }
  ImGui::Separator();
  if (state.result && state.result->preprocessed) {
    const auto& l = state.result->layout;
    ImGui::Text("as the model sees it: %dx%dx%d, normalised", l.channels, l.height, l.width);
    draw_texture(state, "preprocessed", 160);
  }
  ImGui::End();
}

void draw_results_panel(AppState& state) {
  ImGui::SetNextWindowPos(ImVec2(360, 0), ImGuiCond_FirstUseEver);
  ImGui::SetNextWindowSize(ImVec2(420, 300), ImGuiCond_FirstUseEver);
  ImGui::Begin("Classification");
  const ModelSummary* model = selected_summary(state);
  if (model) {
    ImGui::Text("model  %s", model->name.c_str());
    if (model->state == ModelSummary::State::Loading || model->state == ModelSummary::State::Waiting)
      ImGui::TextDisabled("loading the model...");
    if (model->state == ModelSummary::State::Failed)
      ImGui::TextColored(ImVec4(1, 0.4f, 0.3f, 1), "%s", model->error.c_str());
  }
  std::string error = state.worker->error();
  if (!error.empty()) ImGui::TextColored(ImVec4(1, 0.4f, 0.3f, 1), "%s", error.c_str());
  if (state.result) {
    const Result& r = *state.result;
    bool stale = r.model != state.selected_model || (state.source.kind() != InputSource::Kind::Camera &&
                                                      r.input_generation != state.source.generation());
    if (stale) ImGui::TextDisabled("(updating)");
    for (size_t i = 0; i < r.top.size(); ++i) {
      char overlay[32];
      std::snprintf(overlay, sizeof overlay, "%.2f%%", r.top[i].probability * 100.0);
      ImGui::PushStyleColor(ImGuiCol_PlotHistogram,
                            i == 0 ? ImVec4(0.30f, 0.75f, 0.40f, 1) : ImVec4(0.35f, 0.45f, 0.65f, 1));
      ImGui::ProgressBar(r.top[i].probability, ImVec2(200, 0), overlay);
      ImGui::PopStyleColor();
      ImGui::SameLine();
      ImGui::Text("%s (%zu)", r.labels[i].c_str(), r.top[i].index);
    }
  }
  ImGui::End();
}

void draw_performance_panel(AppState& state) {
  ImGui::SetNextWindowPos(ImVec2(360, 300), ImGuiCond_FirstUseEver);
  ImGui::SetNextWindowSize(ImVec2(420, 300), ImGuiCond_FirstUseEver);
  ImGui::Begin("Performance");
  ImGui::Text("window      %.1f frames/s (%.2f ms)", state.fps, state.frame_ms);
  ImGui::Text("inference   %.1f runs/s", state.worker->runs_per_second());
  ImGui::Checkbox("live (re-run continuously)", &state.live);
  ImGui::SetNextItemWidth(160);
  ImGui::SliderFloat("max runs/s", &state.max_rate, 1.f, 200.f, "%.0f");
  if (state.result) {
    const Result& r = *state.result;
    const Profile& p = r.profile;
    ImGui::Separator();
    ImGui::Text("end to end  %8.1f us (preprocess, run, rank)", r.end_to_end_us);
    ImGui::Text("  preprocess %7.1f us", r.preprocess_us);
    ImGui::Text("  run()      %7.1f us = upload %.1f", p.total_us, p.upload_us);
    ImGui::Text("    + submit %.1f + wait %.1f + readback %.1f", p.submit_us, p.wait_us, p.readback_us);
    double layers = 0;
    for (const auto& l : p.layers) layers += l.gpu_us;
    ImGui::Text("GPU span    %8.1f us (within wait) =", p.gpu_us);
    ImGui::Text("    layers %.1f + copy in %.1f + copy out %.1f", layers, p.gpu_upload_us, p.gpu_readback_us);
    ImGui::Text("    + barriers and gaps %.1f", std::max(0.0, p.gpu_us - layers - p.gpu_upload_us - p.gpu_readback_us));
    ImGui::TextDisabled("(this run; the layer chart averages recent runs)");
  }
  ImGui::End();
}

void draw_layers_panel(AppState& state) {
  ImGui::SetNextWindowPos(ImVec2(0, 600), ImGuiCond_FirstUseEver);
  ImGui::SetNextWindowSize(ImVec2(1400, 300), ImGuiCond_FirstUseEver);
  ImGui::Begin("Layer GPU time");
  const ModelSummary* model = selected_summary(state);
  auto it = state.profiles.find(state.selected_model);
  if (!model || it == state.profiles.end() || it->second.runs.empty()) {
    ImGui::TextDisabled("no profile yet");
    ImGui::End();
    return;
  }
  Profile avg = it->second.average();
  std::map<std::string, const LayerInfo*> info;
  for (const auto& l : model->layers) info[l.name] = &l;
  double sum = 0, peak = 0;
  for (const auto& l : avg.layers) {
    sum += l.gpu_us;
    peak = std::max(peak, l.gpu_us);
  }
  ImGui::Text("average of the last %zu runs: %zu layers, %.1f us on the GPU (span %.1f us); bars in us;  ",
              it->second.runs.size(), avg.layers.size(), sum, avg.gpu_us);
  for (Precision p : {Precision::Fp32, Precision::Int8, Precision::Binary, Precision::Bits, Precision::None}) {
    ImGui::SameLine();
    ImGui::ColorButton(precision_label(p), ImGui::ColorConvertU32ToFloat4(precision_colour(p)),
                       ImGuiColorEditFlags_NoTooltip | ImGuiColorEditFlags_NoDragDrop, ImVec2(12, 12));
    ImGui::SameLine();
    ImGui::TextUnformatted(precision_label(p));
  }
  ImVec2 origin = ImGui::GetCursorScreenPos();
  ImVec2 avail = ImGui::GetContentRegionAvail();
  float height = std::max(60.f, avail.y - 8);
  float width = avail.x;
  ImDrawList* draw = ImGui::GetWindowDrawList();
  draw->AddRect(origin, ImVec2(origin.x + width, origin.y + height), IM_COL32(90, 90, 100, 255));
  size_t n = avg.layers.size();
  float bar = n ? width / n : width;
  ImGui::InvisibleButton("chart", ImVec2(width, height));
  bool hovered = ImGui::IsItemHovered();
  ImVec2 mouse = ImGui::GetIO().MousePos;
  for (size_t k = 0; k < n; ++k) {
    const auto& l = avg.layers[k];
    auto found = info.find(l.name);
    const Precision precision = found != info.end() ? found->second->precision : Precision::Fp32;
    float h = peak > 0 ? static_cast<float>(l.gpu_us / peak) * (height - 4) : 0;
    ImVec2 a(origin.x + k * bar + 1, origin.y + height - h);
    ImVec2 b(origin.x + (k + 1) * bar - 1, origin.y + height);
    bool over = hovered && mouse.x >= a.x - 1 && mouse.x < b.x + 1;
    ImU32 colour = precision_colour(precision);
    if (over) colour = IM_COL32(255, 255, 255, 255);
    draw->AddRectFilled(a, b, colour);
    if (bar >= 28) {
      char value[32];
      std::snprintf(value, sizeof value, "%.0f", l.gpu_us);
      ImVec2 ts = ImGui::CalcTextSize(value);
      if (ts.x < bar - 2)
        draw->AddText(ImVec2((a.x + b.x - ts.x) / 2, std::max(origin.y + 2, a.y - ts.y - 1)), IM_COL32(220, 220, 220, 255),
                      value);
    }
    if (over) {
      ImGui::BeginTooltip();
      ImGui::Text("%zu. %s", k + 1, l.name.c_str());
      ImGui::Text("op        %s", l.op.c_str());
      ImGui::Text("precision %s", to_string(precision));
      ImGui::Text("output    %s", shape_string(l.output_shape).c_str());
      ImGui::Text("GPU       %.2f us (average), %.2f us (last)", l.gpu_us,
                  k < it->second.runs.back().layers.size() ? it->second.runs.back().layers[k].gpu_us : 0.0);
      if (found != info.end() && found->second->macs)
        ImGui::Text("MACs      %" PRIu64 " (%.2f G/s)", found->second->macs,
                    l.gpu_us > 0 ? found->second->macs / l.gpu_us / 1e3 : 0.0);
      ImGui::Text("share     %.1f%% of the layers' time", sum > 0 ? 100.0 * l.gpu_us / sum : 0.0);
      ImGui::EndTooltip();
    }
  }
  ImGui::End();
}

void draw_model_panel(AppState& state) {
  ImGui::SetNextWindowPos(ImVec2(780, 0), ImGuiCond_FirstUseEver);
  ImGui::SetNextWindowSize(ImVec2(620, 290), ImGuiCond_FirstUseEver);
  ImGui::Begin("Model");
  const ModelSummary* current = selected_summary(state);
  if (ImGui::BeginCombo("model", current ? current->name.c_str() : "")) {
    for (size_t i = 0; i < state.models.size(); ++i) {
      const auto& m = state.models[i];
      std::string label = m.name + (m.state == ModelSummary::State::Failed ? "  (failed)" : "");
      if (ImGui::Selectable(label.c_str(), i == state.selected_model)) {
        state.selected_model = i;
        state.worker->select_model(i);
      }
    }
    ImGui::EndCombo();
  }
  const DeviceInfo& device = state.context->device();
  if (ImGui::BeginCombo("device", device.name.c_str())) {
    for (const auto& d : state.devices) {
      // Another device means a new window, renderer and networks: the app restarts there.
      if (ImGui::Selectable((d.name + " (" + d.type + ")").c_str(), d.index == device.index) && d.index != device.index)
        state.switch_device = d.index;
    }
    ImGui::EndCombo();
  }
  if (!current) {
    ImGui::End();
    return;
  }
  const ModelSummary& m = *current;
  ImGui::TextWrapped("%s", m.path.string().c_str());
  if (m.state != ModelSummary::State::Ready) {
    if (m.state == ModelSummary::State::Failed)
      ImGui::TextColored(ImVec4(1, 0.4f, 0.3f, 1), "%s", m.error.c_str());
    else
      ImGui::TextDisabled("loading...");
    ImGui::End();
    return;
  }
  if (!m.description.empty()) ImGui::TextWrapped("%s", m.description.c_str());
  ImGui::Text("input        %dx%dx%d, %zu classes", m.layout.channels, m.layout.height, m.layout.width, m.classes);
  ImGui::Text("file         %s", bytes_text(m.file_bytes).c_str());
  ImGui::Text("weights      %s", bytes_text(m.weight_bytes).c_str());
  ImGui::Text("activations  %s planned (%s if every tensor had its own buffer)",
              bytes_text(m.memory.arena_bytes).c_str(), bytes_text(m.memory.naive_arena_bytes).c_str());
  ImGui::Text("staging      %s", bytes_text(m.memory.staging_bytes).c_str());
  ImGui::Text("load         %.1f ms (%u pipelines, %.1f ms creating them)", m.load.total_ms, m.load.pipelines,
              m.load.pipelines_ms);

  struct Mix {
    int layers = 0;
    uint64_t macs = 0;
  };
  std::map<Precision, Mix> mix;
  uint64_t total_macs = 0;
  for (const auto& l : m.layers) {
    mix[l.precision].layers++;
    mix[l.precision].macs += l.macs;
    total_macs += l.macs;
  }
  ImGui::Text("precision mix:");
  for (const auto& [precision, x] : mix) {
    ImGui::SameLine();
    ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(precision_colour(precision)), " %s %d layers, %.0f%% of MACs",
                       precision_label(precision), x.layers, total_macs ? 100.0 * x.macs / total_macs : 0.0);
  }
  if (ImGui::BeginTable("layers", 5,
                        ImGuiTableFlags_RowBg | ImGuiTableFlags_ScrollY | ImGuiTableFlags_BordersInnerV |
                            ImGuiTableFlags_Resizable)) {
    ImGui::TableSetupScrollFreeze(0, 1);
    ImGui::TableSetupColumn("layer");
    ImGui::TableSetupColumn("op");
    ImGui::TableSetupColumn("precision");
    ImGui::TableSetupColumn("output");
    ImGui::TableSetupColumn("MACs");
    ImGui::TableHeadersRow();
    for (const auto& l : m.layers) {
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(l.name.c_str());
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(l.op.c_str());
      ImGui::TableNextColumn();
      ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(precision_colour(l.precision)), "%s", to_string(l.precision));
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(shape_string(l.output_shape).c_str());
      ImGui::TableNextColumn();
      ImGui::Text("%" PRIu64, l.macs);
    }
    ImGui::EndTable();
  }
  ImGui::End();
}

void draw_activations_panel(AppState& state) {
  ImGui::SetNextWindowPos(ImVec2(780, 290), ImGuiCond_FirstUseEver);
  ImGui::SetNextWindowSize(ImVec2(620, 310), ImGuiCond_FirstUseEver);
  ImGui::Begin("Activations");
  ImGui::Checkbox("show", &state.show_activations);
  const ModelSummary* model = selected_summary(state);
  if (!state.show_activations || !model || model->state != ModelSummary::State::Ready) {
    ImGui::End();
    return;
  }
  ImGui::SameLine();
  ImGui::SetNextItemWidth(360);
  std::string preview = state.activation_layer_name;
  if (ImGui::BeginCombo("layer", preview.c_str())) {
    for (size_t i = 0; i < model->layers.size(); ++i) {
      const auto& l = model->layers[i];
      std::string label = l.name + "  " + l.op + "  " + shape_string(l.output_shape) + "  " + to_string(l.precision);
      if (ImGui::Selectable(label.c_str(), static_cast<int>(i) == state.activation_layer)) {
        state.activation_layer = static_cast<int>(i);
        state.enlarged_channel = 0;
      }
    }
    ImGui::EndCombo();
  }
  if (!state.activation_error.empty()) ImGui::TextColored(ImVec4(1, 0.4f, 0.3f, 1), "%s", state.activation_error.c_str());
  const ActivationView& view = *state.activations;
  Texture* t = state.textures->find("activations");
  if (!view.ready() || !t || !t->has_content || state.activation_drawn_layer.empty()) {
    ImGui::TextDisabled("waiting for a run that keeps the activations...");
    ImGui::End();
    return;
  }
  ImGui::Text("%s: %u channels of %ux%u%s; click a channel", state.activation_drawn_layer.c_str(), view.channels(),
              view.height(), view.width(),
              view.packed_bits() ? ", packed signs (bright +1, dark -1)" : view.int8() ? ", int8 (dequantized)" : "");
  float avail_h = ImGui::GetContentRegionAvail().y - 4;
  float side = std::max(64.f, std::min(avail_h, ImGui::GetContentRegionAvail().x * 0.55f));
  float scale = side / std::max(t->width, t->height);
  ImVec2 size(t->width * scale, t->height * scale);
  ImVec2 origin = ImGui::GetCursorScreenPos();
  state.textures->image("activations", size);
  auto channel_at = [&](ImVec2 mouse) -> int {
    int col = static_cast<int>((mouse.x - origin.x) / size.x * view.columns());
    int row = static_cast<int>((mouse.y - origin.y) / size.y * view.rows());
    int c = row * static_cast<int>(view.columns()) + col;
    return c >= 0 && c < static_cast<int>(view.channels()) && col < static_cast<int>(view.columns()) ? c : -1;
  };
  if (ImGui::IsItemHovered()) {
    int c = channel_at(ImGui::GetIO().MousePos);
    if (c >= 0) {
      ImGui::SetTooltip("channel %d: %.4g .. %.4g, mean %.4g", c, view.ranges()[c].min, view.ranges()[c].max,
                        view.ranges()[c].mean);
      if (ImGui::IsMouseClicked(ImGuiMouseButton_Left)) state.enlarged_channel = c;
    }
  }
  if (state.enlarged_channel >= static_cast<int>(view.channels())) state.enlarged_channel = 0;
  ImGui::SameLine();
  ImGui::BeginGroup();
  int c = state.enlarged_channel;
  ImGui::Text("channel %d", c);
  ImGui::Text("range %.4g .. %.4g, mean %.4g", view.ranges()[c].min, view.ranges()[c].max, view.ranges()[c].mean);
  auto [uv0, uv1] = view.tile_uv(static_cast<uint32_t>(c));
  float big = std::max(48.f, std::min(ImGui::GetContentRegionAvail().x, ImGui::GetContentRegionAvail().y - 4));
  float k = big / std::max(view.width(), view.height());
  state.textures->image("activations", ImVec2(view.width() * k, view.height() * k), uv0, uv1);
  ImGui::EndGroup();
  ImGui::End();
}

}  // namespace vkbnn::studio
