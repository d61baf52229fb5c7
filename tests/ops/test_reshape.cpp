// Reshape aliases its input: values pass through a chain untouched.

#include "ops/single_node.hpp"
#include "reference/elementwise_reference.hpp"
#include "reference/softmax_reference.hpp"

namespace vkbnn::test {
namespace {

TEST(Reshape, AliasesBetweenOps) {
  convert::ModelWriter w;
  auto& b = w.builder();
  const uint32_t x = w.add_tensor("x", {2, 3, 2, 2});
  const uint32_t relu = w.add_tensor("relu", {2, 3, 2, 2});
  const uint32_t flat = w.add_tensor("flat", {2, 12});
  const uint32_t probs = w.add_tensor("probs", {2, 12});
  w.add_node("relu", fb::OpParams::ActivationOp,
             fb::CreateActivationOp(b, fb::CreateActivation(b, fb::ActivationKind::Relu)).Union(), {x}, {relu});
  w.add_node("flatten", fb::OpParams::Reshape, fb::CreateReshape(b).Union(), {relu}, {flat});
  w.add_node("softmax", fb::OpParams::Softmax, fb::CreateSoftmax(b, 1).Union(), {flat}, {probs});
  w.set_inputs({x});
  w.set_outputs({probs});
  auto input = random_vector(24, 1300);
  auto expected = ref::softmax(ref::activation(input, {fb::ActivationKind::Relu}), {2, 12}, 1);
  EXPECT_TRUE(all_close(run_single(w.finish(), {input}), expected, 1e-5f, 1e-6f));
}

TEST(Reshape, RejectsElementCountChange) {
  auto model = single_node_model(
      fb::OpParams::Reshape, [](auto& b) { return fb::CreateReshape(b).Union(); }, {{{2, 3, 4}, {}}}, {2, 13});
  EXPECT_TRUE(rejected(model, "element counts differ"));
}

}  // namespace
}  // namespace vkbnn::test
