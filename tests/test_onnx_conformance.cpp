// ONNX's own node tests (the libonnx-testdata package) through the converter and the engine.
// Every case that uses one of the supported ops is run. The cases the converter declares
// unsupported (3-D pooling, integer types, training mode, ...) are a pinned list with the
// reason each must give: a case that newly becomes unsupported, one that fails for another
// reason, and one on the list that starts to convert all fail the test, as does a wrong number.

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "converter/converter.hpp"
#include "support/onnx_graph.hpp"
#include "support/test_support.hpp"

namespace vkbnn::test {
namespace {

namespace fs = std::filesystem;

const std::set<std::string> kCoveredOps = {
    "Conv", "Gemm", "MatMul", "Relu", "BatchNormalization", "MaxPool", "AveragePool", "GlobalAveragePool",
    "GlobalMaxPool", "Add", "Mul", "Sub", "Div", "PRelu", "Clip", "LeakyRelu", "Sigmoid", "HardSigmoid",
    "HardSwish", "Concat", "Flatten", "Reshape", "Squeeze", "Unsqueeze", "Softmax", "Pad", "Transpose",
    "Resize", "Upsample", "Slice", "Split", "Erf", "Tanh", "Exp", "Log", "Sqrt", "Reciprocal", "Abs", "Neg",
    "Softplus", "Mish", "Pow", "Min", "Max", "ConvTranspose", "Gather", "DepthToSpace", "SpaceToDepth", "Expand",
    "Tile", "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceL1", "ReduceL2", "ReduceSumSquare",
    "LayerNormalization", "InstanceNormalization", "ArgMax", "ArgMin", "Einsum", "Mod", "Floor", "Ceil", "Round",
    "Cast", "Equal", "Greater", "GreaterOrEqual", "Less", "LessOrEqual", "And", "Or", "Xor", "Not", "Where", "Sign"};

// Ops whose inputs after the first are weights or parameters, which the converter needs as
// constants; the test data feeds them as inputs.
const std::set<std::string> kConstantOperands = {
    "Conv", "Gemm", "MatMul", "PRelu", "BatchNormalization", "Clip", "Pad", "Reshape", "Squeeze", "Unsqueeze",
    "Resize", "Upsample", "Slice", "Split", "ConvTranspose", "Gather", "Expand", "Tile", "ReduceMean", "ReduceSum",
    "ReduceMax", "ReduceMin", "ReduceL1", "ReduceL2", "ReduceSumSquare", "LayerNormalization",
    "InstanceNormalization"};

fs::path data_dir() {
  if (const char* dir = std::getenv("VKBNN_ONNX_TESTDATA")) return dir;
  return "/usr/share/libonnx-testdata/data/node";
}

onnx::TensorProto read_tensor(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  onnx::TensorProto t;
  if (!in || !t.ParseFromIstream(&in)) throw Error(path.string() + ": not a TensorProto");
  return t;
}

// Test data files sorted by their number: input_0.pb, input_1.pb, ..., input_10.pb.
std::vector<fs::path> numbered(const fs::path& dir, const std::string& prefix) {
  std::vector<std::pair<int, fs::path>> found;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) == 0 && entry.path().extension() == ".pb")
      found.emplace_back(std::stoi(name.substr(prefix.size())), entry.path());
  }
  std::sort(found.begin(), found.end());
  std::vector<fs::path> paths;
  for (auto& [index, path] : found) paths.push_back(path);
  return paths;
}

bool is_integer(const onnx::TensorProto& t) {
  switch (t.data_type()) {
    case onnx::TensorProto_DataType_INT16: case onnx::TensorProto_DataType_UINT16:
    case onnx::TensorProto_DataType_INT32: case onnx::TensorProto_DataType_UINT32:
    case onnx::TensorProto_DataType_INT64: case onnx::TensorProto_DataType_UINT64:
      return true;
    default:
      return false;
  }
}

// The values of raw_data as T, or of the typed field.
template <typename T, typename Field>
std::vector<float> values_of(const onnx::TensorProto& t, const Field& field) {
  if (!t.has_raw_data()) return {field.begin(), field.end()};
  std::vector<T> values(t.raw_data().size() / sizeof(T));
  std::memcpy(values.data(), t.raw_data().data(), values.size() * sizeof(T));
  return {values.begin(), values.end()};
}

