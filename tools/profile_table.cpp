#include "profile_table.hpp"

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace vkbnn::tools {
namespace {

double layer_sum(const Profile& profile) {
  double sum = 0;
  for (const LayerTiming& layer : profile.layers) sum += layer.gpu_us;
  return sum;
}

std::string fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

std::string pad(const std::string& s, size_t width, bool right_align = false) {
  if (s.size() >= width) return s;
  return right_align ? std::string(width - s.size(), ' ') + s : s + std::string(width - s.size(), ' ');
}

}  // namespace

std::string format_profile(const Profile& profile) {
  const double sum = layer_sum(profile);
  size_t name_width = 5, op_width = 2, shape_width = 12;
  for (const LayerTiming& layer : profile.layers) {
    name_width = std::max(name_width, layer.name.size());
    op_width = std::max(op_width, layer.op.size());
    shape_width = std::max(shape_width, shape_string(layer.output_shape).size());
  }
  std::ostringstream out;
  out << pad("layer", name_width) << "  " << pad("op", op_width) << "  " << pad("output shape", shape_width) << "  "
      << pad("GPU us", 10, true) << "  " << pad("share", 7, true) << '\n';
  for (const LayerTiming& layer : profile.layers) {
    const double share = sum > 0 ? 100.0 * layer.gpu_us / sum : 0.0;
    out << pad(layer.name, name_width) << "  " << pad(layer.op, op_width) << "  "
        << pad(shape_string(layer.output_shape), shape_width) << "  " << pad(fixed(layer.gpu_us, 1), 10, true) << "  "
        << pad(fixed(share, 1) + "%", 7, true) << '\n';
  }
  const double host_sum = profile.upload_us + profile.submit_us + profile.wait_us + profile.readback_us;
  auto line = [&](const std::string& label, double us, const std::string& note = {}) {
    out << "  " << pad(label, 22) << pad(fixed(us, 1), 10, true) << " us";
    if (!note.empty()) out << "  (" << note << ')';
    out << '\n';
  };
  line("upload (host copy)", profile.upload_us);
  line("submit", profile.submit_us);
  line("wait (GPU)", profile.wait_us);
  line("readback (host copy)", profile.readback_us);
  line("total end to end", profile.total_us,
       "upload + submit + wait + readback = " + fixed(host_sum, 1) + " us");
  line("GPU timestamp span", profile.gpu_us,
       "of which input copy " + fixed(profile.gpu_upload_us, 1) + " us, output copy " +
           fixed(profile.gpu_readback_us, 1) + " us");
  std::string coverage;
  if (profile.gpu_us > 0) coverage = fixed(100.0 * sum / profile.gpu_us, 1) + "% of the GPU span";
  line("sum of layers", sum, coverage);
  return out.str();
}

nlohmann::ordered_json profile_json(const Profile& profile) {
  nlohmann::ordered_json layers = nlohmann::ordered_json::array();
  const double sum = layer_sum(profile);
  for (const LayerTiming& layer : profile.layers)
    layers.push_back({{"name", layer.name},
                      {"op", layer.op},
                      {"output_shape", layer.output_shape},
                      {"gpu_us", layer.gpu_us},
                      {"share", sum > 0 ? layer.gpu_us / sum : 0.0}});
  return {{"layers", layers},
          {"upload_us", profile.upload_us},
          {"submit_us", profile.submit_us},
          {"wait_us", profile.wait_us},
          {"readback_us", profile.readback_us},
          {"total_us", profile.total_us},
          {"gpu_us", profile.gpu_us},
          {"gpu_upload_us", profile.gpu_upload_us},
          {"gpu_readback_us", profile.gpu_readback_us},
          {"layers_sum_us", sum}};
}

}  // namespace vkbnn::tools
