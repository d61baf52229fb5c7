// PyTorch modules that do integer arithmetic at run time on ArgMax's indices (a keypoint's row
// and column with // and %, truncating division and both remainders of negative numbers by
// divisors of either sign, .long() and .float() casts, casts to 8- and 16-bit types that wrap,
// Floor, Ceil and Round at halves, a YOLO cell offset), and comparisons, logic and selections at run time (floor division of negative
// integers, masked_fill, leaky ReLU and clamp by torch.where, an attention mask, torch.sign
// outside a binarized network), exported by tests/python/make_integer_ops_onnx.py at test time,
// converted with vkbnn-convert and run: the integer outputs must equal PyTorch's exactly and be
// marked integer in the model (written as int64 .npy), the float ones within float rounding.
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "converter/converter.hpp"
#include "support/onnx_graph.hpp"
#include "support/process.hpp"
#include "support/test_support.hpp"
#include "vkbnn/io/npy.hpp"

namespace vkbnn::test {
namespace {

// The ONNX ops each export must hold (the script prints them).
const std::map<std::string, std::set<std::string>> kExpectedOps = {
    {"keypoint_coords", {"ArgMax", "Div", "Mod", "Mul", "Add"}},
    {"signed_division", {"ArgMax", "ArgMin", "Div", "Mod", "Neg", "Abs", "Sub", "Cast"}},
    {"casts", {"Cast", "Floor", "Ceil", "Round"}},
    {"narrowing_casts", {"Cast"}},
    {"grid_offset", {"ArgMax", "Div", "Mod", "Cast", "Gather", "Sigmoid"}},
    {"floor_division", {"ArgMax", "Div", "Less", "Xor", "Equal", "Not", "And", "Where"}},
    {"python_floor_division", {"ArgMax", "Div", "Cast"}},
    {"masked_fill", {"Greater", "Less", "Cast", "Where"}},
    {"where_activations", {"Greater", "Less", "Where"}},
    {"sign_outside_bnn", {"Sign", "Round", "Mul"}},
    {"attention_mask", {"Greater", "Not", "Where", "Softmax", "Cast", "ReduceSum"}}};

// Float outputs that are exact: the casts, Floor, Ceil and Round, the selections and signs of
// the input's own values. The rest are within float rounding of PyTorch's (a convolution or an
// attention before them).
const std::set<std::string> kExactFloats = {"casts", "narrowing_casts", "sign_outside_bnn"};

TEST(TorchIntegerOps, ConvertAndMatchPyTorchExactly) {
  const auto dir = std::filesystem::path(binary_dir()) / "torch_integer_ops";
  std::filesystem::create_directories(dir);
  auto made = run_process({python(), source_dir() + "/tests/python/make_integer_ops_onnx.py", "--out-dir",
                           dir.string(), "--seed", "11"});
  ASSERT_EQ(made.exit_code, 0) << made.output;
  std::set<std::string> checked;
  for (const auto& [name, words] : printed_models(made.output)) {
    SCOPED_TRACE(name);
    ASSERT_FALSE(words.empty()) << made.output;
    const std::set<std::string> ops(words.begin() + 1, words.end());
    ASSERT_TRUE(kExpectedOps.count(name)) << "an export the test does not know";
    for (const auto& op : kExpectedOps.at(name)) EXPECT_TRUE(ops.count(op)) << op << " missing: " << made.output;
    auto converted = convert_exported(dir, name);
    ASSERT_EQ(converted.exit_code, 0) << converted.output;

    std::vector<std::string> types;
    std::istringstream list(words[0]);
    for (std::string t; std::getline(list, t, ',');) types.push_back(t);
    const Model model = Model::load(dir / (name + ".vkbnn"));
    ASSERT_EQ(model.outputs().size(), types.size());
    const std::vector<Tensor> outputs = run_exported(dir, name);
    ASSERT_EQ(outputs.size(), types.size());
    for (size_t k = 0; k < outputs.size(); ++k) {
      SCOPED_TRACE("output " + std::to_string(k));
      const bool integer = types[k] == "int64";
      EXPECT_EQ(model.outputs()[k].integer, integer);
      const auto expected = io::read_npy(dir / (name + ".expected" + std::to_string(k) + ".npy"));
      EXPECT_EQ(outputs[k].shape, expected.shape);
      const bool exact = integer || kExactFloats.count(name);
      std::cout << name << " output " << k << ": relative L2 error " << relative_l2(outputs[k].data, expected.data)
                << "\n";
      EXPECT_TRUE(all_close(outputs[k].data, expected.data, exact ? 0.0f : 1e-6f, exact ? 0.0f : 1e-6f));
    }
    checked.insert(name);
  }
  std::set<std::string> all;
  for (const auto& [name, op] : kExpectedOps) all.insert(name);
  EXPECT_EQ(checked, all);
}

// Integers are exact below 2^24 only: an integer constant beyond it is refused, and a computed
// value whose bound passes it is noted.
TEST(IntegerArithmetic, TheExactLimitIsEnforcedOrNoted) {
  auto model = [](int64_t factor, int64_t offset) {
    OnnxGraph g;
    g.input("x", {1, 5000});
    int_attribute(g.node("ArgMax", {"x"}, {"i"}, "arg"), "axis", 1);
    g.int64s("factor", {1}, {factor});
    g.int64s("offset", {1}, {offset});
    g.node("Mul", {"i", "factor"}, {"m"}, "scale");
    g.node("Add", {"m", "offset"}, {"y"}, "shift");
    g.output("y", {1, 1}, onnx::TensorProto_DataType_INT64);
    return g.model();
  };
  auto notes = [](const convert::Result& r) {
    std::string all;
    for (const auto& n : r.summary.notes) all += n + "\n";
    return all;
  };
  EXPECT_EQ(notes(convert::convert_model(model(3000, 7))).find("2^24"), std::string::npos);
  // 4999 * 4000 + 7 may pass 2^24 = 16777216.
  const std::string noted = notes(convert::convert_model(model(4000, 7)));
  EXPECT_NE(noted.find("'y' (op 'shift') may reach 19996007"), std::string::npos) << noted;
  try {
    convert::convert_model(model(3, 20000001));
    ADD_FAILURE() << "an integer constant beyond 2^24 converted";
  } catch (const convert::UnsupportedError& e) {
    EXPECT_NE(std::string(e.what()).find("20000001, beyond the 2^24"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace vkbnn::test