// Float tensors, and integer and boolean ones (ArgMax's indices, the operands and results of
// integer arithmetic, comparisons' results), which the engine carries as exact floats (booleans
// as 0 and 1).
std::vector<float> floats_of(const onnx::TensorProto& t) {
  switch (t.data_type()) {
    case onnx::TensorProto_DataType_FLOAT: return values_of<float>(t, t.float_data());
    case onnx::TensorProto_DataType_DOUBLE: return values_of<double>(t, t.double_data());
    case onnx::TensorProto_DataType_INT64: return values_of<int64_t>(t, t.int64_data());
    case onnx::TensorProto_DataType_UINT64: return values_of<uint64_t>(t, t.uint64_data());
    case onnx::TensorProto_DataType_UINT32: return values_of<uint32_t>(t, t.uint64_data());
    case onnx::TensorProto_DataType_INT32: return values_of<int32_t>(t, t.int32_data());
    case onnx::TensorProto_DataType_INT16: return values_of<int16_t>(t, t.int32_data());
    case onnx::TensorProto_DataType_UINT16: return values_of<uint16_t>(t, t.int32_data());
    case onnx::TensorProto_DataType_BOOL: return values_of<uint8_t>(t, t.int32_data());
    default: throw Error("tensor '" + t.name() + "' is neither float32/64, a 16- to 64-bit integer nor a bool");
  }
}

// Graph inputs that the converter must see as constants, by the op that consumes them.
std::set<std::string> constant_inputs(const onnx::GraphProto& graph,
                                      const std::map<std::string, onnx::TensorProto>& fed) {
  std::set<std::string> data, weights;
  for (const auto& node : graph.node()) {
    for (int k = 0; k < node.input_size(); ++k) {
      const std::string& name = node.input(k);
      if (!fed.count(name)) continue;
      const bool weight = k > 0 && kConstantOperands.count(node.op_type());
      (weight ? weights : data).insert(name);
    }
  }
  std::set<std::string> result;
  std::set_difference(weights.begin(), weights.end(), data.begin(), data.end(), std::inserter(result, result.end()));
  return result;
}

enum class Outcome { Passed, Failed, Unsupported };

struct CaseResult {
  std::string name;
  Outcome outcome;
  std::string detail;
};

CaseResult run_case(const fs::path& dir, const onnx::ModelProto& model) {
  const std::string name = dir.filename().string();
  std::set<std::string> initializers;
  for (const auto& t : model.graph().initializer()) initializers.insert(t.name());
  std::vector<std::string> input_names;
  for (const auto& v : model.graph().input())
    if (!initializers.count(v.name())) input_names.push_back(v.name());

  std::vector<fs::path> sets;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_directory() && entry.path().filename().string().rfind("test_data_set_", 0) == 0)
      sets.push_back(entry.path());
  std::sort(sets.begin(), sets.end());
  if (sets.empty()) return {name, Outcome::Failed, "no test data sets"};

  for (const auto& set : sets) {
    auto input_files = numbered(set, "input_");
    auto output_files = numbered(set, "output_");
    if (input_files.size() != input_names.size())
      return {name, Outcome::Failed, "test data has " + std::to_string(input_files.size()) + " inputs, the model " +
                                         std::to_string(input_names.size())};
    std::map<std::string, onnx::TensorProto> fed;
    for (size_t i = 0; i < input_files.size(); ++i) fed[input_names[i]] = read_tensor(input_files[i]);
    std::set<std::string> bound = constant_inputs(model.graph(), fed);

    onnx::ModelProto prepared = model;
    std::map<std::string, onnx::TensorProto> bindings;
    for (const auto& b : bound) bindings[b] = fed.at(b);
    convert::bind_inputs(prepared, bindings);
    // Before IR version 4 an initializer had to be a graph input too (the InstanceNormalization
    // cases are IR 3); the bound inputs are initializers only.
    if (!bindings.empty() && prepared.ir_version() < 4) prepared.set_ir_version(4);

    std::vector<uint8_t> bytes;
    try {
      bytes = convert::convert(prepared);
    } catch (const convert::UnsupportedError& e) {
      return {name, Outcome::Unsupported, e.what()};
    } catch (const std::exception& e) {
      return {name, Outcome::Failed, std::string("conversion failed: ") + e.what()};
    }

    try {
      std::vector<std::vector<float>> inputs;
      for (const auto& input : input_names)
        if (!bound.count(input)) inputs.push_back(floats_of(fed.at(input)));
      auto outputs = run_model(bytes, inputs);
      const Model converted = Model::from_bytes(bytes);
      if (outputs.size() != output_files.size())
        return {name, Outcome::Failed, "the model gives " + std::to_string(outputs.size()) + " outputs, expected " +
                                           std::to_string(output_files.size())};
      for (size_t o = 0; o < outputs.size(); ++o) {
        auto expected = read_tensor(output_files[o]);
        auto expected_values = floats_of(expected);
        const bool integer = is_integer(expected);
        if (converted.outputs()[o].integer != integer)
          return {name, Outcome::Failed, "output " + std::to_string(o) + (integer ? " is" : " is not") +
                                             " an integer, but the model marks it otherwise"};
        const bool boolean = expected.data_type() == onnx::TensorProto_DataType_BOOL;
        if (converted.outputs()[o].boolean != boolean)
          return {name, Outcome::Failed, "output " + std::to_string(o) + (boolean ? " is" : " is not") +
                                             " a boolean, but the model marks it otherwise"};
        if (outputs[o].data.size() != expected_values.size())
          return {name, Outcome::Failed, "output " + std::to_string(o) + " has " +
                                             std::to_string(outputs[o].data.size()) + " values, expected " +
                                             std::to_string(expected_values.size())};
        auto close = all_close(outputs[o].data, expected_values, integer ? 0.0f : 1e-4f, integer ? 0.0f : 1e-5f);
        if (!close)
          return {name, Outcome::Failed, set.filename().string() + " output " + std::to_string(o) + ": " +
                                             close.message()};
      }
    } catch (const std::exception& e) {
      return {name, Outcome::Failed, std::string("running failed: ") + e.what()};
    }
  }
  return {name, Outcome::Passed, ""};
}

