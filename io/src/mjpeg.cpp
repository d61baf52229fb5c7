#include "vkbnn/io/mjpeg.hpp"

#include <memory>

#include "vkbnn/error.hpp"

#if VKBNN_HAVE_TURBOJPEG
#include <turbojpeg.h>
#endif

namespace vkbnn::io {

#if VKBNN_HAVE_TURBOJPEG

bool jpeg_decoder_available() { return true; }

Image decode_jpeg_rgb(std::span<const uint8_t> jpeg, const std::string& origin, uint64_t max_pixels) {
  struct Destroy {
    void operator()(void* handle) const { tjDestroy(handle); }
  };
  const std::unique_ptr<void, Destroy> handle(tjInitDecompress());
  if (!handle) throw Error(origin + ": cannot start the JPEG decoder: " + tjGetErrorStr2(nullptr));
  if (jpeg.empty()) throw Error(origin + ": empty JPEG data");
  // The API takes unsigned long sizes; a frame larger than that is no camera frame.
  if (jpeg.size() > static_cast<size_t>(static_cast<unsigned long>(-1) >> 1))
    throw Error(origin + ": JPEG data too large");
  const auto size = static_cast<unsigned long>(jpeg.size());
  int width = 0, height = 0, subsampling = 0, colorspace = 0;
  if (tjDecompressHeader3(handle.get(), jpeg.data(), size, &width, &height, &subsampling, &colorspace) != 0)
    throw Error(origin + ": not a JPEG image: " + tjGetErrorStr2(handle.get()));
  if (width <= 0 || height <= 0) throw Error(origin + ": JPEG header declares an empty image");
  const uint64_t pixels = static_cast<uint64_t>(width) * static_cast<uint64_t>(height);
  if (pixels > max_pixels)
    throw Error(origin + ": JPEG of " + std::to_string(width) + "x" + std::to_string(height) + " exceeds the limit of " +
                std::to_string(max_pixels) + " pixels");
  Image image{width, height, 3, std::vector<uint8_t>(pixels * 3)};
  // Warnings (a truncated or damaged stream the decoder would patch with gray) stop the decode:
  // a torn camera frame is dropped, not shown. LIMITSCANS bounds a progressive JPEG's work.
  if (tjDecompress2(handle.get(), jpeg.data(), size, image.pixels.data(), width, width * 3, height, TJPF_RGB,
                    TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS) != 0)
    throw Error(origin + ": corrupt JPEG data: " + tjGetErrorStr2(handle.get()));
  return image;
}

#else

bool jpeg_decoder_available() { return false; }

Image decode_jpeg_rgb(std::span<const uint8_t>, const std::string& origin, uint64_t) {
  throw Error(origin + ": MJPEG needs libturbojpeg, which this build lacks (apt-get install libturbojpeg0-dev, then "
              "configure again)");
}

#endif

}  // namespace vkbnn::io
