#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "image_input.hpp"

namespace vkbnn::studio {

struct CameraDevice {
  int index = 0;     // N in /dev/videoN
  std::string name;  // what the driver calls it
};

// One captured frame as the device delivers it: YUYV (4:2:2, Y0 U Y1 V per two pixels), rows
// `stride` bytes apart. Conversion, resizing and normalisation happen on the GPU (GpuPreprocess).
struct CameraFrame {
  int width = 0;
  int height = 0;
  int stride = 0;
  std::vector<uint8_t> bytes;
};

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
// Opens camera N; throws vkbnn::Error with the reason when it cannot.
std::unique_ptr<Camera> open_camera(int index);
// A stand-in camera that delivers an image file as YUYV frames (enlarged 4x), 30 a second, so
// the camera path can run and be tested without a device.
std::unique_ptr<Camera> open_image_camera(const std::filesystem::path& image);

}  // namespace vkbnn::studio