// The covered cases the converter rejects, each with what its message must say. Adding support
// for one means removing it here (the test says so).
const std::map<std::string, std::string> kUnsupportedCases = {
    // vkbnn's LayerNorm has one output; these cases also ask for the statistics.
    {"test_layer_normalization_2d_axis0", "the Mean and InvStdDev outputs"},
    {"test_layer_normalization_2d_axis1", "the Mean and InvStdDev outputs"},
    {"test_layer_normalization_2d_axis_negative_1", "the Mean and InvStdDev outputs"},
    {"test_layer_normalization_2d_axis_negative_2", "the Mean and InvStdDev outputs"},
    {"test_layer_normalization_3d_axis0_epsilon", "the Mean and InvStdDev outputs"},
    {"test_layer_normalization_3d_axis1_epsilon", "the Mean and InvStdDev outputs"},
    {"test_layer_normalization_3d_axis2_epsilon", "the Mean and InvStdDev outputs"},
    {"test_layer_normalization_3d_axis_negative_1_epsilon", "the Mean and InvStdDev outputs"},
    {"test_layer_normalization_3d_axis_negative_2_epsilon", "the Mean and InvStdDev outputs"},
    {"test_layer_normalization_3d_axis_negative_3_epsilon", "the Mean and InvStdDev outputs"},
    {"test_layer_normalization_4d_axis0", "the Mean and InvStdDev outputs"},
    {"test_layer_normalization_4d_axis1", "the Mean and InvStdDev outputs"},
    {"test_layer_normalization_4d_axis2", "the Mean and InvStdDev outputs"},
    {"test_layer_normalization_4d_axis3", "the Mean and InvStdDev outputs"},
    {"test_layer_normalization_4d_axis_negative_1", "the Mean and InvStdDev outputs"},
    {"test_layer_normalization_4d_axis_negative_2", "the Mean and InvStdDev outputs"},
    {"test_layer_normalization_4d_axis_negative_3", "the Mean and InvStdDev outputs"},
    {"test_layer_normalization_4d_axis_negative_4", "the Mean and InvStdDev outputs"},
    {"test_layer_normalization_default_axis", "the Mean and InvStdDev outputs"},
    {"test_add_uint8", "has type UINT8; only float and integer"},
    {"test_averagepool_3d_default", "pooling that is not 2-D"},
    {"test_batchnorm_epsilon_training_mode", "training_mode=1"},
    {"test_batchnorm_example_training_mode", "training_mode=1"},
    {"test_clip_default_int8_inbounds", "has type INT8; only float and integer"},
    {"test_convtranspose_3d", "a transposed convolution that is not 2-D"},
    {"test_clip_default_int8_max", "has type INT8; only float and integer"},
    {"test_clip_default_int8_min", "has type INT8; only float and integer"},
    {"test_div_uint8", "has type UINT8; only float and integer"},
    // ONNX's Einsum cases are all float64.
    {"test_einsum_batch_diagonal", "has type DOUBLE; only float and integer"},
    {"test_einsum_batch_matmul", "has type DOUBLE; only float and integer"},
    {"test_einsum_inner_prod", "has type DOUBLE; only float and integer"},
    {"test_einsum_sum", "has type DOUBLE; only float and integer"},
    {"test_einsum_transpose", "has type DOUBLE; only float and integer"},
    {"test_gemm_all_attributes", "transA=1 on a computed input"},
    {"test_gemm_transposeA", "transA=1 on a computed input"},
    {"test_max_float16", "has type FLOAT16; only float and integer"},
    {"test_max_float64", "has type DOUBLE; only float and integer"},
    {"test_max_int8", "has type INT8; only float and integer"},
    {"test_max_uint8", "has type UINT8; only float and integer"},
    {"test_maxpool_2d_uint8", "has type UINT8; only float and integer"},
    {"test_maxpool_3d_default", "pooling that is not 2-D"},
    {"test_maxpool_with_argmax_2d_precomputed_pads", "the Indices output"},
    {"test_maxpool_with_argmax_2d_precomputed_strides", "the Indices output"},
    {"test_min_float16", "has type FLOAT16; only float and integer"},
    {"test_min_float64", "has type DOUBLE; only float and integer"},
    {"test_min_int8", "has type INT8; only float and integer"},
    {"test_min_uint8", "has type UINT8; only float and integer"},
    {"test_mul_uint8", "has type UINT8; only float and integer"},
    {"test_reshape_allowzero_reordered", "is empty (dimension 0 is 0)"},
    {"test_resize_downsample_scales_cubic", "mode=cubic"},
    {"test_resize_downsample_scales_cubic_A_n0p5_exclude_outside", "mode=cubic"},
    {"test_resize_downsample_scales_cubic_align_corners", "mode=cubic"},
    {"test_resize_downsample_sizes_cubic", "mode=cubic"},
    {"test_resize_tf_crop_and_resize", "coordinate_transformation_mode=tf_crop_and_resize"},
    {"test_resize_upsample_scales_cubic", "mode=cubic"},
    {"test_resize_upsample_scales_cubic_A_n0p5_exclude_outside", "mode=cubic"},
    {"test_resize_upsample_scales_cubic_align_corners", "mode=cubic"},
    {"test_resize_upsample_scales_cubic_asymmetric", "mode=cubic"},
    {"test_resize_upsample_sizes_cubic", "mode=cubic"},
    {"test_slice_start_out_of_bounds", "vkbnn has no empty tensors"},
    {"test_split_zero_size_splits", "is empty (dimension 0 is 0)"},
    {"test_sub_uint8", "has type UINT8; only float and integer"},
    // Casts to or from 16-bit floats, float64 or strings, and the Mod cases of those and of the
    // 8-bit integers (quantized data to vkbnn).
    {"test_cast_BFLOAT16_to_FLOAT", "has type BFLOAT16; only float and integer"},
    {"test_cast_DOUBLE_to_FLOAT", "has type DOUBLE; only float and integer"},
    {"test_cast_DOUBLE_to_FLOAT16", "has type DOUBLE; only float and integer"},
    {"test_cast_FLOAT16_to_DOUBLE", "has type FLOAT16; only float and integer"},
    {"test_cast_FLOAT16_to_FLOAT", "has type FLOAT16; only float and integer"},
    {"test_cast_FLOAT_to_BFLOAT16", "a Cast to BFLOAT16"},
    {"test_cast_FLOAT_to_FLOAT16", "a Cast to FLOAT16"},
    {"test_cast_FLOAT_to_STRING", "a Cast to STRING"},
    {"test_cast_STRING_to_FLOAT", "has type STRING; only float and integer"},
    {"test_castlike_BFLOAT16_to_FLOAT_expanded", "has type BFLOAT16; only float and integer"},
    {"test_castlike_DOUBLE_to_FLOAT16_expanded", "has type DOUBLE; only float and integer"},
    {"test_castlike_DOUBLE_to_FLOAT_expanded", "has type DOUBLE; only float and integer"},
    {"test_castlike_FLOAT16_to_DOUBLE_expanded", "has type FLOAT16; only float and integer"},
    {"test_castlike_FLOAT16_to_FLOAT_expanded", "has type FLOAT16; only float and integer"},
    {"test_castlike_FLOAT_to_BFLOAT16_expanded", "has type BFLOAT16; only float and integer"},
    {"test_castlike_FLOAT_to_DOUBLE_expanded", "has type DOUBLE; only float and integer"},
    {"test_castlike_FLOAT_to_FLOAT16_expanded", "has type FLOAT16; only float and integer"},
    {"test_castlike_FLOAT_to_STRING_expanded", "has type STRING; only float and integer"},
    {"test_castlike_STRING_to_FLOAT_expanded", "has type STRING; only float and integer"},
    {"test_mod_mixed_sign_float16", "has type FLOAT16; only float and integer"},
    {"test_mod_mixed_sign_float64", "has type DOUBLE; only float and integer"},
    {"test_mod_mixed_sign_int8", "has type INT8; only float and integer"},
    {"test_mod_uint8", "has type UINT8; only float and integer"}};

