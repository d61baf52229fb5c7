// Concat against the CPU reference.

#include "ops/single_node.hpp"
#include "reference/concat_reference.hpp"

namespace vkbnn::test {
namespace {

using Shape = std::vector<int64_t>;

std::vector<uint8_t> concat_model(const std::vector<NodeInput>& inputs, int32_t axis, const Shape& out) {
  return single_node_model(
      fb::OpParams::Concat, [&](auto& b) { return fb::CreateConcat(b, axis).Union(); }, inputs, out);
}

struct ConcatCase {
  std::vector<Shape> inputs;
  int32_t axis;
  std::vector<bool> constant;  // per input; missing means an activation
};

TEST(Concat, AlongEveryKindOfAxis) {
  const std::vector<ConcatCase> cases = {
      {{{2, 3, 5, 5}, {2, 1, 5, 5}, {2, 4, 5, 5}}, 1, {}},
      {{{2, 3, 7, 13}, {2, 3, 2, 13}, {2, 3, 1, 13}}, 2, {}},
      {{{2, 3, 7}, {2, 3, 5}}, -1, {}},
      {{{1, 3, 4}, {2, 3, 4}}, 0, {}},
      {{{1, 4, 4, 4}, {1, 8, 4, 4}}, 1, {}},  // whole vec4 rows
      {{{3, 10}, {3, 6}, {3, 1}}, 1, {}},
      {{{2, 3, 5, 5}, {2, 2, 5, 5}, {2, 1, 5, 5}}, 1, {false, true, false}},
      {{{5}, {3}}, 0, {false, true}},
      {{{1, 33, 3, 3}}, 1, {}},
  };
  uint32_t seed = 1000;
  for (const auto& c : cases) {
    const size_t rank = c.inputs[0].size();
    const size_t axis = static_cast<size_t>(c.axis < 0 ? c.axis + static_cast<int32_t>(rank) : c.axis);
    Shape out = c.inputs[0];
    out[axis] = 0;
    std::vector<NodeInput> node_inputs;
    std::vector<std::vector<float>> values, graph_inputs;
    for (size_t i = 0; i < c.inputs.size(); ++i) {
      out[axis] += c.inputs[i][axis];
      values.push_back(random_vector(count_of(c.inputs[i]), ++seed));
      const bool constant = i < c.constant.size() && c.constant[i];
      node_inputs.push_back({c.inputs[i], constant ? std::optional(values.back()) : std::nullopt});
      if (!constant) graph_inputs.push_back(values.back());
    }
    SCOPED_TRACE(::testing::PrintToString(out) + " along axis " + std::to_string(c.axis));
    EXPECT_TRUE(all_close(run_single(concat_model(node_inputs, c.axis, out), graph_inputs),
                          ref::concat(values, c.inputs, axis), 0.0f, 0.0f));
  }
}

TEST(Concat, RejectsInconsistentShapes) {
  EXPECT_TRUE(rejected(concat_model({{{1, 3, 4, 4}, {}}, {{1, 2, 4, 5}, {}}}, 1, {1, 5, 4, 4}), "does not match"));
  EXPECT_TRUE(rejected(concat_model({{{1, 3, 4, 4}, {}}, {{1, 2, 4, 4}, {}}}, 1, {1, 6, 4, 4}), "add up to 5"));
  EXPECT_TRUE(rejected(concat_model({{{1, 3, 4, 4}, {}}, {{1, 2, 4, 4}, {}}}, 4, {1, 5, 4, 4}), "out of range"));
  EXPECT_TRUE(rejected(concat_model({{{1, 3, 4, 4}, {}}, {{1, 2, 4, 4}, {}}}, -5, {1, 5, 4, 4}), "out of range"));
  EXPECT_TRUE(rejected(concat_model({{{1, 3, 4, 4}, {}}, {{1, 2, 4}, {}}}, 1, {1, 5, 4, 4}), "does not match"));
}

}  // namespace
}  // namespace vkbnn::test
