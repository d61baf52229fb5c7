// Context, Model and Network. The GIL is released while the engine works (building a Network,
// running it), so other Python threads run meanwhile.
#include <algorithm>
#include <mutex>
#include <optional>
#include <string>
#include <variant>

#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include "bindings.hpp"
#include "vkbnn/vkbnn.hpp"

namespace vkbnn::python {
namespace {

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text = "(";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + (shape.size() == 1 ? ",)" : ")");
}

std::string shape_text(const py::array& array) {
  return shape_text(std::vector<int64_t>(array.shape(), array.shape() + array.ndim()));
}

// A Network with a lock: Python threads that share one run it one at a time, and a run's
// profile and taps are not replaced while another thread reads them. Every method lets go of
// the GIL before it takes the lock, so a thread waiting for the lock never blocks the one
// holding it from getting the GIL back.
class PyNetwork {
 public:
  PyNetwork(Context& context, const Model& model, const NetworkOptions& options)
      : network_(context, model, options) {}

  enum class Form { Single, Sequence, Mapping };

  // A run submitted from Python, and how its outputs are to be returned.
  struct PyTicket {
    Ticket ticket;
    Form form = Form::Single;
  };

  // A single array gives a single array for a one-output model; a list or tuple gives a list in
  // the model's output order; a dict keyed by input names gives a dict keyed by output names.
  py::object run(const py::object& inputs) {
    Inputs given = parse(inputs);
    std::vector<Tensor> outputs;
    {
      py::gil_scoped_release released;
      std::lock_guard lock(mutex_);
      outputs = network_.run(given.spans);
    }
    return format(std::move(outputs), given.form);
  }

  // The inputs are copied into the run's staging memory before submit returns.
  PyTicket submit(const py::object& inputs) {
    Inputs given = parse(inputs);
    py::gil_scoped_release released;
    std::lock_guard lock(mutex_);
    return {network_.submit(given.spans), given.form};
  }

  // Not under this wrapper's lock: the Network lets go of its own while it blocks, so other
  // threads submit meanwhile.
  py::object wait(const PyTicket& ticket) {
    std::vector<Tensor> outputs;
    {
      py::gil_scoped_release released;
      outputs = network_.wait(ticket.ticket);
    }
    return format(std::move(outputs), ticket.form);
  }

  py::array_t<float> read_tensor(const std::string& name) {
    Tensor tensor;
    {
      py::gil_scoped_release released;
      std::lock_guard lock(mutex_);
      tensor = network_.read_tensor(name);
    }
    return to_numpy(std::move(tensor));
  }

  Profile last_profile() {
    py::gil_scoped_release released;
    std::lock_guard lock(mutex_);
    return network_.last_profile();
  }

  bool profiling() {
    py::gil_scoped_release released;
    std::lock_guard lock(mutex_);
    return network_.profiling();
  }

  void set_profiling(bool enabled) {
    py::gil_scoped_release released;
    std::lock_guard lock(mutex_);
    network_.set_profiling(enabled);
  }

  // Fixed when the Network is built, so read without the lock.
  const Network& network() const { return network_; }

 private:
  struct Inputs {
    std::vector<FloatArray> arrays;  // keeps converted arrays alive while `spans` point into them
    std::vector<std::span<const float>> spans;
    Form form = Form::Single;
  };