// How many covered cases pass: the suite's record of what the engine runs (356 of ONNX 1.12's
// node tests for the ops in kCoveredOps: 281, then the 32 ArgMax/ArgMin cases, the 1-D
// ConvTranspose, MaxPool and AveragePool ones and test_slice_neg_steps; then with integer inputs
// and arithmetic 24 cases of Max, Min, Pow and Pad on 16- to 64-bit integers, the 9 Mod cases of
// float32 and 16- to 64-bit integers, Floor, Ceil and Round (5) and test_cast_FLOAT_to_DOUBLE;
// then 41 of the comparisons, And, Or, Xor, Not, Where and Sign at run time, boolean inputs and
// outputs as 0 and 1: all of ONNX 1.12's test_equal*, test_greater*, test_less*, test_and*,
// test_or*, test_xor*, test_not*, test_where* and test_sign; then the 5 whose computed operands both
// broadcast or broadcast along more than one run of axes: the three bcast4v4d and the expanded
// Softmax and LogSoftmax on axis 1). Raise it with every op added.
constexpr size_t kPassedCases = 402;

TEST(OnnxConformance, NodeTests) {
  const fs::path root = data_dir();
  ASSERT_TRUE(fs::is_directory(root)) << "ONNX test data not found at " << root
                                      << " (scripts/setup-debian.sh installs libonnx-testdata; or set VKBNN_ONNX_TESTDATA)";

  std::vector<fs::path> dirs;
  for (const auto& entry : fs::directory_iterator(root))
    if (entry.is_directory() && entry.path().filename().string().rfind("test_", 0) == 0) dirs.push_back(entry.path());
  std::sort(dirs.begin(), dirs.end());

  std::vector<CaseResult> results;
  for (const auto& dir : dirs) {
    onnx::ModelProto model;
    try {
      model = convert::load_onnx(dir / "model.onnx");
    } catch (const ModelError&) {
      continue;  // not a node test of this layout
    }
    // Cases of the covered ops, and expanded cases built only from them (HardSwish as
    // HardSigmoid and Mul); other expanded cases test other ops.
    const auto& nodes = model.graph().node();
    bool covered = std::any_of(nodes.begin(), nodes.end(), [](const auto& n) { return kCoveredOps.count(n.op_type()); }) &&
                   std::all_of(nodes.begin(), nodes.end(), [](const auto& n) {
                     return kCoveredOps.count(n.op_type()) || n.op_type() == "Constant";
                   });
    if (covered) results.push_back(run_case(dir, model));
  }

  size_t passed = 0, failed = 0;
  std::set<std::string> unsupported;
  std::ostringstream report;
  for (const auto& r : results) {
    const auto expected = kUnsupportedCases.find(r.name);
    if (r.outcome == Outcome::Passed) {
      ++passed;
      if (expected != kUnsupportedCases.end())
        ADD_FAILURE() << r.name << " passes now: remove it from kUnsupportedCases and raise kPassedCases";
    }
    if (r.outcome == Outcome::Failed) {
      ++failed;
      ADD_FAILURE() << r.name << ": " << r.detail;
    }
    if (r.outcome == Outcome::Unsupported) {
      unsupported.insert(r.name);
      report << "  unsupported " << r.name << ": " << r.detail << "\n";
      if (expected == kUnsupportedCases.end())
        ADD_FAILURE() << r.name << " is newly unsupported: " << r.detail;
      else
        EXPECT_NE(r.detail.find(expected->second), std::string::npos)
            << r.name << " is unsupported for another reason than '" << expected->second << "': " << r.detail;
    }
  }
  for (const auto& [name, reason] : kUnsupportedCases)
    EXPECT_TRUE(std::any_of(results.begin(), results.end(), [&](const CaseResult& r) { return r.name == name; }))
        << name << " is listed as unsupported but is not among the covered cases";
  std::cout << "ONNX conformance: " << passed << " passed, " << failed << " failed, " << unsupported.size()
            << " unsupported\n"
            << report.str();
  EXPECT_EQ(passed, kPassedCases);
}

