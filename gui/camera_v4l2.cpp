// V4L2 capture (Linux) through memory-mapped buffers: YUYV frames handed over as they are (the
// GPU converts them), MJPEG frames decoded to RGB by libturbojpeg (vkbnn/io/mjpeg.hpp). Also the
// image-file stand-in camera.
#include "camera.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <span>
#include <tuple>

#include <stb_image_write.h>

#include "vkbnn/error.hpp"
#include "vkbnn/io/mjpeg.hpp"

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

const char* kNoJpegDecoder = "MJPEG needs libturbojpeg, which this build lacks (apt-get install libturbojpeg0-dev)";

class ImageCamera final : public Camera {
 public:
  ImageCamera(const std::filesystem::path& path, bool mjpeg) : path_(path.string()) {
    if (mjpeg && !io::jpeg_decoder_available()) throw Error(path_ + ": " + kNoJpegDecoder);
    io::Image image = io::load_image(path);
    frame_.width = image.width * 4 / 2 * 2;  // even, for 4:2:2
    frame_.height = image.height * 4;
    frame_.stride = frame_.width * 2;
    frame_.bytes.resize(size_t(frame_.stride) * frame_.height);
    auto rgb_at = [&](int x, int y, int c) {
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
          int r = rgb_at(x + k, y, 0), g = rgb_at(x + k, y, 1), b = rgb_at(x + k, y, 2);
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
    if (mjpeg) {
      std::vector<uint8_t> rgb(size_t(frame_.width) * frame_.height * 3);
      for (int y = 0; y < frame_.height; ++y)
        for (int x = 0; x < frame_.width; ++x)
          for (int c = 0; c < 3; ++c) rgb[(size_t(y) * frame_.width + x) * 3 + c] = rgb_at(x, y, c);
      auto append = [](void* context, void* data, int size) {
        auto* out = static_cast<std::vector<uint8_t>*>(context);
        out->insert(out->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
      };
      if (!stbi_write_jpg_to_func(append, &jpeg_, frame_.width, frame_.height, 3, rgb.data(), 95))
        throw Error(path_ + ": cannot encode the image as JPEG");
    }
  }
  bool grab(CameraFrame& frame) override {
    auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(33)) return false;
    last_ = now;
    if (jpeg_.empty()) {
      frame = frame_;
      return true;
    }
    io::Image image = io::decode_jpeg_rgb(jpeg_, "image camera " + path_);
    frame.width = image.width;
    frame.height = image.height;
    frame.stride = image.width * 3;
    frame.format = PixelFormat::RGB;
    frame.bytes = std::move(image.pixels);
    return true;
  }
  std::string description() const override {
    return "image camera " + path_ + " (" + std::to_string(frame_.width) + "x" + std::to_string(frame_.height) +
           (jpeg_.empty() ? " YUYV)" : " MJPEG)");
  }

 private:
  std::string path_;
  CameraFrame frame_;
  std::vector<uint8_t> jpeg_;  // the frame as MJPEG; empty for YUYV
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace

std::unique_ptr<Camera> open_image_camera(const std::filesystem::path& image, bool mjpeg) {
  return std::make_unique<ImageCamera>(image, mjpeg);
}

std::string fourcc_string(uint32_t fourcc) {
  std::string s;
  for (int i = 0; i < 4; ++i) {
    const char c = static_cast<char>((fourcc >> (8 * i)) & 0xFF);
    s += c >= 32 && c < 127 ? c : '?';
  }
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
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


bool is_mjpeg(uint32_t fourcc) { return fourcc == V4L2_PIX_FMT_MJPEG || fourcc == V4L2_PIX_FMT_JPEG; }

// Whether the studio can show frames in this format, and if not, why.
std::pair<bool, std::string> format_support(uint32_t fourcc) {
  if (fourcc == V4L2_PIX_FMT_YUYV) return {true, ""};
  if (is_mjpeg(fourcc)) {
    if (io::jpeg_decoder_available()) return {true, ""};
    return {false, kNoJpegDecoder};
  }
  return {false, "vkbnn-studio reads YUYV and MJPEG only"};
}

// A descriptor that closes itself.
class Fd {
 public:
  explicit Fd(const std::string& path) : fd_(::open(path.c_str(), O_RDWR | O_NONBLOCK)) {
    if (fd_ < 0) throw Error("cannot open " + path + ": " + std::strerror(errno));
  }
  ~Fd() { ::close(fd_); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::vector<CameraFormat> enumerate_formats(int fd) {
  std::vector<CameraFormat> formats;
  v4l2_fmtdesc desc{};
  desc.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  for (desc.index = 0; xioctl(fd, VIDIOC_ENUM_FMT, &desc) == 0; ++desc.index) {
    CameraFormat f;
    f.fourcc = desc.pixelformat;
    f.name = reinterpret_cast<const char*>(desc.description);
    std::tie(f.supported, f.note) = format_support(f.fourcc);
    v4l2_frmsizeenum size{};
    size.pixel_format = desc.pixelformat;
    for (size.index = 0; xioctl(fd, VIDIOC_ENUM_FRAMESIZES, &size) == 0; ++size.index) {
      if (size.type == V4L2_FRMSIZE_TYPE_DISCRETE) {
        f.sizes.emplace_back(size.discrete.width, size.discrete.height);
      } else {
        f.sizes.emplace_back(size.stepwise.min_width, size.stepwise.min_height);
        f.sizes.emplace_back(size.stepwise.max_width, size.stepwise.max_height);
        break;
      }
    }
    formats.push_back(std::move(f));
  }
  return formats;
}

class V4l2Camera final : public Camera {
 public:
  V4l2Camera(int index, const CameraMode& mode) : path_(device_path(index)), mode_(mode) {
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
    const size_t used = std::min<size_t>(buf.bytesused, buffers_[buf.index].length);
    bool delivered = true;
    if (is_mjpeg(fourcc_)) {
      // A torn or damaged frame is dropped (and counted); the next one may be whole.
      try {
        io::Image image = io::decode_jpeg_rgb(std::span(data, used), path_);
        frame.width = image.width;
        frame.height = image.height;
        frame.stride = image.width * 3;
        frame.format = PixelFormat::RGB;
        frame.bytes = std::move(image.pixels);
      } catch (const Error&) {
        ++dropped_;
        delivered = false;
      }
    } else {
      frame.width = width_;
      frame.height = height_;
      frame.stride = stride_;
      frame.format = PixelFormat::YUYV;
      frame.bytes.assign(data, data + std::min<size_t>(used, size_t(stride_) * height_));
      frame.bytes.resize(size_t(stride_) * height_, 0);
    }
    if (xioctl(fd_, VIDIOC_QBUF, &buf) == -1) throw Error(path_ + ": " + std::strerror(errno));
    return delivered;
  }

  std::string description() const override {
    std::string d = path_ + " (" + name_ + ", " + std::to_string(width_) + "x" + std::to_string(height_) + " " +
                    fourcc_string(fourcc_) + ")";
    if (dropped_) d += ", " + std::to_string(dropped_) + " damaged frames dropped";
    return d;
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
    uint32_t fourcc = mode_.fourcc;
    if (!fourcc) {
      const std::vector<CameraFormat> offered = enumerate_formats(fd_);
      auto offers = [&](auto&& test) {
        return std::any_of(offered.begin(), offered.end(), [&](const CameraFormat& f) { return test(f.fourcc); });
      };
      fourcc = offers([](uint32_t f) { return f == V4L2_PIX_FMT_YUYV; }) || !offers(is_mjpeg) ? V4L2_PIX_FMT_YUYV
                                                                                             : V4L2_PIX_FMT_MJPEG;
    }
    if (const auto [supported, note] = format_support(fourcc); !supported)
      throw Error(path_ + ": " + fourcc_string(fourcc) + ": " + note);
    v4l2_format fmt{};
    fmt.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    fmt.fmt.pix.width = mode_.width > 0 ? static_cast<uint32_t>(mode_.width) : 640;
    fmt.fmt.pix.height = mode_.height > 0 ? static_cast<uint32_t>(mode_.height) : 480;
    fmt.fmt.pix.pixelformat = fourcc;
    fmt.fmt.pix.field = V4L2_FIELD_ANY;
    if (xioctl(fd_, VIDIOC_S_FMT, &fmt) == -1) throw Error(path_ + ": cannot set the format");
    if (fmt.fmt.pix.pixelformat != fourcc) throw Error(path_ + " does not offer " + fourcc_string(fourcc));
    fourcc_ = fourcc;
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
  CameraMode mode_;
  std::string name_;
  int fd_ = -1;
  uint32_t fourcc_ = 0;
  int width_ = 0, height_ = 0, stride_ = 0;
  uint64_t dropped_ = 0;
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

std::vector<CameraFormat> list_camera_formats(int index) {
  const Fd fd(device_path(index));
  return enumerate_formats(fd.get());
}

std::unique_ptr<Camera> open_camera(int index, const CameraMode& mode) {
  return std::make_unique<V4l2Camera>(index, mode);
}

#else

std::vector<CameraDevice> list_cameras() { return {}; }
std::vector<CameraFormat> list_camera_formats(int) { return {}; }
std::unique_ptr<Camera> open_camera(int, const CameraMode&) {
  throw Error("cameras are only supported on Linux (V4L2)");
}

#endif

}  // namespace vkbnn::studio
