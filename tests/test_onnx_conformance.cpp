// ONNX's own node tests (the libonnx-testdata package) through the converter and the engine.
// Every case that uses one of the supported ops is run; a case the converter declares
// unsupported (1-D/3-D pooling, integer types, training mode, ...) is skipped and listed with
// its reason, never dropped silently. Any other error or a wrong number fails the test.

#include <algorithm>
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
#include "support/test_support.hpp"

namespace vkbnn::test {
namespace {

namespace fs = std::filesystem;

const std::set<std::string> kCoveredOps = {
    "Conv", "Gemm", "MatMul", "Relu", "BatchNormalization", "MaxPool", "AveragePool", "GlobalAveragePool",
    "GlobalMaxPool", "Add", "Mul", "Sub", "Div", "PRelu", "Clip", "LeakyRelu", "Sigmoid", "HardSigmoid",
    "HardSwish", "Concat", "Flatten", "Reshape", "Squeeze", "Unsqueeze", "Softmax", "Pad"};

// Ops whose inputs after the first are weights or parameters, which the converter needs as
// constants; the test data feeds them as inputs.
const std::set<std::string> kConstantOperands = {
    "Conv", "Gemm", "MatMul", "PRelu", "BatchNormalization", "Clip", "Pad", "Reshape", "Squeeze", "Unsqueeze"};
const std::set<std::string> kElementwise = {"Add", "Sub", "Mul", "Div"};

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

std::vector<int64_t> dims_of(const onnx::TensorProto& t) { return {t.dims().begin(), t.dims().end()}; }

std::vector<float> floats_of(const onnx::TensorProto& t) {
  if (t.data_type() != onnx::TensorProto_DataType_FLOAT)
    throw Error("tensor '" + t.name() + "' is not float");
  if (t.has_raw_data()) {
    std::vector<float> values(t.raw_data().size() / sizeof(float));
    std::memcpy(values.data(), t.raw_data().data(), values.size() * sizeof(float));
    return values;
  }
  return {t.float_data().begin(), t.float_data().end()};
}

// Graph inputs that the converter must see as constants, by the op that consumes them.
std::set<std::string> constant_inputs(const onnx::GraphProto& graph,
                                      const std::map<std::string, onnx::TensorProto>& fed) {
  std::set<std::string> data, weights;
  for (const auto& node : graph.node()) {
    for (int k = 0; k < node.input_size(); ++k) {
      const std::string& name = node.input(k);
      if (!fed.count(name)) continue;
      bool weight = k > 0 && kConstantOperands.count(node.op_type());
      // An element-wise operand that broadcasts is a constant in the models the converter serves.
      if (k > 0 && kElementwise.count(node.op_type()) && fed.count(node.input(0)) &&
          dims_of(fed.at(name)) != dims_of(fed.at(node.input(0))))
        weight = true;
      (weight ? weights : data).insert(name);
    }
  }
  std::set<std::string> result;
  std::set_difference(weights.begin(), weights.end(), data.begin(), data.end(), std::inserter(result, result.end()));
  return result;
}

enum class Outcome { Passed, Failed, Skipped };

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
  if (sets.empty()) return {name, Outcome::Skipped, "no test data sets"};

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

    std::vector<uint8_t> bytes;
    try {
      bytes = convert::convert(prepared);
    } catch (const convert::UnsupportedError& e) {
      return {name, Outcome::Skipped, e.what()};
    } catch (const std::exception& e) {
      return {name, Outcome::Failed, std::string("conversion failed: ") + e.what()};
    }

    try {
      std::vector<std::vector<float>> inputs;
      for (const auto& input : input_names)
        if (!bound.count(input)) inputs.push_back(floats_of(fed.at(input)));
      auto outputs = run_model(bytes, inputs);
      if (outputs.size() != output_files.size())
        return {name, Outcome::Failed, "the model gives " + std::to_string(outputs.size()) + " outputs, expected " +
                                           std::to_string(output_files.size())};
      for (size_t o = 0; o < outputs.size(); ++o) {
        auto expected = read_tensor(output_files[o]);
        auto expected_values = floats_of(expected);
        if (outputs[o].data.size() != expected_values.size())
          return {name, Outcome::Failed, "output " + std::to_string(o) + " has " +
                                             std::to_string(outputs[o].data.size()) + " values, expected " +
                                             std::to_string(expected_values.size())};
        auto close = all_close(outputs[o].data, expected_values, 1e-4f, 1e-5f);
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

TEST(OnnxConformance, NodeTests) {
  const fs::path root = data_dir();
  if (!fs::is_directory(root))
    GTEST_SKIP() << "ONNX test data not found at " << root << " (install libonnx-testdata or set VKBNN_ONNX_TESTDATA)";

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

  size_t passed = 0, failed = 0, skipped = 0;
  std::ostringstream report;
  for (const auto& r : results) {
    if (r.outcome == Outcome::Passed) ++passed;
    if (r.outcome == Outcome::Failed) {
      ++failed;
      ADD_FAILURE() << r.name << ": " << r.detail;
    }
    if (r.outcome == Outcome::Skipped) {
      ++skipped;
      report << "  skipped " << r.name << ": " << r.detail << "\n";
    }
  }
  std::cout << "ONNX conformance: " << passed << " passed, " << failed << " failed, " << skipped << " skipped\n"
            << report.str();
  EXPECT_GT(passed, 0u);
}

}  // namespace
}  // namespace vkbnn::test