// ONNX's quantized node tests. Their graph inputs and outputs are integer tensors, which a vkbnn
// model cannot have (its graph inputs and outputs are float), so each case runs wrapped: an
// integer data input (input 0 of its node) becomes a float input that QuantizeLinear quantizes
// with the node's own scale and zero point, fed the dequantized test data; an integer output is
// dequantized (DequantizeLinear with the scale and zero point it was computed with, or a Cast of
// an int32 result); every other input (weights, scales, zero points, bias) is bound as a constant.
// The engine requantizes with a fixed-point multiplier and rounds half up where ONNX's reference
// rounds the float product half to even, so an int8 result could be one step off at a tie; the
// cases that convert have no ties and must match bit for bit, as the README says.
const std::set<std::string> kBitExactQuantizedCases = {"test_dequantizelinear", "test_qlinearconv",
                                                       "test_quantizelinear"};

const std::vector<std::string> kQuantizedCasePatterns = {"qlinearconv",    "qlinearmatmul", "quantizelinear",
                                                         "dequantizelinear", "convinteger",  "matmulinteger"};

const std::set<std::string> kQuantizedOps = {"QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear",
                                             "QLinearConv",    "QLinearMatMul",    "ConvInteger",
                                             "MatMulInteger"};

// Cases the converter rejects, with what its message must say.
const std::map<std::string, std::string> kRejectedQuantizedCases = {
    {"test_basic_convinteger", "int32"},
    {"test_convinteger_with_padding", "int32"},
    {"test_convinteger_without_padding", "int32"},
    {"test_matmulinteger", "int32"},
    {"test_dequantizelinear_axis", "per-axis quantization"},
    {"test_quantizelinear_axis", "per-axis quantization"},
    {"test_dynamicquantizelinear", "run time"},
    {"test_dynamicquantizelinear_max_adjusted", "run time"},
    {"test_dynamicquantizelinear_min_adjusted", "run time"},
    // Expanded into ReduceMin/ReduceMax and arithmetic on the data: the scale QuantizeLinear
    // gets is computed at run time.
    {"test_dynamicquantizelinear_expanded", "a non-constant y_scale in op 'QuantizeLinear'"},
    {"test_dynamicquantizelinear_max_adjusted_expanded", "a non-constant y_scale in op 'QuantizeLinear'"},
    {"test_dynamicquantizelinear_min_adjusted_expanded", "a non-constant y_scale in op 'QuantizeLinear'"},
    // b - b_zero_point reaches 141, beyond the int8 weights of the engine's int8 matmul.
    {"test_qlinearmatmul_2D", "weight minus zero point as int8"},
    {"test_qlinearmatmul_3D", "the engine's int8 matmul is 2-D"}};

