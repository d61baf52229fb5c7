#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "vkbnn/io/image_input.hpp"

namespace vkbnn::studio {

struct CameraDevice {
  int index = 0;     // N in /dev/videoN
  std::string name;  // what the driver calls it
};

// How a frame's bytes hold its pixels: YUYV (4:2:2, Y0 U Y1 V per two pixels) as the device
// delivers it, or RGB (3 bytes a pixel) decoded from an MJPEG frame.
enum class PixelFormat { YUYV, RGB };

// One captured frame, rows `stride` bytes apart. Conversion, resizing and normalisation happen on
// the GPU (GpuPreprocess).
struct CameraFrame {
  int width = 0;
  int height = 0;
  int stride = 0;
  PixelFormat format = PixelFormat::YUYV;
  std::vector<uint8_t> bytes;
};

// A pixel format a camera offers (VIDIOC_ENUM_FMT) and the frame sizes it offers it at
// (VIDIOC_ENUM_FRAMESIZES).
struct CameraFormat {
  uint32_t fourcc = 0;
  std::string name;        // the driver's description, e.g. "Motion-JPEG"
  bool supported = false;  // YUYV; MJPEG where the build has libturbojpeg
  std::string note;        // why not, when not supported
  // Discrete sizes; for a stepwise or continuous range its smallest and largest.
  std::vector<std::pair<int, int>> sizes;
};

// What to capture: a format by fourcc and a size; zeros pick YUYV (else MJPEG) at 640x480.
struct CameraMode {
  uint32_t fourcc = 0;
  int width = 0;
  int height = 0;
};

// "YUYV", "MJPG"
std::string fourcc_string(uint32_t fourcc);

// A video capture device. grab() never blocks: it returns false when no new frame is ready.
// A device that disappears makes grab() throw vkbnn::Error; the caller shows the message.
class Camera {
 public:
  virtual ~Camera() = default;
  virtual bool grab(CameraFrame& frame) = 0;
  virtual std::string description() const = 0;
};

// The capture devices present now (empty where the platform has no implementation).
std::vector<CameraDevice> list_cameras();
// The formats camera N offers; throws vkbnn::Error when it cannot be asked.
std::vector<CameraFormat> list_camera_formats(int index);
// Opens camera N; throws vkbnn::Error with the reason when it cannot (a format it does not offer,
// MJPEG in a build without libturbojpeg, ...).
std::unique_ptr<Camera> open_camera(int index, const CameraMode& mode = {});
// A stand-in camera that delivers an image file as YUYV frames (enlarged 4x), 30 a second, so
// the camera path can run and be tested without a device. With `mjpeg` the frames are a JPEG of
// the enlarged image, decoded each time as a V4L2 MJPEG frame is.
std::unique_ptr<Camera> open_image_camera(const std::filesystem::path& image, bool mjpeg = false);

}  // namespace vkbnn::studio
