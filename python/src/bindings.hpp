#pragma once

#include <cstdint>
#include <vector>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include "vkbnn/network.hpp"

namespace vkbnn::python {

namespace py = pybind11;

// What NumPy arrays become on their way in: float32 in C order. An array that already is one is
// used in place; any other (float64, strided, a list) is converted once by NumPy.
using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;

// Hands the values to NumPy without copying them: the array owns the vector.
py::array_t<float> to_numpy(const std::vector<int64_t>& shape, std::vector<float>&& data);
inline py::array_t<float> to_numpy(Tensor&& tensor) { return to_numpy(tensor.shape, std::move(tensor.data)); }

void bind_engine(py::module_& m);
void bind_converter(py::module_& m);
void bind_images(py::module_& m);

}  // namespace vkbnn::python
