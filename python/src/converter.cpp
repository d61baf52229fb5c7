// vkbnn.convert: the converter library (ONNX in, .vkbnn out), int8 calibration included.
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include <pybind11/functional.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include "bindings.hpp"
#include "converter.hpp"
#include "vkbnn/io/datasets.hpp"
#include "vkbnn/io/files.hpp"

namespace vkbnn::python {
namespace {

namespace fs = std::filesystem;

convert::CalibrationMethod calibration_method(const std::string& name) {
  using Method = convert::CalibrationMethod;
  static const std::map<std::string, Method> kMethods{{"minmax", Method::MinMax},   {"percentile", Method::Percentile},
                                                      {"entropy", Method::Entropy}, {"mse", Method::Mse},
                                                      {"auto", Method::Auto}};
  const auto found = kMethods.find(name);
  if (found == kMethods.end())
    throw Error("calib_method: '" + name + "' is not one of minmax, percentile, entropy, mse, auto");
  return found->second;
}

// Calibration samples given as arrays: one array whose first axis counts the samples, or a list
// of arrays, one per sample. Copied here, before the GIL is let go.
std::vector<std::vector<float>> samples_from(const py::handle& calib) {
  std::vector<std::vector<float>> samples;
  if (py::isinstance<py::list>(calib) || py::isinstance<py::tuple>(calib)) {
    for (const py::handle item : calib) {
      const FloatArray array = py::cast<FloatArray>(item);
      samples.emplace_back(array.data(), array.data() + array.size());
    }
  } else {
    const FloatArray array = py::cast<FloatArray>(calib);
    if (array.ndim() < 1 || array.shape(0) == 0) throw Error("calib: the array holds no samples");
    const size_t count = static_cast<size_t>(array.shape(0));
    const size_t each = static_cast<size_t>(array.size()) / count;
    for (size_t i = 0; i < count; ++i) samples.emplace_back(array.data() + i * each, array.data() + (i + 1) * each);
  }
  if (samples.empty()) throw Error("calib: no samples were given");
  return samples;
}

py::object no_value() { return py::none(); }

}  // namespace

void bind_converter(py::module_& m) {
  py::class_<convert::NodeSummary>(m, "NodeSummary", "A node of the converted graph")
      .def_readonly("name", &convert::NodeSummary::name)
      .def_readonly("op", &convert::NodeSummary::op)
      .def_property_readonly("output_shape",
                             [](const convert::NodeSummary& n) { return py::tuple(py::cast(n.output_shape)); })
      .def_readonly("activation", &convert::NodeSummary::activation)
      .def_readonly("params", &convert::NodeSummary::params)
      .def_readonly("precision", &convert::NodeSummary::precision);

  py::class_<convert::LayerQuantization>(m, "LayerQuantization", "How an int8 layer's output range was chosen")
      .def_readonly("node", &convert::LayerQuantization::node)
      .def_readonly("op", &convert::LayerQuantization::op)
      .def_readonly("method", &convert::LayerQuantization::method)
      .def_readonly("lo", &convert::LayerQuantization::lo)
      .def_readonly("hi", &convert::LayerQuantization::hi)
      .def_readonly("scale", &convert::LayerQuantization::scale)
      .def_readonly("zero_point", &convert::LayerQuantization::zero_point)
      .def_readonly("sqnr_db", &convert::LayerQuantization::sqnr_db);

  py::class_<convert::Summary>(m, "ConversionSummary", "What the converter wrote; str() is vkbnn-convert's table")
      .def_readonly("nodes", &convert::Summary::nodes)
      .def_readonly("onnx_nodes", &convert::Summary::onnx_nodes)
      .def_readonly("folded_constants", &convert::Summary::folded_constants)
      .def_readonly("folded_batchnorms", &convert::Summary::folded_batchnorms)
      .def_readonly("fused_activations", &convert::Summary::fused_activations)
      .def_readonly("weight_bytes", &convert::Summary::weight_bytes)
      .def_readonly("fp32_weight_bytes", &convert::Summary::fp32_weight_bytes)
      .def_readonly("file_bytes", &convert::Summary::file_bytes)
      .def_readonly("notes", &convert::Summary::notes)
      .def_readonly("quantization", &convert::Summary::quantization)
      .def("__str__", &convert::format_summary);

  m.def(
      "convert",
      [](const fs::path& onnx_path, const fs::path& out_path, const std::optional<std::string>& quantize,
         const py::object& calib, size_t calib_count, const std::string& calib_method,
         const std::vector<std::string>& keep_fp32, const std::optional<std::pair<int64_t, int64_t>>& input_size,
         const std::vector<float>& mean, const std::vector<float>& std, const std::vector<std::string>& labels,
         const std::optional<ChannelOrder>& channel_order, const std::string& description,
         const std::optional<std::function<void(size_t, size_t)>>& progress, int64_t batch, bool dynamic_batch,
         bool dynamic_size) {
        convert::Options options;
        options.input_size = input_size;
        options.batch = batch;
        options.dynamic_batch = dynamic_batch;
        options.dynamic_size = dynamic_size;
        options.mean = mean;
        options.std = std;
        options.labels = labels;
        options.channel_order = channel_order;
        options.description = description;
        if (!quantize && (!calib.is_none() || !keep_fp32.empty()))
          throw Error("calib and keep_fp32 apply only with quantize='int8'");
        if (quantize) {
          if (*quantize != "int8") throw Error("quantize: '" + *quantize + "' is not supported; use 'int8'");
          if (calib.is_none())
            throw Error("quantize='int8' needs calibration data: calib=FOLDER, IDX file or an array of samples");
          if (calib_count == 0) throw Error("calib_count must be positive");
          convert::QuantizeOptions q;
          q.method = calibration_method(calib_method);
          q.keep_fp32 = keep_fp32;
          if (py::isinstance<py::str>(calib) || py::hasattr(calib, "__fspath__")) {
            const fs::path folder = calib.cast<fs::path>();
            q.calibration = [folder, calib_count](const Model& fp32) {
              return io::calibration_samples(folder, calib_count, fp32);
            };
          } else {
            std::vector<std::vector<float>> samples = samples_from(calib);
            if (samples.size() > calib_count) samples.resize(calib_count);
            q.calibration = [samples = std::move(samples)](const Model& fp32) {
              const size_t wanted = fp32.inputs().at(0).elements();
              for (size_t i = 0; i < samples.size(); ++i)
                if (samples[i].size() != wanted)
                  throw Error("calib: sample " + std::to_string(i) + " has " + std::to_string(samples[i].size()) +
                              " values but the model's input has " + std::to_string(wanted));
              return samples;
            };
          }
          if (progress) {
            q.progress = [callback = *progress](size_t done, size_t total) {
              py::gil_scoped_acquire acquired;
              callback(done, total);
            };
          }
          options.quantize = std::move(q);
        }
        convert::Result result;
        {
          py::gil_scoped_release released;
          result = convert::convert_model(convert::load_onnx(onnx_path), options);
          io::write_file(out_path, result.bytes);
        }
        return result.summary;
      },
      py::arg("onnx_path"), py::arg("out_path"), py::kw_only(), py::arg("quantize") = no_value(),
      py::arg("calib") = no_value(), py::arg("calib_count") = 500, py::arg("calib_method") = "auto",
      py::arg("keep_fp32") = std::vector<std::string>{}, py::arg("input_size") = no_value(),
      py::arg("mean") = std::vector<float>{}, py::arg("std") = std::vector<float>{},
      py::arg("labels") = std::vector<std::string>{}, py::arg("channel_order") = no_value(),
      py::arg("description") = "", py::arg("progress") = no_value(), py::arg("batch") = 1,
      py::arg("dynamic_batch") = false, py::arg("dynamic_size") = false,
      "Converts an ONNX model to a .vkbnn file, as vkbnn-convert does, and returns the summary. quantize='int8' "
      "quantizes after training, calibrated on calib: a folder of images or an IDX file (preprocessed as the "
      "model's metadata says, at most calib_count of them), or preprocessed samples (an array whose first axis "
      "counts them, or a list of arrays). progress(done, total) is called after each calibration run. batch and "
      "dynamic_batch as vkbnn-convert's --batch and --dynamic-batch, dynamic_size as --dynamic-size.");
}

}  // namespace vkbnn::python