  Inputs parse(const py::object& inputs) const {
    const std::vector<TensorDesc>& wanted = network_.model().inputs();
    Inputs result;
    auto& arrays = result.arrays;
    if (py::isinstance<py::dict>(inputs)) {
      result.form = Form::Mapping;
      const py::dict given = inputs.cast<py::dict>();
      for (const TensorDesc& desc : wanted) {
        if (!given.contains(desc.name)) throw Error("no array was given for the input '" + desc.name + "'");
        arrays.push_back(py::cast<FloatArray>(given[py::str(desc.name)]));
      }
      if (given.size() != wanted.size())
        for (const auto& [key, value] : given) {
          const std::string name = py::str(key);
          if (std::none_of(wanted.begin(), wanted.end(), [&](const TensorDesc& d) { return d.name == name; }))
            throw Error("the model has no input named '" + name + "'");
        }
    } else if (py::isinstance<py::list>(inputs) || py::isinstance<py::tuple>(inputs)) {
      result.form = Form::Sequence;
      for (const py::handle item : inputs) arrays.push_back(py::cast<FloatArray>(item));
    } else {
      arrays.push_back(py::cast<FloatArray>(inputs));
    }
    if (arrays.size() != wanted.size())
      throw Error("the model has " + std::to_string(wanted.size()) + " input(s) but " + std::to_string(arrays.size()) +
                  " array(s) were given");
    for (size_t i = 0; i < arrays.size(); ++i) {
      // Like vkbnn-run, any shape with the input's element count is taken: C order makes e.g.
      // (1, 784) and (1, 1, 28, 28) the same values.
      if (static_cast<size_t>(arrays[i].size()) != wanted[i].elements())
        throw Error("the array for the input '" + wanted[i].name + "' has shape " + shape_text(arrays[i]) +
                    " but the input is " + shape_text(wanted[i].shape));
      result.spans.emplace_back(arrays[i].data(), static_cast<size_t>(arrays[i].size()));
    }
    return result;
  }

  py::object format(std::vector<Tensor> outputs, Form form) const {
    const std::vector<TensorDesc>& descs = network_.model().outputs();
    // float32 arrays, int64 ones for the outputs the model marks integer (ArgMax's indices) and
    // bool ones for those it marks boolean (comparisons).
    auto converted = [&]<typename T>(size_t i, T) -> py::object {
      py::array_t<T> values(std::vector<py::ssize_t>(outputs[i].shape.begin(), outputs[i].shape.end()));
      std::transform(outputs[i].data.begin(), outputs[i].data.end(), values.mutable_data(),
                     [](float v) { return static_cast<T>(v); });
      return values;
    };
    auto array = [&](size_t i) -> py::object {
      if (descs[i].integer) return converted(i, int64_t{});
      if (descs[i].boolean) return converted(i, bool{});
      return to_numpy(std::move(outputs[i]));
    };
    if (form == Form::Mapping) {
      py::dict result;
      for (size_t i = 0; i < outputs.size(); ++i) result[py::str(descs[i].name)] = array(i);
      return result;
    }
    if (form == Form::Single && outputs.size() == 1) return array(0);
    py::list result;
    for (size_t i = 0; i < outputs.size(); ++i) result.append(array(i));
    return result;
  }

