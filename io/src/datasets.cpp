#include "vkbnn/io/datasets.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <map>
#include <system_error>

#include "vkbnn/io/idx.hpp"
#include "vkbnn/io/image_input.hpp"
#include "vkbnn/error.hpp"

namespace vkbnn::io {
namespace fs = std::filesystem;

namespace {

std::string class_key(const std::string& name) {
  std::string key;
  bool gap = false;
  for (unsigned char c : name) {
    if (std::isalnum(c)) {
      if (gap && !key.empty()) key += '_';
      key += static_cast<char>(std::tolower(c));
      gap = false;
    } else {
      gap = true;
    }
  }
  return key;
}

std::vector<fs::path> subfolders(const fs::path& folder) {
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) throw Error("'" + folder.string() + "' is not a folder");
  std::vector<fs::path> result;
  fs::directory_iterator it(folder, ec);
  if (ec) throw Error("cannot read the folder '" + folder.string() + "': " + ec.message());
  for (const fs::directory_entry& entry : it)
    if (entry.is_directory(ec)) result.push_back(entry.path());
  std::sort(result.begin(), result.end());
  return result;
}

std::vector<fs::path> images_below(const fs::path& folder) {
  std::error_code ec;
  std::vector<fs::path> result;
  fs::recursive_directory_iterator it(folder, fs::directory_options::follow_directory_symlink, ec);
  if (ec) throw Error("cannot read the folder '" + folder.string() + "': " + ec.message());
  for (auto end = fs::recursive_directory_iterator(); it != end; it.increment(ec)) {
    if (ec) throw Error("cannot read the folder '" + folder.string() + "': " + ec.message());
    if (it->is_regular_file(ec) && is_image_file(it->path())) result.push_back(it->path());
  }
  std::sort(result.begin(), result.end());
  return result;
}

std::vector<std::string> model_class_names(const ModelMetadata& metadata, size_t classes) {
  std::vector<std::string> names;
  for (size_t i = 0; i < classes; ++i) names.push_back(i < metadata.labels.size() ? metadata.labels[i] : std::to_string(i));
  return names;
}

}  // namespace

