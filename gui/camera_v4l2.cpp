// V4L2 capture (Linux): YUYV frames through memory-mapped buffers, handed over as they are (the
// GPU converts them). Also the image-file stand-in camera.
#include "camera.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "vkbnn/error.hpp"

#if defined(__linux__)
#include <fcntl.h>
#include <linux/videodev2.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#endif

namespace vkbnn::studio {

namespace {

uint8_t clamp_byte(int v) { return static_cast<uint8_t>(std::clamp(v, 0, 255)); }

class ImageCamera final : public Camera {
 public:
  explicit ImageCamera(const std::filesystem::path& path) : path_(path.string()) {
    tools::Image image = tools::load_image(path);
    frame_.width = image.width * 4 / 2 * 2;  // even, for 4:2:2
    frame_.height = image.height * 4;
    frame_.stride = frame_.width * 2;
    frame_.bytes.resize(size_t(frame_.stride) * frame_.height);
    auto rgb = [&](int x, int y, int c) {
      x = std::min(x / 4, image.width - 1);
      y = std::min(y / 4, image.height - 1);
      const uint8_t* p = image.pixels.data() + (size_t(y) * image.width + x) * image.channels;
      return image.channels >= 3 ? p[c] : p[0];
    };
    // BT.601, limited range: what a V4L2 camera delivers.
    for (int y = 0; y < frame_.height; ++y)
      for (int x = 0; x < frame_.width; x += 2) {
        int ys[2], us = 0, vs = 0;
        for (int k = 0; k < 2; ++k) {
          int r = rgb(x + k, y, 0), g = rgb(x + k, y, 1), b = rgb(x + k, y, 2);
          ys[k] = ((66 * r + 129 * g + 25 * b + 128) >> 8) + 16;
          us += ((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128;
          vs += ((112 * r - 94 * g - 18 * b + 128) >> 8) + 128;
        }
        uint8_t* q = frame_.bytes.data() + size_t(y) * frame_.stride + size_t(x) * 2;
        q[0] = clamp_byte(ys[0]);
        q[1] = clamp_byte(us / 2);
        q[2] = clamp_byte(ys[1]);
        q[3] = clamp_byte(vs / 2);
      }
  }
  bool grab(CameraFrame& frame) override {
    auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(33)) return false;
    last_ = now;
    frame = frame_;
    return true;
  }
  std::string description() const override {
    return "image camera " + path_ + " (" + std::to_string(frame_.width) + "x" + std::to_string(frame_.height) +
           " YUYV)";
  }

 private:
  std::string path_;
  CameraFrame frame_;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace

std::unique_ptr<Camera> open_image_camera(const std::filesystem::path& image) {
  return std::make_unique<ImageCamera>(image);
}

#if defined(__linux__)
namespace {

int xioctl(int fd, unsigned long request, void* arg) {
  int r;
  do r = ioctl(fd, request, arg);
  while (r == -1 && errno == EINTR);
  return r;
}

std::string device_path(int index) { return "/dev/video" + std::to_string(index); }


class V4l2Camera final : public Camera {
 public:
  explicit V4l2Camera(int index) : path_(device_path(index)) {
    fd_ = ::open(path_.c_str(), O_RDWR | O_NONBLOCK);
    if (fd_ < 0) throw Error("cannot open " + path_ + ": " + std::strerror(errno));
    try {
      start();
    } catch (...) {
      close_device();
      throw;
    }
  }
  ~V4l2Camera() override { close_device(); }

  bool grab(CameraFrame& frame) override {
    v4l2_buffer buf{};
    buf.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    buf.memory = V4L2_MEMORY_MMAP;
    if (xioctl(fd_, VIDIOC_DQBUF, &buf) == -1) {
      if (errno == EAGAIN) return false;
      throw Error(path_ + ": " + std::strerror(errno));
    }
    const auto* data = static_cast<const uint8_t*>(buffers_[buf.index].start);
    frame.width = width_;
    frame.height = height_;
    frame.stride = stride_;
    frame.bytes.assign(data, data + std::min<size_t>(buf.bytesused, size_t(stride_) * height_));
    frame.bytes.resize(size_t(stride_) * height_, 0);
    if (xioctl(fd_, VIDIOC_QBUF, &buf) == -1) throw Error(path_ + ": " + std::strerror(errno));
    return true;
  }

  std::string description() const override {
    return path_ + " (" + name_ + ", " + std::to_string(width_) + "x" + std::to_string(height_) + " YUYV)";
  }

 private:
  struct Mapped {
    void* start = MAP_FAILED;
    size_t length = 0;
  };

  void start() {
    v4l2_capability cap{};
    if (xioctl(fd_, VIDIOC_QUERYCAP, &cap) == -1) throw Error(path_ + " is not a V4L2 device");
    name_ = reinterpret_cast<const char*>(cap.card);
    if (!(cap.capabilities & V4L2_CAP_VIDEO_CAPTURE) || !(cap.capabilities & V4L2_CAP_STREAMING))
      throw Error(path_ + " cannot stream video");
    v4l2_format fmt{};
    fmt.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    fmt.fmt.pix.width = 640;
    fmt.fmt.pix.height = 480;
    fmt.fmt.pix.pixelformat = V4L2_PIX_FMT_YUYV;
    fmt.fmt.pix.field = V4L2_FIELD_ANY;
    if (xioctl(fd_, VIDIOC_S_FMT, &fmt) == -1) throw Error(path_ + ": cannot set the format");
    if (fmt.fmt.pix.pixelformat != V4L2_PIX_FMT_YUYV) throw Error(path_ + " does not offer YUYV");
    width_ = static_cast<int>(fmt.fmt.pix.width);
    height_ = static_cast<int>(fmt.fmt.pix.height);
    stride_ = static_cast<int>(std::max<uint32_t>(fmt.fmt.pix.bytesperline, fmt.fmt.pix.width * 2));
    v4l2_requestbuffers req{};
    req.count = 4;
    req.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    req.memory = V4L2_MEMORY_MMAP;
    if (xioctl(fd_, VIDIOC_REQBUFS, &req) == -1 || req.count < 2) throw Error(path_ + ": no capture buffers");
    for (uint32_t i = 0; i < req.count; ++i) {
      v4l2_buffer buf{};
      buf.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
      buf.memory = V4L2_MEMORY_MMAP;
      buf.index = i;
      if (xioctl(fd_, VIDIOC_QUERYBUF, &buf) == -1) throw Error(path_ + ": cannot query a buffer");
      Mapped m;
      m.length = buf.length;
      m.start = mmap(nullptr, buf.length, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, buf.m.offset);
      if (m.start == MAP_FAILED) throw Error(path_ + ": cannot map a buffer");
      buffers_.push_back(m);
      if (xioctl(fd_, VIDIOC_QBUF, &buf) == -1) throw Error(path_ + ": cannot queue a buffer");
    }
    v4l2_buf_type type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    if (xioctl(fd_, VIDIOC_STREAMON, &type) == -1) throw Error(path_ + ": cannot start streaming");
    streaming_ = true;
  }

  void close_device() {
    if (fd_ < 0) return;
    if (streaming_) {
      v4l2_buf_type type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
      xioctl(fd_, VIDIOC_STREAMOFF, &type);
    }
    for (auto& m : buffers_)
      if (m.start != MAP_FAILED) munmap(m.start, m.length);
    buffers_.clear();
    ::close(fd_);
    fd_ = -1;
  }

  std::string path_;
  std::string name_;
  int fd_ = -1;
  int width_ = 0, height_ = 0, stride_ = 0;
  bool streaming_ = false;
  std::vector<Mapped> buffers_;
};

}  // namespace

std::vector<CameraDevice> list_cameras() {
  std::vector<CameraDevice> found;
  for (int i = 0; i < 16; ++i) {
    std::string path = device_path(i);
    if (!std::filesystem::exists(path)) continue;
    int fd = ::open(path.c_str(), O_RDWR | O_NONBLOCK);
    if (fd < 0) continue;
    v4l2_capability cap{};
    if (xioctl(fd, VIDIOC_QUERYCAP, &cap) == 0) {
      uint32_t caps = (cap.capabilities & V4L2_CAP_DEVICE_CAPS) ? cap.device_caps : cap.capabilities;
      if (caps & V4L2_CAP_VIDEO_CAPTURE) found.push_back({i, reinterpret_cast<const char*>(cap.card)});
    }
    ::close(fd);
  }
  return found;
}

std::unique_ptr<Camera> open_camera(int index) { return std::make_unique<V4l2Camera>(index); }

#else

std::vector<CameraDevice> list_cameras() { return {}; }
std::unique_ptr<Camera> open_camera(int) { throw Error("cameras are only supported on Linux (V4L2)"); }

#endif

}  // namespace vkbnn::studio
