#include "sources.hpp"

#include <algorithm>

#include "vkbnn/error.hpp"

namespace vkbnn::studio {

namespace {

bool is_image_file(const std::filesystem::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp" || ext == ".tga" || ext == ".gif" ||
         ext == ".pgm" || ext == ".ppm";
}

}  // namespace

void InputSource::set_image(io::Image image, std::string origin) {
  image_ = std::make_shared<const io::Image>(std::move(image));
  origin_ = std::move(origin);
  ++generation_;
}

void InputSource::load(const std::filesystem::path& path) {
  try {
    set_image(io::load_image(path), path.string());
    error_.clear();
  } catch (const std::exception& e) {
    error_ = e.what();
  }
  shown_at_ = std::chrono::steady_clock::now();
}

void InputSource::open_file(const std::filesystem::path& path) {
  camera_.reset();
  frame_.reset();
  kind_ = Kind::File;
  files_.clear();
  load(path);
}

void InputSource::open_folder(const std::filesystem::path& dir) {
  camera_.reset();
  frame_.reset();
  kind_ = Kind::Folder;
  files_.clear();
  index_ = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
    if (entry.is_regular_file() && is_image_file(entry.path())) files_.push_back(entry.path());
  std::sort(files_.begin(), files_.end());
  if (ec) {
    error_ = "cannot read the folder " + dir.string() + ": " + ec.message();
  } else if (files_.empty()) {
    error_ = "no images in " + dir.string();
  } else {
    load(files_[0]);
  }
}

void InputSource::open_camera(int index, const CameraMode& mode) {
  camera_.reset();
  frame_.reset();
  kind_ = Kind::Camera;
  camera_index_ = index;
  camera_mode_ = mode;
  files_.clear();
  try {
    camera_ = studio::open_camera(index, mode);
    error_.clear();
  } catch (const std::exception& e) {
    error_ = e.what();
  }
}

void InputSource::open_image_camera(const std::filesystem::path& image, bool mjpeg) {
  camera_.reset();
  kind_ = Kind::Camera;
  camera_index_ = -1;
  files_.clear();
  try {
    camera_ = studio::open_image_camera(image, mjpeg);
    error_.clear();
  } catch (const std::exception& e) {
    error_ = e.what();
  }
}

void InputSource::open_path(const std::filesystem::path& path) {
  if (std::filesystem::is_directory(path))
    open_folder(path);
  else
    open_file(path);
}

void InputSource::next() {
  if (files_.empty()) return;
  index_ = (index_ + 1) % files_.size();
  load(files_[index_]);
}

void InputSource::previous() {
  if (files_.empty()) return;
  index_ = (index_ + files_.size() - 1) % files_.size();
  load(files_[index_]);
}

void InputSource::update() {
  auto now = std::chrono::steady_clock::now();
  if (kind_ == Kind::Folder && slideshow && files_.size() > 1 &&
      now - shown_at_ > std::chrono::duration<float>(slideshow_seconds))
    next();
  if (kind_ == Kind::Camera && camera_) {
    try {
      CameraFrame frame;
      if (camera_->grab(frame)) {
        double dt = std::chrono::duration<double>(now - last_frame_).count();
        if (dt > 0 && dt < 5) camera_fps_ = 0.9 * camera_fps_ + 0.1 / dt;
        last_frame_ = now;
        frame_ = std::make_shared<const CameraFrame>(std::move(frame));
        ++frame_generation_;
        origin_ = camera_->description();
        ++generation_;
      }
    } catch (const std::exception& e) {
      error_ = std::string("camera lost: ") + e.what();
      camera_.reset();
    }
  }
}

}  // namespace vkbnn::studio
