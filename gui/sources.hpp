#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "camera.hpp"
#include "vkbnn/io/image_input.hpp"

namespace vkbnn::studio {

// Where the images come from: one file, a folder shown as a slideshow, or a camera.
// The app polls it every frame; a new image bumps generation().
class InputSource {
 public:
  enum class Kind { File, Folder, Camera };

  void open_file(const std::filesystem::path& path);
  void open_folder(const std::filesystem::path& dir);
  void open_camera(int index, const CameraMode& mode = {});
  // See studio::open_image_camera.
  void open_image_camera(const std::filesystem::path& image, bool mjpeg = false);
  // A dropped path: a folder opens as a slideshow, anything else as an image file.
  void open_path(const std::filesystem::path& path);

  // Advances the slideshow, grabs camera frames. Call once per rendered frame.
  void update();
  void next();
  void previous();

  Kind kind() const { return kind_; }
  const std::shared_ptr<const io::Image>& image() const { return image_; }
  const std::string& origin() const { return origin_; }
  void set_origin(std::string origin) { origin_ = std::move(origin); }
  uint64_t generation() const { return generation_; }
  const std::string& error() const { return error_; }

  // Folder slideshow.
  const std::vector<std::filesystem::path>& folder_files() const { return files_; }
  size_t folder_index() const { return index_; }
  bool slideshow = true;
  float slideshow_seconds = 2.0f;

  // Camera: the latest frame, raw (converted on the GPU), with its own generation.
  const std::shared_ptr<const CameraFrame>& camera_frame() const { return frame_; }
  uint64_t frame_generation() const { return frame_generation_; }
  int camera_index() const { return camera_index_; }
  const CameraMode& camera_mode() const { return camera_mode_; }
  double camera_fps() const { return camera_fps_; }

 private:
  void load(const std::filesystem::path& path);
  void set_image(io::Image image, std::string origin);

  Kind kind_ = Kind::File;
  std::shared_ptr<const io::Image> image_;
  std::string origin_;
  uint64_t generation_ = 0;
  std::string error_;
  std::vector<std::filesystem::path> files_;
  size_t index_ = 0;
  std::chrono::steady_clock::time_point shown_at_{};
  std::unique_ptr<Camera> camera_;
  std::shared_ptr<const CameraFrame> frame_;
  uint64_t frame_generation_ = 0;
  int camera_index_ = -1;
  CameraMode camera_mode_;
  double camera_fps_ = 0;
  std::chrono::steady_clock::time_point last_frame_{};
};

}  // namespace vkbnn::studio