// The values of a FLOAT, UINT8, INT8 or INT32 tensor.
std::vector<double> numbers_of(const onnx::TensorProto& t) {
  const std::string& raw = t.raw_data();
  std::vector<double> values;
  switch (t.data_type()) {
    case onnx::TensorProto_DataType_FLOAT:
      for (float v : floats_of(t)) values.push_back(v);
      break;
    case onnx::TensorProto_DataType_UINT8:
    case onnx::TensorProto_DataType_INT8: {
      const bool is_signed = t.data_type() == onnx::TensorProto_DataType_INT8;
      if (!t.has_raw_data()) return {t.int32_data().begin(), t.int32_data().end()};
      for (char byte : raw) values.push_back(is_signed ? static_cast<int8_t>(byte) : static_cast<uint8_t>(byte));
      break;
    }
    case onnx::TensorProto_DataType_INT32: {
      if (!t.has_raw_data()) return {t.int32_data().begin(), t.int32_data().end()};
      std::vector<int32_t> ints(raw.size() / sizeof(int32_t));
      std::memcpy(ints.data(), raw.data(), ints.size() * sizeof(int32_t));
      values.assign(ints.begin(), ints.end());
      break;
    }
    default: throw Error("tensor '" + t.name() + "' has a type the quantized cases do not use");
  }
  return values;
}

// scale * (q - zero_point) in float, as the engine's Dequantize computes it.
std::vector<float> dequantized(const std::vector<double>& q, double scale, double zero_point) {
  std::vector<float> values;
  for (double x : q) values.push_back(static_cast<float>(scale) * static_cast<float>(x - zero_point));
  return values;
}

