#include "vkbnn/io/image_input.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

#include <stb_image.h>

#include "vkbnn/io/files.hpp"
#include "vkbnn/error.hpp"

namespace vkbnn::io {
namespace {

std::vector<float> per_channel(const std::vector<float>& values, int channels, float fallback, const char* what) {
  if (values.empty()) return std::vector<float>(static_cast<size_t>(channels), fallback);
  if (values.size() == 1) return std::vector<float>(static_cast<size_t>(channels), values[0]);
  if (values.size() == static_cast<size_t>(channels)) return values;
  throw Error("the model's metadata has " + std::to_string(values.size()) + " " + what + " values for an input of " +
              std::to_string(channels) + " channels");
}

// Area resampling along one axis: each output sample averages the source interval it covers,
// weighted by overlap. Written here because Debian's prebuilt stb_image_resize aborts on an
// assertion for some downscale ratios, and an image from a user must never crash the tool.
struct AxisWeights {
  std::vector<int> first;
  std::vector<std::vector<float>> weights;
};

AxisWeights area_weights(int src, int dst) {
  AxisWeights axis;
  const double scale = static_cast<double>(src) / dst;
  for (int o = 0; o < dst; ++o) {
    const double lo = o * scale, hi = (o + 1) * scale;
    const int begin = static_cast<int>(lo), end = std::min(src, static_cast<int>(std::ceil(hi)));
    std::vector<float> w;
    for (int i = begin; i < end; ++i)
      w.push_back(static_cast<float>((std::min<double>(i + 1, hi) - std::max<double>(i, lo)) / scale));
    axis.first.push_back(begin);
    axis.weights.push_back(std::move(w));
  }
  return axis;
}

// Resizes an interleaved HWC float image with `c` channels.
std::vector<float> resize_area(const std::vector<float>& src, int sw, int sh, int dw, int dh, int c) {
  const AxisWeights wx = area_weights(sw, dw), wy = area_weights(sh, dh);
  std::vector<float> rows(static_cast<size_t>(dh) * sw * c, 0.0f);
  for (int y = 0; y < dh; ++y)
    for (size_t k = 0; k < wy.weights[y].size(); ++k) {
      const float w = wy.weights[y][k];
      const float* in = &src[static_cast<size_t>(wy.first[y] + k) * sw * c];
      float* out = &rows[static_cast<size_t>(y) * sw * c];
      for (int i = 0; i < sw * c; ++i) out[i] += w * in[i];
    }
  std::vector<float> dst(static_cast<size_t>(dh) * dw * c, 0.0f);
  for (int y = 0; y < dh; ++y)
    for (int x = 0; x < dw; ++x)
      for (size_t k = 0; k < wx.weights[x].size(); ++k) {
        const float w = wx.weights[x][k];
        const float* in = &rows[(static_cast<size_t>(y) * sw + wx.first[x] + k) * c];
        float* out = &dst[(static_cast<size_t>(y) * dw + x) * c];
        for (int ch = 0; ch < c; ++ch) out[ch] += w * in[ch];
      }
  return dst;
}

}  // namespace

Image decode_image(std::span<const uint8_t> bytes, const std::string& origin) {
  if (bytes.empty()) throw Error("'" + origin + "' is empty, not an image");
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max()))
    throw Error("'" + origin + "' is too large to decode");
  int width = 0, height = 0, channels = 0;
  if (!stbi_info_from_memory(bytes.data(), static_cast<int>(bytes.size()), &width, &height, &channels))
    throw Error("cannot decode '" + origin + "' as an image: " + stbi_failure_reason());
  if (static_cast<uint64_t>(width) * static_cast<uint64_t>(height) > kMaxImagePixels)
    throw Error("'" + origin + "' declares " + std::to_string(width) + "x" + std::to_string(height) +
                " pixels, more than the " + std::to_string(kMaxImagePixels) + " images may have");
  std::unique_ptr<stbi_uc, void (*)(void*)> pixels(
      stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()), &width, &height, &channels, 0),
      stbi_image_free);
  if (!pixels) throw Error("cannot decode '" + origin + "' as an image: " + stbi_failure_reason());
  Image image{width, height, channels, {}};
  image.pixels.assign(pixels.get(), pixels.get() + static_cast<size_t>(width) * height * channels);
  return image;
}

