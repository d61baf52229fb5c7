#include "support/small_models.hpp"

#include "converter/writer/model_writer.hpp"
#include "support/test_support.hpp"

namespace vkbnn::test {

std::vector<uint8_t> small_classifier(uint32_t seed, bool dynamic_batch) {
  convert::ModelWriter w;
  const int8_t axis = dynamic_batch ? 0 : -1;
  auto& b = w.builder();
  auto act = [&](fb::ActivationKind kind) { return fb::CreateActivation(b, kind); };
  auto ints = [&](std::vector<int32_t> v) { return b.CreateVector(v); };
  uint32_t x = w.add_tensor("input", {1, 3, 9, 9}, fb::DataType::Float32, axis);
  uint32_t w1 = w.add_constant("conv1.w", {8, 3, 3, 3}, random_vector(8 * 27, seed));
  uint32_t b1 = w.add_constant("conv1.b", {8}, random_vector(8, seed + 1));
  uint32_t y1 = w.add_tensor("conv1.out", {1, 8, 9, 9}, fb::DataType::Float32, axis);
  w.add_node("conv1", fb::OpParams::Conv2D,
             fb::CreateConv2D(b, ints({3, 3}), ints({1, 1}), ints({1, 1}), ints({1, 1, 1, 1}), 1,
                              act(fb::ActivationKind::Relu)).Union(),
             {x, w1, b1}, {y1});
  uint32_t y2 = w.add_tensor("pool1.out", {1, 8, 4, 4}, fb::DataType::Float32, axis);
  w.add_node("pool1", fb::OpParams::Pool2D,
             fb::CreatePool2D(b, fb::PoolKind::Max, ints({2, 2}), ints({2, 2}), ints({1, 1}), ints({0, 0, 0, 0}))
                 .Union(),
             {y1}, {y2});
  uint32_t w3 = w.add_constant("conv2.w", {5, 8, 1, 1}, random_vector(5 * 8, seed + 2));
  uint32_t y3 = w.add_tensor("conv2.out", {1, 5, 4, 4}, fb::DataType::Float32, axis);
  w.add_node("conv2", fb::OpParams::Conv2D,
             fb::CreateConv2D(b, ints({1, 1}), ints({1, 1}), ints({1, 1}), ints({0, 0, 0, 0}), 1).Union(), {y2, w3},
             {y3});
  uint32_t y4 = w.add_tensor("gap.out", {1, 5, 1, 1}, fb::DataType::Float32, axis);
  w.add_node("gap", fb::OpParams::GlobalPool, fb::CreateGlobalPool(b, fb::PoolKind::Average).Union(), {y3}, {y4});
  uint32_t y5 = w.add_tensor("flatten.out", {1, 5}, fb::DataType::Float32, axis);
  w.add_node("flatten", fb::OpParams::Reshape, fb::CreateReshape(b).Union(), {y4}, {y5});
  uint32_t w6 = w.add_constant("fc.w", {4, 5}, random_vector(20, seed + 3));
  uint32_t b6 = w.add_constant("fc.b", {4}, random_vector(4, seed + 4));
  uint32_t y6 = w.add_tensor("fc.out", {1, 4}, fb::DataType::Float32, axis);
  w.add_node("fc", fb::OpParams::FullyConnected, fb::CreateFullyConnected(b).Union(), {y5, w6, b6}, {y6});
  uint32_t y7 = w.add_tensor("probabilities", {1, 4}, fb::DataType::Float32, axis);
  w.add_node("softmax", fb::OpParams::Softmax, fb::CreateSoftmax(b, -1).Union(), {y6}, {y7});
  w.set_inputs({x});
  w.set_outputs({y7});
  ModelMetadata meta;
  meta.input_height = 9;
  meta.input_width = 9;
  meta.mean = {0.5f, 0.5f, 0.5f};
  meta.std = {0.25f, 0.25f, 0.25f};
  meta.labels = {"a", "b", "c", "d"};
  w.set_metadata(meta);
  if (dynamic_batch) w.set_batch(1);
  return w.finish();
}

}  // namespace vkbnn::test
