// The ops whose signatures differ between ONNX opsets, in each spelling from opset 7 to 18 (18's
// rewritten into 17 by vkbnn-convert), built with onnx.helper by tests/python/make_opset_onnx.py
// at test time, converted with vkbnn-convert and run: each must match its NumPy reference.
#include <filesystem>
#include <functional>
#include <map>
#include <set>

#include "support/onnx_graph.hpp"
#include "support/process.hpp"
#include "support/test_support.hpp"
#include "vkbnn/io/npy.hpp"

namespace vkbnn::test {
namespace {

class OnnxOpsets : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::filesystem::create_directories(dir());
    auto made = run_process({python(), source_dir() + "/tests/python/make_opset_onnx.py", "--out-dir", dir().string()});
    ASSERT_EQ(made.exit_code, 0) << made.output;
    models_ = printed_models(made.output);
  }
  static std::filesystem::path dir() { return std::filesystem::path(binary_dir()) / "onnx_opsets"; }
  static std::vector<PrintedModel> models_;
};
std::vector<PrintedModel> OnnxOpsets::models_;

TEST_F(OnnxOpsets, EverySpellingMatchesNumPy) {
  std::set<std::string> checked;
  for (const auto& model : models_) {
    if (!model.words.empty() && model.words[0] == "refused") continue;
    SCOPED_TRACE(model.name);
    auto converted = convert_exported(dir(), model.name);
    ASSERT_EQ(converted.exit_code, 0) << converted.output;
    const std::string note = "note: the model was read as ONNX opset 17 after rewriting ";
    if (model.name.ends_with("opset18")) {
      ASSERT_EQ(model.words.size(), 1u);
      const std::string count = model.words[0].substr(std::string("rewrites=").size());
      EXPECT_NE(converted.output.find(note + count + " opset-18 node"), std::string::npos) << converted.output;
    } else {
      EXPECT_EQ(converted.output.find(note), std::string::npos) << converted.output;
    }
    auto expected = io::read_npy(dir() / (model.name + ".expected.npy"));
    auto output = run_exported(dir(), model.name).at(0);
    ASSERT_EQ(output.shape, expected.shape);
    EXPECT_TRUE(all_close(output.data, expected.data, 1e-5f, 1e-5f));
    checked.insert(model.name);
  }
  EXPECT_EQ(checked, (std::set<std::string>{"reduce_opset18", "split_opset18", "resize_opset18", "pad_opset18",
                                            "mish_opset18", "scatter_opset18", "clip_opset7", "clip_opset11",
                                            "clip_opset13", "pad_opset7", "pad_opset11", "split_opset7",
                                            "split_opset11", "split_opset13", "squeeze_opset11", "squeeze_opset13",
                                            "upsample_opset7", "upsample_opset9", "resize_opset10",
                                            "resize_opset11", "resize_opset13", "reducesum_opset11",
                                            "reducesum_opset13"}));
}

TEST_F(OnnxOpsets, WhatOpset17CannotSayIsRefusedByName) {
  const std::map<std::string, std::vector<std::string>> fragments = {
      {"resize_antialias_opset18", {"antialias=1 with mode=linear", "op 'Resize' at node 'shrink'", "antialias=0"}},
      {"reduce_computed_axes_opset18", {"axes computed in the graph", "op 'ReduceMean' at node 'mean'"}},
      {"groupnorm_opset18", {"GroupNormalization"}},
      {"relu_opset19", {"the model uses ONNX opset 19", "reads opsets up to 18", "export the model with opset 18"}}};
  std::set<std::string> checked;
  for (const auto& model : models_) {
    if (model.words.empty() || model.words[0] != "refused") continue;
    SCOPED_TRACE(model.name);
    auto converted = convert_exported(dir(), model.name);
    // 1 is vkbnn-convert's refusal; a crash or an abort exits otherwise.
    EXPECT_EQ(converted.exit_code, 1) << converted.output;
    for (const auto& fragment : fragments.at(model.name))
      EXPECT_NE(converted.output.find(fragment), std::string::npos) << converted.output;
    EXPECT_FALSE(std::filesystem::exists(dir() / (model.name + ".vkbnn")));
    checked.insert(model.name);
  }
  EXPECT_EQ(checked.size(), fragments.size());
}