struct WrappedCase {
  onnx::ModelProto model;
  std::vector<std::vector<float>> inputs;    // the float graph inputs, in order
  std::vector<std::vector<float>> expected;  // the float graph outputs, in order
};

// The case's model and test_data_set_0 with float inputs and outputs, as described above.
WrappedCase wrap_quantized_case(const fs::path& dir, onnx::ModelProto model) {
  std::vector<std::string> input_names;
  for (const auto& v : model.graph().input()) input_names.push_back(v.name());
  const fs::path set = dir / "test_data_set_0";
  const auto input_files = numbered(set, "input_");
  const auto output_files = numbered(set, "output_");
  if (input_files.size() != input_names.size()) throw Error("the test data does not match the model's inputs");
  std::map<std::string, onnx::TensorProto> values;
  for (size_t i = 0; i < input_files.size(); ++i) values[input_names[i]] = read_tensor(input_files[i]);
  for (size_t o = 0; o < output_files.size(); ++o)
    values[model.graph().output(static_cast<int>(o)).name()] = read_tensor(output_files[o]);
  // A scale or zero point from the test data; NaN for one the graph computes (the expanded
  // DynamicQuantizeLinear cases, which are only converted).
  auto scalar = [&](const std::string& name) {
    if (name.empty()) return 0.0;
    auto it = values.find(name);
    return it == values.end() ? std::nan("") : numbers_of(it->second).at(0);
  };

  onnx::GraphProto& g = *model.mutable_graph();
  const std::vector<onnx::NodeProto> nodes(g.node().begin(), g.node().end());
  auto reader_of_data = [&](const std::string& name) -> const onnx::NodeProto* {
    for (const auto& n : nodes)
      if (n.input_size() > 0 && n.input(0) == name) return &n;
    return nullptr;
  };
  auto producer_of = [&](const std::string& name) -> const onnx::NodeProto& {
    for (const auto& n : nodes)
      for (const auto& out : n.output())
        if (out == name) return n;
    throw Error("no node computes '" + name + "'");
  };
  WrappedCase c;
  const int case_nodes = g.node_size();
  google::protobuf::RepeatedPtrField<onnx::ValueInfoProto> float_inputs;
  for (const auto& v : g.input()) {
    const onnx::TensorProto& data = values.at(v.name());
    const onnx::NodeProto* reader = reader_of_data(v.name());
    if (!reader) {
      onnx::TensorProto* init = g.add_initializer();
      *init = data;
      init->set_name(v.name());
      continue;
    }
    onnx::ValueInfoProto& input = *float_inputs.Add();
    input = v;
    input.mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto_DataType_FLOAT);
    if (data.data_type() == onnx::TensorProto_DataType_FLOAT) {
      c.inputs.push_back(floats_of(data));
    } else {
      // ConvInteger and MatMulInteger have no scale: their integers quantize with scale 1.
      const bool has_scale = reader->op_type() != "ConvInteger" && reader->op_type() != "MatMulInteger";
      std::string scale_name = has_scale ? reader->input(1) : v.name() + "_unit_scale";
      std::string zero_point = has_scale ? reader->input(2) : (reader->input_size() > 2 ? reader->input(2) : "");
      if (!has_scale) {
        onnx::TensorProto& unit = add_initializer(g, scale_name, {}, onnx::TensorProto_DataType_FLOAT);
        unit.add_float_data(1.0f);
        values[scale_name] = unit;
      }
      c.inputs.push_back(dequantized(numbers_of(data), scalar(scale_name), scalar(zero_point)));
      input.set_name(v.name() + "_float");
      add_node(g, "QuantizeLinear", {input.name(), scale_name, zero_point}, {v.name()});
    }
  }
  g.mutable_input()->Swap(&float_inputs);
  // The QuantizeLinear nodes just added go first.
  std::rotate(g.mutable_node()->begin(), g.mutable_node()->begin() + case_nodes, g.mutable_node()->end());

  google::protobuf::RepeatedPtrField<onnx::ValueInfoProto> float_outputs;
  for (const auto& v : g.output()) {
    // The cases' results are output 0 of the quantized ops; the others are the scale and zero
    // point DynamicQuantizeLinear (or its expansion) computes.
    const onnx::NodeProto& producer = producer_of(v.name());
    if (producer.output(0) != v.name() || !kQuantizedOps.count(producer.op_type())) continue;
    const std::vector<double> numbers = numbers_of(values.at(v.name()));
    onnx::ValueInfoProto& output = *float_outputs.Add();
    output = v;
    output.mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto_DataType_FLOAT);
    std::vector<float> expected = dequantized(numbers, 1.0, 0.0);
    const int32_t type = v.type().tensor_type().elem_type();
    if (type == onnx::TensorProto_DataType_INT32) {
      output.set_name(v.name() + "_float");
      int_attribute(add_node(g, "Cast", {v.name()}, {output.name()}), "to", onnx::TensorProto_DataType_FLOAT);
    } else if (type != onnx::TensorProto_DataType_FLOAT) {
      // The scale and zero point the output was computed with: QuantizeLinear's inputs 1 and 2,
      // QLinearConv's and QLinearMatMul's 6 and 7, DynamicQuantizeLinear's outputs 1 and 2.
      std::string scale_name, zero_point;
      if (producer.op_type() == "QuantizeLinear") {
        scale_name = producer.input(1);
        zero_point = producer.input_size() > 2 ? producer.input(2) : "";
      } else if (producer.op_type() == "DynamicQuantizeLinear") {
        scale_name = producer.output(1);
        zero_point = producer.output(2);
      } else {
        scale_name = producer.input(6);
        zero_point = producer.input(7);
      }
      output.set_name(v.name() + "_float");
      add_node(g, "DequantizeLinear", {v.name(), scale_name, zero_point}, {output.name()});
      expected = dequantized(numbers, scalar(scale_name), scalar(zero_point));
    }
    c.expected.push_back(std::move(expected));
  }
  g.mutable_output()->Swap(&float_outputs);

  c.model = std::move(model);
  return c;
}