bool is_image_file(const fs::path& path) {
  static const std::array<std::string, 8> kExtensions{".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".ppm", ".tga", ".gif"};
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return std::find(kExtensions.begin(), kExtensions.end(), ext) != kExtensions.end();
}

std::vector<fs::path> list_images(const fs::path& folder) {
  std::error_code ec;
  fs::directory_iterator it(folder, ec);
  if (ec) throw Error("cannot read the folder '" + folder.string() + "': " + ec.message());
  std::vector<fs::path> files;
  for (const fs::directory_entry& entry : it)
    if (entry.is_regular_file(ec) && is_image_file(entry.path())) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

LabeledImages image_folder(const fs::path& folder, const ModelMetadata& metadata, size_t classes, ClassOrder order) {
  const std::vector<fs::path> folders = subfolders(folder);
  if (folders.empty()) throw Error("'" + folder.string() + "' has no class subfolders (one per class, holding its images)");

  // Labels that fold to the same key are kept apart only until a subfolder needs one of them.
  std::map<std::string, size_t> by_key;
  std::map<std::string, std::string> ambiguous;
  for (size_t i = 0; i < std::min(classes, metadata.labels.size()); ++i) {
    const std::string key = class_key(metadata.labels[i]);
    if (key.empty()) continue;
    const auto [it, fresh] = by_key.emplace(key, i);
    if (!fresh) ambiguous[key] = "'" + metadata.labels[it->second] + "' and '" + metadata.labels[i] + "'";
  }
  if (order == ClassOrder::Auto) {
    const bool any = std::any_of(folders.begin(), folders.end(),
                                 [&](const fs::path& f) { return by_key.count(class_key(f.filename().string())); });
    order = any ? ClassOrder::Labels : ClassOrder::Sorted;
  }
  if (order == ClassOrder::Labels && by_key.empty()) throw Error("the model has no labels to match the subfolders against");

  LabeledImages result;
  result.class_names = model_class_names(metadata, classes);
  result.mapping = order == ClassOrder::Labels ? "subfolders matched to the model's labels"
                                               : "subfolders in sorted name order (ImageFolder)";
  std::map<size_t, std::string> folder_of;
  for (size_t f = 0; f < folders.size(); ++f) {
    const std::string name = folders[f].filename().string();
    size_t label = f;
    if (order == ClassOrder::Labels) {
      const auto found = by_key.find(class_key(name));
      if (found == by_key.end())
        throw Error("the subfolder '" + name + "' matches none of the model's labels (or use the sorted class order)");
      if (const auto clash = ambiguous.find(found->first); clash != ambiguous.end())
        throw Error("the subfolder '" + name + "' matches the model's labels " + clash->second +
                    ", which folder names cannot tell apart");
      label = found->second;
      if (const auto [it, fresh] = folder_of.emplace(label, name); !fresh)
        throw Error("the subfolders '" + it->second + "' and '" + name + "' both match the label '" +
                    metadata.labels[label] + "'");
    } else if (label >= classes) {
      throw Error("'" + folder.string() + "' has " + std::to_string(folders.size()) + " class subfolders but the model has " +
                  std::to_string(classes) + " classes");
    }
    const std::vector<fs::path> images = images_below(folders[f]);
    if (images.empty()) throw Error("the class subfolder '" + folders[f].string() + "' holds no images");
    for (const fs::path& image : images) {
      result.paths.push_back(image);
      result.labels.push_back(label);
    }
  }
  return result;
}

LabeledImages image_list(const fs::path& list, const ModelMetadata& metadata, size_t classes) {
  std::ifstream in(list);
  if (!in) throw Error("cannot open the list file '" + list.string() + "'");
  LabeledImages result;
  result.class_names = model_class_names(metadata, classes);
  result.mapping = "class indices from the list file";
  const fs::path base = list.parent_path();
  size_t number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    const std::string where = list.string() + ":" + std::to_string(number) + ": ";
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
    const size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    const size_t split = line.find_last_of(" \t");
    if (split == std::string::npos || split < first) throw Error(where + "expected 'path label', got '" + line + "'");
    const std::string label_text = line.substr(split + 1);
    std::string path_text = line.substr(first, split - first);
    while (!path_text.empty() && std::isspace(static_cast<unsigned char>(path_text.back()))) path_text.pop_back();
    size_t used = 0;
    unsigned long long label = 0;
    try {
      label = std::stoull(label_text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != label_text.size() || label_text.find_first_not_of("0123456789") != std::string::npos)
      throw Error(where + "the label '" + label_text + "' is not a class index");
    if (label >= classes)
      throw Error(where + "the label " + label_text + " is outside the model's " + std::to_string(classes) + " classes");
    const fs::path path(path_text);
    result.paths.push_back(path.is_absolute() ? path : base / path);
    result.labels.push_back(static_cast<size_t>(label));
  }
  if (result.paths.empty()) throw Error("the list file '" + list.string() + "' names no images");
  return result;
}

std::vector<std::vector<float>> calibration_samples(const fs::path& path, size_t count, const Model& model) {
  const InputLayout layout = input_layout(model);
  std::vector<std::vector<float>> samples;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    std::vector<fs::path> files = list_images(path);
    if (files.empty()) throw Error("--calib: no images (png, jpg, bmp, ...) in " + path.string());
    files.resize(std::min(files.size(), count));
    for (const fs::path& file : files) samples.push_back(preprocess(load_image(file), layout));
  } else if (fs::is_regular_file(path, ec)) {
    const IdxImages idx = read_idx_images(path);
    for (size_t i = 0; i < std::min<size_t>(idx.count, count); ++i) {
      const std::span<const uint8_t> pixels = idx.image(i);
      const Image image{static_cast<int>(idx.cols), static_cast<int>(idx.rows), 1,
                        std::vector<uint8_t>(pixels.begin(), pixels.end())};
      samples.push_back(preprocess(image, layout));
    }
    if (samples.empty()) throw Error("--calib: " + path.string() + " holds no images");
  } else {
    throw Error("--calib: " + path.string() + ": no such file or folder");
  }
  return samples;
}

}  // namespace vkbnn::io
