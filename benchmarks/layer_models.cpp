#include "layer_models.hpp"

#include <algorithm>
#include <random>

#include "converter/writer/model_writer.hpp"

namespace vkbnn::bench {

std::vector<float> random_values(std::size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

std::vector<uint8_t> fp32_conv3x3(int64_t c, int64_t hw) {
  convert::ModelWriter w;
  auto& b = w.builder();
  const uint32_t x = w.add_tensor("x", {1, c, hw, hw});
  const uint32_t y = w.add_tensor("y", {1, c, hw, hw});
  auto ints = [&](std::vector<int32_t> v) { return b.CreateVector(v); };
  w.add_node("conv", fb::OpParams::Conv2D,
             fb::CreateConv2D(b, ints({3, 3}), ints({1, 1}), ints({1, 1}), ints({1, 1, 1, 1}), 1,
                              fb::CreateActivation(b, fb::ActivationKind::Relu))
                 .Union(),
             {x, w.add_constant("w", {c, c, 3, 3}, random_values(static_cast<size_t>(c * c * 9), 1)),
              w.add_constant("b", {c}, random_values(static_cast<size_t>(c), 2))},
             {y});
  w.set_inputs({x});
  w.set_outputs({y});
  return w.finish();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace vkbnn::bench
