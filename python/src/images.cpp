// The tools' image decoding and preprocessing, so Python feeds a model exactly what vkbnn-run
// and vkbnn-eval feed it.
#include <pybind11/stl/filesystem.h>

#include "bindings.hpp"
#include "vkbnn/error.hpp"
#include "vkbnn/io/image_input.hpp"

namespace vkbnn::python {
namespace {

py::array_t<float> prepared(const io::Image& image, const Model& model) {
  const io::InputLayout layout = io::input_layout(model);
  return to_numpy({1, layout.channels, layout.height, layout.width}, io::preprocess(image, layout));
}

}  // namespace

void bind_images(py::module_& m) {
  m.def(
      "load_image",
      [](const std::filesystem::path& path, const Model& model) {
        io::Image image;
        {
          py::gil_scoped_release released;
          image = io::load_image(path);
        }
        return prepared(image, model);
      },
      py::arg("path"), py::arg("model"),
      "Decodes an image file (PNG, JPEG, BMP, ...) and preprocesses it as the model's metadata says (channels, "
      "size, mean and std): one float32 array (1, C, H, W)");
  m.def(
      "preprocess",
      [](const py::array_t<uint8_t, py::array::c_style | py::array::forcecast>& pixels, const Model& model) {
        if ((pixels.ndim() != 2 && pixels.ndim() != 3) || pixels.shape(0) == 0 || pixels.shape(1) == 0)
          throw Error("preprocess takes an H x W or H x W x C array of 8-bit pixels");
        const py::ssize_t channels = pixels.ndim() == 3 ? pixels.shape(2) : 1;
        if (channels < 1 || channels > 4) throw Error("preprocess: the pixels have " + std::to_string(channels) +
                                                      " channels; 1 (gray), 2 (gray, alpha), 3 (RGB) or 4 (RGBA) work");
        const io::Image image{static_cast<int>(pixels.shape(1)), static_cast<int>(pixels.shape(0)),
                                 static_cast<int>(channels),
                                 std::vector<uint8_t>(pixels.data(), pixels.data() + pixels.size())};
        return prepared(image, model);
      },
      py::arg("pixels"), py::arg("model"),
      "Preprocesses 8-bit pixels (H x W gray, or H x W x C with C = 1 to 4, RGB order) as the model's metadata "
      "says: one float32 array (1, C, H, W)");
}

}  // namespace vkbnn::python