  Network network_;
  std::mutex mutex_;
};

void bind_info_types(py::module_& m) {
  py::class_<DeviceInfo>(m, "DeviceInfo", "A Vulkan physical device and what it offers for inference")
      .def_readonly("index", &DeviceInfo::index)
      .def_readonly("name", &DeviceInfo::name)
      .def_readonly("type", &DeviceInfo::type)
      .def_readonly("driver", &DeviceInfo::driver)
      .def_readonly("api_version", &DeviceInfo::api_version)
      .def_readonly("vendor_id", &DeviceInfo::vendor_id)
      .def_readonly("device_id", &DeviceInfo::device_id)
      .def_readonly("timestamps", &DeviceInfo::timestamps)
      .def_readonly("storage_int8", &DeviceInfo::storage_int8)
      .def_readonly("integer_dot_product", &DeviceInfo::integer_dot_product)
      .def_readonly("float16", &DeviceInfo::float16)
      .def_readonly("subgroup_size", &DeviceInfo::subgroup_size)
      .def_readonly("device_local_bytes", &DeviceInfo::device_local_bytes)
      .def("__repr__", [](const DeviceInfo& d) { return "<vkbnn.DeviceInfo " + std::to_string(d.index) + ": " + d.name + ">"; })
      .def("__str__", [](const DeviceInfo& d) { return to_string(d); });

  py::enum_<ChannelOrder>(m, "ChannelOrder")
      .value("RGB", ChannelOrder::RGB)
      .value("BGR", ChannelOrder::BGR)
      .value("Gray", ChannelOrder::Gray);

  py::class_<ModelMetadata>(m, "ModelMetadata", "How the model's input is preprocessed, and its class labels")
      .def_readonly("input_height", &ModelMetadata::input_height)
      .def_readonly("input_width", &ModelMetadata::input_width)
      .def_readonly("layout", &ModelMetadata::layout)
      .def_readonly("channel_order", &ModelMetadata::channel_order)
      .def_readonly("mean", &ModelMetadata::mean)
      .def_readonly("std", &ModelMetadata::std)
      .def_readonly("labels", &ModelMetadata::labels)
      .def_readonly("description", &ModelMetadata::description);

  py::class_<TensorDesc>(m, "TensorDesc", "A model input or output: its name and shape")
      .def_readonly("name", &TensorDesc::name)
      .def_property_readonly("shape", [](const TensorDesc& t) { return py::tuple(py::cast(t.shape)); })
      .def_readonly("integer", &TensorDesc::integer,
                    "Whether the values are integers (run() returns them as int64, e.g. ArgMax's indices)")
      .def_readonly("boolean", &TensorDesc::boolean,
                    "Whether the values are booleans (run() returns them as bool, e.g. a comparison's)")
      .def("__repr__", [](const TensorDesc& t) { return "<vkbnn.TensorDesc '" + t.name + "' " + shape_text(t.shape) + ">"; });

  py::class_<LayerInfo>(m, "LayerInfo", "A layer of a Network as it was planned")
      .def_readonly("name", &LayerInfo::name)
      .def_readonly("op", &LayerInfo::op)
      .def_property_readonly("output_shape", [](const LayerInfo& l) { return py::tuple(py::cast(l.output_shape)); })
      .def_readonly("dispatches", &LayerInfo::dispatches)
      // A string, as it has always been (C++ has the Precision enum).
      .def_property_readonly(
          "precision", [](const LayerInfo& l) { return std::string(to_string(l.precision)); },
          "'fp32', 'int8', 'binary' (XNOR/popcount), 'bits' (packs or moves signs) or '-' (a view: Reshape)")
      .def_readonly("macs", &LayerInfo::macs)
      .def_readonly("weight_bytes", &LayerInfo::weight_bytes)
      .def_readonly("bytes", &LayerInfo::bytes)
      .def("__repr__", [](const LayerInfo& l) {
        return "<vkbnn.LayerInfo '" + l.name + "' " + l.op + " " + to_string(l.precision) + " " + shape_text(l.output_shape) + ">";
      });

  py::class_<LayerTiming>(m, "LayerTiming", "One layer's GPU time in a profiled run")
      .def_readonly("name", &LayerTiming::name)
      .def_readonly("op", &LayerTiming::op)
      .def_property_readonly("output_shape", [](const LayerTiming& l) { return py::tuple(py::cast(l.output_shape)); })
      .def_readonly("gpu_us", &LayerTiming::gpu_us)
      .def_readonly("start_us", &LayerTiming::start_us)
      .def("__repr__", [](const LayerTiming& l) {
        return "<vkbnn.LayerTiming '" + l.name + "' " + l.op + " " + std::to_string(l.gpu_us) + " us>";
      });

  py::class_<Profile>(m, "Profile",
                      "One run, timed: upload_us + submit_us + wait_us + readback_us = total_us; the layers' gpu_us "
                      "sum to at most gpu_us")
      .def_readonly("layers", &Profile::layers)
      .def_readonly("upload_us", &Profile::upload_us)
      .def_readonly("submit_us", &Profile::submit_us)
      .def_readonly("wait_us", &Profile::wait_us)
      .def_readonly("readback_us", &Profile::readback_us)
      .def_readonly("total_us", &Profile::total_us)
      .def_readonly("gpu_us", &Profile::gpu_us)
      .def_readonly("gpu_upload_us", &Profile::gpu_upload_us)
      .def_readonly("gpu_readback_us", &Profile::gpu_readback_us)
      .def("__repr__", [](const Profile& p) {
        return "<vkbnn.Profile " + std::to_string(p.layers.size()) + " layers, total " + std::to_string(p.total_us) +
               " us, GPU " + std::to_string(p.gpu_us) + " us>";
      });

  py::class_<MemoryReport>(m, "MemoryReport")
      .def_readonly("weight_bytes", &MemoryReport::weight_bytes)
      .def_readonly("weight_buffers", &MemoryReport::weight_buffers)
      .def_readonly("arena_bytes", &MemoryReport::arena_bytes)
      .def_readonly("naive_arena_bytes", &MemoryReport::naive_arena_bytes)
      .def_readonly("staging_bytes", &MemoryReport::staging_bytes);

  py::class_<LoadReport>(m, "LoadReport")
      .def_readonly("total_ms", &LoadReport::total_ms)
      .def_readonly("pipelines_ms", &LoadReport::pipelines_ms)
      .def_readonly("pipelines", &LoadReport::pipelines);
}

}  // namespace

