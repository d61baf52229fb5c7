#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "vkbnn/io/image_input.hpp"

namespace vkbnn::io {

// The largest frame decode_jpeg_rgb accepts by default: 8K UHD, well above what webcams send.
inline constexpr uint64_t kMaxJpegPixels = uint64_t{7680} * 4320;

// Whether this build decodes JPEG (MJPEG camera frames): libturbojpeg was found at configure time.
bool jpeg_decoder_available();

// Decodes one baseline or progressive JPEG, such as an MJPEG camera frame, into 3-channel RGB.
// Throws vkbnn::Error naming `origin` when the data is not a complete, valid JPEG (the decoder's
// warnings, e.g. a premature end of data, count as errors), when the header declares more than
// `max_pixels` pixels (checked before anything is allocated), or when the build has no decoder.
Image decode_jpeg_rgb(std::span<const uint8_t> jpeg, const std::string& origin,
                      uint64_t max_pixels = kMaxJpegPixels);

}  // namespace vkbnn::io