void string_attribute(onnx::NodeProto& node, const std::string& name, const std::string& value) {
  auto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto_AttributeType_STRING);
  a->set_s(value);
}

// Opset-18 nodes that are malformed, or that opset 17 cannot express, each refused with a message
// (a vkbnn::Error: anything else escapes and fails the test).
TEST(OnnxOpset18, MalformedNodesAreRefusedWithTheirReason) {
  struct Case {
    std::string name;
    std::function<void(OnnxGraph&)> build;  // reads x [1, 5, 4, 4], writes y
    std::string fragment;
  };
  const std::vector<Case> cases = {
      {"split_outputs_not_num_outputs",
       [](OnnxGraph& b) { int_attribute(b.node("Split", {"x"}, {"y", "z"}, "s"), "num_outputs", 3); },
       "op 'Split' at node 's' has num_outputs=3 but 2 outputs"},
      {"split_sizes_and_num_outputs",
       [](OnnxGraph& b) {
         b.int64s("sizes", {2}, {2, 3});
         int_attribute(b.node("Split", {"x", "sizes"}, {"y", "z"}, "s"), "num_outputs", 2);
       },
       "has both split sizes and num_outputs"},
      {"split_last_part_negative",  // 5 channels in 4 parts of ceil(5 / 4) = 2 leave -1 for the last
       [](OnnxGraph& b) {
         auto& split = b.node("Split", {"x"}, {"y", "p1", "p2", "p3"}, "s");
         int_attribute(split, "axis", 1);
         int_attribute(split, "num_outputs", 4);
       },
       "op 'Split' at node 's': split [2, 2, 2, -1] is out of range"},
      {"resize_keep_aspect_ratio",
       [](OnnxGraph& b) {
         b.int64s("sizes", {4}, {1, 5, 8, 6});
         string_attribute(b.node("Resize", {"x", "", "", "sizes"}, {"y"}, "r"), "keep_aspect_ratio_policy",
                          "not_larger");
       },
       "keep_aspect_ratio_policy=not_larger"},
      {"resize_axes_crop",
       [](OnnxGraph& b) {
         b.floats("roi", {4}, {0.f, 0.f, 1.f, 1.f});
         b.floats("scales", {2}, {2.f, 2.f});
         auto& resize = b.node("Resize", {"x", "roi", "scales"}, {"y"}, "r");
         ints_attribute(resize, "axes", {2, 3});
         string_attribute(resize, "coordinate_transformation_mode", "tf_crop_and_resize");
       },
       "axes with coordinate_transformation_mode=tf_crop_and_resize"},
      {"resize_axis_out_of_range",
       [](OnnxGraph& b) {
         b.floats("scales", {1}, {2.f});
         ints_attribute(b.node("Resize", {"x", "", "scales"}, {"y"}, "r"), "axes", {4});
       },
       "node 'r_resize_axes_normalized': index 4 is out of range"},
      {"resize_scales_not_axes",
       [](OnnxGraph& b) {
         b.floats("scales", {3}, {1.f, 2.f, 2.f});
         ints_attribute(b.node("Resize", {"x", "", "scales"}, {"y"}, "r"), "axes", {2, 3});
       },
       "node 'r_resize_all_scales': its updates 3 should be 2"},
      {"pad_axes_without_pads",
       [](OnnxGraph& b) {
         b.int64s("axes", {1}, {2});
         b.node("Pad", {"x", "", "", "axes"}, {"y"}, "p");
       },
       "op 'Pad' at node 'p' has axes but no pads"},
      {"pad_axis_out_of_range",
       [](OnnxGraph& b) {
         b.int64s("pads", {2}, {1, 1});
         b.int64s("axes", {1}, {-5});
         b.node("Pad", {"x", "pads", "", "axes"}, {"y"}, "p");
       },
       "node 'p_pad_axes_normalized': index -5 is out of range"},
      {"mish_without_input", [](OnnxGraph& b) { b.node("Mish", {}, {"y"}, "m"); }, "invalid ONNX model"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    OnnxGraph b(18);
    b.input("x", {1, 5, 4, 4});
    c.build(b);
    b.output("y", {});
    const std::string error = conversion_refusal(b.model());
    EXPECT_NE(error.find(c.fragment), std::string::npos) << error;
  }
}

}  // namespace
}  // namespace vkbnn::test