TEST(OnnxConformance, QuantizedNodeTests) {
  const fs::path root = data_dir();
  ASSERT_TRUE(fs::is_directory(root)) << "ONNX test data not found at " << root
                                      << " (scripts/setup-debian.sh installs libonnx-testdata; or set VKBNN_ONNX_TESTDATA)";

  std::vector<fs::path> dirs;
  for (const auto& entry : fs::directory_iterator(root)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory() && std::any_of(kQuantizedCasePatterns.begin(), kQuantizedCasePatterns.end(),
                                            [&](const std::string& p) { return name.find(p) != std::string::npos; }))
      dirs.push_back(entry.path());
  }
  std::sort(dirs.begin(), dirs.end());

  std::set<std::string> rejected;
  size_t passed = 0;
  std::ostringstream report;
  for (const auto& dir : dirs) {
    const std::string name = dir.filename().string();
    SCOPED_TRACE(name);
    WrappedCase c = wrap_quantized_case(dir, convert::load_onnx(dir / "model.onnx"));
    auto expected_rejection = kRejectedQuantizedCases.find(name);
    std::vector<uint8_t> bytes;
    try {
      bytes = convert::convert(c.model);
    } catch (const convert::UnsupportedError& e) {
      const std::string what = e.what();
      EXPECT_NE(expected_rejection, kRejectedQuantizedCases.end()) << "rejected: " << what;
      if (expected_rejection == kRejectedQuantizedCases.end()) continue;
      EXPECT_NE(what.find(expected_rejection->second), std::string::npos) << what;
      EXPECT_NE(what.find(" at node "), std::string::npos) << what;
      rejected.insert(name);
      report << "  rejected " << name << ": " << what << "\n";
      continue;
    }
    if (expected_rejection != kRejectedQuantizedCases.end()) {
      ADD_FAILURE() << "converted, but expected a rejection saying '" << expected_rejection->second << "'";
      continue;
    }
    if (!kBitExactQuantizedCases.count(name)) {
      ADD_FAILURE() << "converted, but neither expected to be rejected nor listed in kBitExactQuantizedCases";
      continue;
    }
    auto outputs = run_model(bytes, c.inputs);
    ASSERT_EQ(outputs.size(), c.expected.size());
    for (size_t o = 0; o < outputs.size(); ++o)
      EXPECT_TRUE(all_close(outputs[o].data, c.expected[o], 0.0f, 0.0f)) << "output " << o;
    ++passed;
    report << "  passed " << name << " bit for bit\n";
  }
  for (const auto& [name, reason] : kRejectedQuantizedCases)
    EXPECT_TRUE(rejected.count(name)) << name << " was expected to be rejected (" << reason << ")";
  std::cout << "ONNX quantized conformance: " << passed << " passed, " << rejected.size() << " rejected\n"
            << report.str();
  EXPECT_EQ(passed, kBitExactQuantizedCases.size());
}

}  // namespace
}  // namespace vkbnn::test
