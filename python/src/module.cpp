// The vkbnn Python module: the engine (Context, Model, Network), the converter and the tools'
// image preprocessing, with the engine's exceptions as Python exceptions.
#include <memory>

#include "bindings.hpp"
#include "converter.hpp"
#include "vkbnn/error.hpp"

namespace vkbnn::python {

py::array_t<float> to_numpy(const std::vector<int64_t>& shape, std::vector<float>&& data) {
  auto owned = std::make_unique<std::vector<float>>(std::move(data));
  const float* values = owned->data();
  py::capsule owner(owned.get(), [](void* p) { delete static_cast<std::vector<float>*>(p); });
  owned.release();
  return py::array_t<float>(std::vector<py::ssize_t>(shape.begin(), shape.end()), values, owner);
}

}  // namespace vkbnn::python

PYBIND11_MODULE(_vkbnn, m) {
  namespace py = vkbnn::python::py;
  m.doc() = "vkbnn: Vulkan compute inference for compressed CNNs (binary, int8, fp32)";
  m.attr("__version__") = VKBNN_VERSION;

  // Translators are tried newest first, so the base class is registered before its subclasses.
  auto& error = py::register_local_exception<vkbnn::Error>(m, "Error", PyExc_RuntimeError);
  auto& model_error = py::register_local_exception<vkbnn::ModelError>(m, "ModelError", error.ptr());
  py::register_local_exception<vkbnn::convert::UnsupportedError>(m, "UnsupportedError", model_error.ptr());
  py::register_local_exception<vkbnn::VulkanError>(m, "VulkanError", error.ptr());
  py::register_local_exception<vkbnn::MemoryLimitError>(m, "MemoryLimitError", error.ptr());

  vkbnn::python::bind_engine(m);
  vkbnn::python::bind_converter(m);
  vkbnn::python::bind_images(m);
}