Image load_image(const std::filesystem::path& path) { return decode_image(read_file(path), path.string()); }

InputLayout input_layout(const Model& model) {
  if (model.inputs().size() != 1)
    throw Error("the model has " + std::to_string(model.inputs().size()) +
                " inputs; images can only feed a model with one input");
  const TensorDesc& input = model.inputs()[0];
  const ModelMetadata& meta = model.metadata();
  if (input.shape.size() != 4)
    throw Error("the model's input '" + input.name + "' has rank " + std::to_string(input.shape.size()) +
                ", not an NCHW image tensor");
  if (meta.layout != "NCHW") throw Error("the model's input layout is '" + meta.layout + "'; only NCHW is supported");
  InputLayout layout;
  layout.batch = static_cast<int>(input.shape[0]);
  layout.channels = static_cast<int>(input.shape[1]);
  layout.height = static_cast<int>(input.shape[2]);
  layout.width = static_cast<int>(input.shape[3]);
  layout.order = meta.channel_order;
  if (layout.channels != 1 && layout.channels != 3)
    throw Error("the model's input '" + input.name + "' has " + std::to_string(layout.channels) +
                " channels; images give 1 (gray) or 3 (colour)");
  if ((meta.input_height != 0 && meta.input_height != layout.height) ||
      (meta.input_width != 0 && meta.input_width != layout.width))
    throw Error("the model's metadata says " + std::to_string(meta.input_height) + "x" +
                std::to_string(meta.input_width) + " images but its input '" + input.name + "' is " +
                std::to_string(layout.height) + "x" + std::to_string(layout.width));
  layout.mean = per_channel(meta.mean, layout.channels, 0.0f, "mean");
  layout.std = per_channel(meta.std, layout.channels, 1.0f, "std");
  return layout;
}

void preprocess(const Image& image, const InputLayout& layout, std::span<float> out) {
  if (out.size() != layout.image_elements())
    throw Error("preprocessing needs room for " + std::to_string(layout.image_elements()) + " values");
  if (image.width <= 0 || image.height <= 0 || image.channels < 1 || image.channels > 4 ||
      image.pixels.size() != static_cast<size_t>(image.width) * image.height * image.channels)
    throw Error("the image has an invalid size or channel count");

  // Channel conversion first, at the source size, so the resize filters the model's channels.
  const int c = layout.channels;
  const size_t src_pixels = static_cast<size_t>(image.width) * image.height;
  const bool colour = image.channels >= 3;
  std::vector<float> converted(src_pixels * c);
  for (size_t p = 0; p < src_pixels; ++p) {
    const uint8_t* px = &image.pixels[p * image.channels];
    const float r = px[0] / 255.0f;
    const float g = colour ? px[1] / 255.0f : r;
    const float b = colour ? px[2] / 255.0f : r;
    float* dst = &converted[p * c];
    if (c == 1 || layout.order == ChannelOrder::Gray) {
      const float luma = colour ? 0.299f * r + 0.587f * g + 0.114f * b : r;
      for (int k = 0; k < c; ++k) dst[k] = luma;
    } else if (layout.order == ChannelOrder::BGR) {
      dst[0] = b, dst[1] = g, dst[2] = r;
    } else {
      dst[0] = r, dst[1] = g, dst[2] = b;
    }
  }

  std::vector<float> resized;
  const std::vector<float>* hwc = &converted;
  if (image.width != layout.width || image.height != layout.height) {
    resized = resize_area(converted, image.width, image.height, layout.width, layout.height, c);
    hwc = &resized;
  }

  const size_t plane = static_cast<size_t>(layout.height) * layout.width;
  for (int k = 0; k < c; ++k) {
    const float mean = layout.mean[k], inv_std = 1.0f / layout.std[k];
    for (size_t p = 0; p < plane; ++p) out[k * plane + p] = ((*hwc)[p * c + k] - mean) * inv_std;
  }
}

std::vector<float> preprocess(const Image& image, const InputLayout& layout) {
  std::vector<float> out(layout.image_elements());
  preprocess(image, layout, out);
  return out;
}

}  // namespace vkbnn::io
