#pragma once

// ONNX to .vkbnn conversion as a library: vkbnn-convert is a thin command line over it, and the
// tests use it to convert graphs they build or load.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <onnx/onnx_pb.h>

#include "vkbnn/error.hpp"
#include "vkbnn/model.hpp"

namespace vkbnn::convert {

// The model uses an op, attribute or shape the engine cannot run (as opposed to a model that is
// malformed). what() names the op type and the node.
class UnsupportedError : public ModelError {
 public:
  using ModelError::ModelError;
};

// A defect of the converter itself (an exception no check anticipated); the fuzz tests fail on it.
class InternalError : public Error {
 public:
  using Error::Error;
};

// How an activation tensor's int8 range is chosen from its calibration histogram.
enum class CalibrationMethod {
  MinMax,      // the whole observed range
  Percentile,  // 99.99th percentile at each end
  Entropy,     // the clip point that minimises the KL divergence (TensorRT's calibrator)
  Mse,         // the range that minimises the mean squared quantization error
  Auto,        // per tensor, whichever of the four gives the least squared error
};

struct QuantizeOptions {
  // Preprocessed samples of the model's only input, as Network::run takes them, given the
  // model converted to fp32 (whose metadata says how to preprocess).
  std::function<std::vector<std::vector<float>>(const Model& fp32)> calibration;
  CalibrationMethod method = CalibrationMethod::Auto;
  std::vector<std::string> keep_fp32;  // node names (as the summary lists them) left in fp32
  // Called after each calibration run with (done, total); total counts both passes.
  std::function<void(size_t, size_t)> progress;
  size_t sqnr_samples = 16;  // calibration samples the quantization error is measured on
};

struct Options {
  // H, W of 4-D inputs (of a model with several inputs, only where they are dynamic).
  std::optional<std::pair<int64_t, int64_t>> input_size;
  // The first dimension of every input where the model leaves it dynamic.
  int64_t batch = 1;
  // The first dimension of every input is the batch (set to `batch`, dynamic or not), and the
  // model records which axis of each activation follows it, so that a Network may be built for
  // another batch (NetworkOptions::batch). The converter checks it by converting again at
  // batch + 1 and comparing; a model whose ops or constants depend on the batch is refused.
  bool dynamic_batch = false;
  // The model is converted at its given or declared input size, and marked size-generic, so that
  // a Network may be built for other lengths of the inputs' axes after N and C
  // (NetworkOptions::input_sizes). The converter checks it by converting again at twice the size
  // and comparing with what the engine derives; a model that pins the size (a Reshape to fixed
  // lengths, a Resize to fixed sizes, a fully connected layer on flattened spatial features) is
  // refused, naming the node.
  bool dynamic_size = false;
  // Whole shapes of named inputs (multi-input models); they take precedence over input_size and
  // batch, and may replace static dimensions too.
  std::map<std::string, std::vector<int64_t>> input_shapes;
  std::vector<float> mean;                                 // per input channel; default 0
  std::vector<float> std;                                  // per input channel; default 1
  std::vector<std::string> labels;
  std::optional<ChannelOrder> channel_order;  // default RGB for 3 channels, Gray for 1
  std::string description;
  // Post-training int8 quantization; needs a Vulkan device to run the calibration.
  std::optional<QuantizeOptions> quantize;
};

struct NodeSummary {
  std::string name;
  std::string op;
  std::vector<int64_t> output_shape;
  std::string activation;  // empty when nothing is fused
  size_t params = 0;       // elements of the node's constant inputs
  std::string precision;   // "binary", "binary+EL" (Elastic-Link fused), "int8", "fp32", or "-" (no arithmetic)
  // Why a layer whose input is binarized (or that looks binary) stayed real; empty otherwise.
  std::string note;
};

// One int8 layer's output: how its range was chosen and what quantization costs there.
struct LayerQuantization {
  std::string node;
  std::string op;
  std::string method;
  float lo = 0, hi = 0;  // the real range the int8 values cover
  float scale = 0;
  int32_t zero_point = 0;
  // 10 log10(sum x^2 / sum (x - x_int8)^2) of the int8 model's tensor against the fp32 model's,
  // over the calibration samples measured: the error accumulated up to this layer.
  double sqnr_db = 0;
};

struct Summary {
  std::vector<NodeSummary> nodes;
  size_t onnx_nodes = 0;
  size_t folded_constants = 0;  // ONNX nodes evaluated at conversion time
  size_t folded_batchnorms = 0;
  size_t fused_activations = 0;
  size_t weight_bytes = 0;
  size_t fp32_weight_bytes = 0;  // the same weights stored as fp32
  size_t file_bytes = 0;
  std::vector<std::string> notes;
  std::vector<LayerQuantization> quantization;  // int8 layers, in graph order
};

struct Result {
  std::vector<uint8_t> bytes;
  Summary summary;
};

// Reads an ONNX file; throws ModelError with one line when it is missing or unparseable.
onnx::ModelProto load_onnx(const std::filesystem::path& path);

// Turns graph inputs into initializers holding the given tensors (keyed by input name), e.g.
// weights that a test feeds as inputs. Throws ModelError when a name is not a graph input.
void bind_inputs(onnx::ModelProto& model, const std::map<std::string, onnx::TensorProto>& values);

// Runs the whole pipeline: checking, static shapes, constant folding, BatchNormalization folding,
// activation fusion, mapping to vkbnn ops, and the engine's checks of the written model. Throws
// UnsupportedError or ModelError for the model's faults, InternalError for the converter's; no
// other exception leaves it.
Result convert_model(onnx::ModelProto model, const Options& options = {});
std::vector<uint8_t> convert(onnx::ModelProto model, const Options& options = {});

// What the converter accepts (vkbnn-convert --list-ops, the README's table): each group of ONNX
// op types one lowering handles, with what of them is supported.
struct SupportedOps {
  std::vector<std::string> onnx_ops;
  std::string notes;
};
std::vector<SupportedOps> supported_ops();
// The op types evaluated at conversion time when all their inputs are constants and not lowered
// otherwise (Shape, Gather, ConstantOfShape, ...).
std::vector<std::string> folded_only_ops();

// The node table and totals vkbnn-convert prints.
std::string format_summary(const Summary& summary);

}  // namespace vkbnn::convert
