#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "vkbnn/model.hpp"

namespace vkbnn::io {

// True for the file extensions stb_image decodes (png, jpg, jpeg, bmp, pgm, ppm, tga, gif), in
// any case.
bool is_image_file(const std::filesystem::path& path);

// The image files directly in a folder, sorted by path. Throws vkbnn::Error when the folder
// cannot be read.
std::vector<std::filesystem::path> list_images(const std::filesystem::path& folder);

// Image files with their class index, for evaluation.
struct LabeledImages {
  std::vector<std::filesystem::path> paths;
  std::vector<size_t> labels;               // one per path
  std::vector<std::string> class_names;     // per class index; the model's labels where it has them
  std::string mapping;                      // how classes were assigned, for reports
};

// How the subfolders of an image folder map to the model's class indices.
enum class ClassOrder {
  // By the model's labels when any subfolder matches one (then every subfolder must), otherwise
  // sorted.
  Auto,
  Labels,  // a subfolder is the class whose label it matches, ignoring case and punctuation
  Sorted,  // torchvision's ImageFolder: the i-th subfolder in sorted name order is class i
};

// torchvision's ImageFolder layout: one subfolder per class holding its images (nested folders
// are searched too). A subfolder matches a label when the two agree after lower-casing and turning
// every run of other characters than letters and digits into one '_' ("t-shirt_top" matches
// "T-shirt/top"). `classes` is the model's class count: a class index beyond it throws
// vkbnn::Error, as do an empty folder, an unmatched subfolder and a subfolder without images.
LabeledImages image_folder(const std::filesystem::path& folder, const ModelMetadata& metadata, size_t classes,
                           ClassOrder order = ClassOrder::Auto);

// A list file: one image per line, "path label", the label being the last whitespace-separated
// field (an integer class index) and the path everything before it (so it may hold spaces),
// relative to the list file's folder unless absolute. Blank lines and lines starting with '#' are
// skipped. A malformed line or a label outside `classes` throws vkbnn::Error naming the line.
LabeledImages image_list(const std::filesystem::path& list, const ModelMetadata& metadata, size_t classes);

// Up to `count` calibration samples, preprocessed as the model's metadata says, from a folder of
// images (sorted by name) or an IDX image file.
std::vector<std::vector<float>> calibration_samples(const std::filesystem::path& path, size_t count,
                                                    const Model& model);

}  // namespace vkbnn::io