void bind_engine(py::module_& m) {
  bind_info_types(m);

  py::class_<Context>(m, "Context", "A Vulkan instance and device that Networks run on")
      .def(py::init([](const std::optional<std::variant<uint32_t, std::string>>& device, bool validation,
                       bool pipeline_cache, bool subgroup_operations, bool integer_dot_product) {
             ContextOptions options;
             if (device) {
               if (const auto* index = std::get_if<uint32_t>(&*device)) options.device_index = *index;
               else options.device_name = std::get<std::string>(*device);
             }
             options.validation = validation;
             options.pipeline_cache = pipeline_cache;
             options.subgroup_operations = subgroup_operations;
             options.integer_dot_product = integer_dot_product;
             py::gil_scoped_release released;
             return std::make_unique<Context>(options);
           }),
           py::arg("device") = py::none(), py::kw_only(), py::arg("validation") = false,
           py::arg("pipeline_cache") = true, py::arg("subgroup_operations") = true,
           py::arg("integer_dot_product") = true,
           "device: an index or part of a device name (default: VKBNN_DEVICE, else the first discrete GPU, any "
           "GPU, any device). validation: the Khronos validation layer (also on with VKBNN_VALIDATION=1).")
      .def_static("list_devices", &Context::list_devices)
      .def_property_readonly("device", &Context::device)
      .def_property_readonly("validation_message_count", &Context::validation_message_count)
      .def_property_readonly("pipeline_cache_file", &Context::pipeline_cache_file)
      .def("__repr__", [](const Context& c) { return "<vkbnn.Context on " + c.device().name + ">"; });

  py::class_<Model>(m, "Model", "A verified .vkbnn model file")
      .def_static("load", &Model::load, py::arg("path"), "Loads and verifies a .vkbnn file; raises vkbnn.ModelError")
      .def_property_readonly("dynamic_batch", &Model::dynamic_batch,
                             "The batch the shapes are for in a model converted with dynamic_batch, else 0")
      .def("with_batch", &Model::with_batch, py::arg("batch"), "This model at another batch (needs a dynamic batch)")
      .def_property_readonly("dynamic_size", &Model::dynamic_size,
                             "Whether the model was converted with dynamic_size (runs at other input sizes)")
      .def("with_input_sizes", &Model::with_input_sizes, py::arg("sizes"),
           "This model at other input sizes: per input, the lengths of its axes after N and C ([] keeps its own); "
           "needs a model converted with dynamic_size")
      .def_static(
          "from_bytes",
          [](const py::buffer& data, const std::string& origin) {
            const py::buffer_info info = data.request();
            if (info.ndim != 1 || info.itemsize != 1 || (info.strides.size() == 1 && info.strides[0] != 1))
              throw py::type_error("Model.from_bytes takes bytes or a contiguous 1-D byte buffer");
            const auto* begin = static_cast<const uint8_t*>(info.ptr);
            return Model::from_bytes(std::vector<uint8_t>(begin, begin + info.size), origin);
          },
          py::arg("data"), py::arg("origin") = "<memory>")
      .def_property_readonly("metadata", &Model::metadata)
      .def_property_readonly("inputs", &Model::inputs)
      .def_property_readonly("outputs", &Model::outputs)
      .def_property_readonly("node_count", &Model::node_count)
      .def_property_readonly("weight_bytes", &Model::weight_bytes)
      .def_property_readonly("file_bytes", &Model::file_bytes)
      .def_property_readonly("origin", &Model::origin)
      .def("__repr__", [](const Model& model) {
        return "<vkbnn.Model " + model.origin() + ": " + std::to_string(model.node_count()) + " nodes>";
      });

  py::class_<PyNetwork::PyTicket>(m, "Ticket", "A run started by Network.submit, to collect once with Network.wait")
      .def_property_readonly("id", [](const PyNetwork::PyTicket& t) { return t.ticket.id(); })
      .def("__repr__", [](const PyNetwork::PyTicket& t) { return "<vkbnn.Ticket " + std::to_string(t.ticket.id()) + ">"; });

  py::class_<PyNetwork>(m, "Network",
                        "A model placed on a device. One Network may be shared by threads: their runs take turns.")
      .def(py::init([](Context& context, const Model& model, const std::vector<std::string>& taps, bool tap_all,
                       bool profiling, bool poison, uint32_t in_flight, int64_t batch, uint64_t max_buffer_range,
                       uint64_t max_device_memory, const std::optional<std::pair<int64_t, int64_t>>& input_size) {
             NetworkOptions options;
             options.in_flight = in_flight;
             options.batch = batch;
             options.max_buffer_range = max_buffer_range;
             options.max_device_memory = max_device_memory;
             if (input_size)
               for (const TensorDesc& input : model.inputs())
                 options.input_sizes.push_back(input.shape.size() == 4
                                                   ? std::vector<int64_t>{input_size->first, input_size->second}
                                                   : std::vector<int64_t>{});
             options.taps = taps;
             options.tap_all = tap_all;
             options.profiling = profiling;
             options.poison_arena = poison;
             py::gil_scoped_release released;
             return std::make_unique<PyNetwork>(context, model, options);
           }),
           py::arg("context"), py::arg("model"), py::kw_only(), py::arg("taps") = std::vector<std::string>{},
           py::arg("tap_all") = false, py::arg("profiling") = false, py::arg("poison_arena") = false,
           py::arg("in_flight") = 2, py::arg("batch") = 0, py::arg("max_buffer_range") = 0,
           py::arg("max_device_memory") = 0, py::arg("input_size") = py::none(), py::keep_alive<1, 2>(),
           "taps: tensor or layer names to keep readable with read_tensor(); profiling: per-layer GPU timestamps; "
           "in_flight: runs submit() may have pending; batch: another batch for a model converted with "
           "--dynamic-batch (0: the model's); max_buffer_range: bytes one buffer binding may span (0: the "
           "device's limit; weights beyond it are split over buffers); max_device_memory: bytes the network may "
           "allocate (0: what the device has left), beyond which it raises MemoryLimitError; input_size: (H, W) "
           "of every 4-D input, for a model converted with dynamic_size (None: the model's)")
      .def("run", &PyNetwork::run, py::arg("inputs"),
           "Runs the model. inputs: one array (-> one array, or a list for several outputs), a list of arrays in "
           "the model's input order (-> a list), or a dict input name -> array (-> a dict output name -> array). "
           "float32 C-order arrays are read in place; others are converted once.")
      .def("submit", &PyNetwork::submit, py::arg("inputs"),
           "Starts a run (inputs as for run(), copied before it returns) and returns its Ticket; the GIL is "
           "released meanwhile")
      .def("wait", &PyNetwork::wait, py::arg("ticket"),
           "The outputs of a submitted run, in the form run() gives them, blocking (without the GIL) until the "
           "GPU has done it. Each ticket is waited for once, in any order.")
      .def("read_tensor", &PyNetwork::read_tensor, py::arg("name"),
           "A tapped tensor (or an output) of the latest run, by tensor or layer name")
      .def("last_profile", &PyNetwork::last_profile, "The profile of the latest run (no layers when profiling is off)")
      .def_property("profiling", &PyNetwork::profiling, &PyNetwork::set_profiling)
      .def("layers", [](const PyNetwork& n) { return n.network().layers(); })
      .def("memory", [](const PyNetwork& n) { return n.network().memory(); })
      .def_property_readonly("load_report", [](const PyNetwork& n) { return n.network().load_report(); })
      .def_property_readonly("model", [](const PyNetwork& n) { return n.network().model(); })
      .def_property_readonly("inputs", [](const PyNetwork& n) { return n.network().model().inputs(); })
      .def_property_readonly("outputs", [](const PyNetwork& n) { return n.network().model().outputs(); });
}

}  // namespace vkbnn::python
