#include <cmath>
#include <numeric>

#include "support/small_models.hpp"
#include "support/test_support.hpp"

namespace vkbnn::test {
namespace {

NetworkOptions poisoned(NetworkOptions options = {}) {
  options.poison_arena = true;
  return options;
}

TEST(Network, TapsReadIntermediateTensorsByLayerName) {
  auto model = Model::from_bytes(small_classifier(11));
  NetworkOptions options;
  options.taps = {"conv1", "pool1.out", "conv2", "gap"};
  Network network(context(), model, poisoned(options));
  auto input = random_vector(3 * 9 * 9, 12);
  auto output = network.run(input);

  auto conv1 = network.read_tensor("conv1");
  auto pool1 = network.read_tensor("pool1.out");
  ASSERT_EQ(conv1.shape, (std::vector<int64_t>{1, 8, 9, 9}));
  ASSERT_EQ(pool1.shape, (std::vector<int64_t>{1, 8, 4, 4}));
  for (int c = 0; c < 8; ++c)
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 4; ++x) {
        float m = -INFINITY;
        for (int dy = 0; dy < 2; ++dy)
          for (int dx = 0; dx < 2; ++dx) m = std::max(m, conv1.data[(c * 9 + 2 * y + dy) * 9 + 2 * x + dx]);
        ASSERT_EQ(pool1.data[(c * 4 + y) * 4 + x], m);
        ASSERT_GE(m, 0.0f);  // the fused ReLU
      }
  auto conv2 = network.read_tensor("conv2");
  auto gap = network.read_tensor("gap");
  for (int c = 0; c < 5; ++c) {
    double sum = std::accumulate(conv2.data.begin() + c * 16, conv2.data.begin() + (c + 1) * 16, 0.0);
    EXPECT_NEAR(gap.data[c], sum / 16, 1e-5);
  }
  EXPECT_NEAR(std::accumulate(output.data.begin(), output.data.end(), 0.0), 1.0, 1e-5);
  EXPECT_THROW(network.read_tensor("fc"), Error);       // not tapped
  EXPECT_THROW(network.read_tensor("nothing"), Error);  // not in the model
}

TEST(Network, ProfilingOnAndOffGiveIdenticalOutputs) {
  auto model = Model::from_bytes(small_classifier(13));
  Network network(context(), model, poisoned());
  auto input = random_vector(3 * 9 * 9, 14);
  auto plain = network.run(input);
  EXPECT_TRUE(network.last_profile().layers.empty());
  network.set_profiling(true);
  auto profiled = network.run(input);
  EXPECT_EQ(plain.data, profiled.data);

  const auto& profile = network.last_profile();
  if (!context().device().timestamps) GTEST_SKIP() << "device has no timestamps";
  ASSERT_EQ(profile.layers.size(), model.node_count());
  EXPECT_EQ(profile.layers[0].name, "conv1");
  EXPECT_EQ(profile.layers[0].op, "Conv2D");
  EXPECT_EQ(profile.layers[0].output_shape, (std::vector<int64_t>{1, 8, 9, 9}));
  double layer_sum = 0;
  for (const auto& layer : profile.layers) layer_sum += layer.gpu_us;
  EXPECT_GT(layer_sum, 0.0);
  EXPECT_LE(layer_sum, profile.gpu_us * 1.001);
  double parts = profile.upload_us + profile.submit_us + profile.wait_us + profile.readback_us;
  EXPECT_LE(parts, profile.total_us * 1.001);
  EXPECT_GE(parts, profile.total_us * 0.9);
  network.set_profiling(false);
  EXPECT_EQ(network.run(input).data, plain.data);
}

TEST(Network, RepeatedRunsReplayTheSameCommandBuffer) {
  auto model = Model::from_bytes(small_classifier(15));
  Network network(context(), model, poisoned());
  auto a = random_vector(3 * 9 * 9, 16);
  auto b = random_vector(3 * 9 * 9, 17);
  auto first = network.run(a).data;
  auto other = network.run(b).data;
  EXPECT_NE(first, other);
  EXPECT_EQ(network.run(a).data, first);
}

TEST(Network, MemoryPlanReusesActivationMemory) {
  auto model = Model::from_bytes(small_classifier(18));
  Network network(context(), model);
  auto report = network.memory();
  EXPECT_GT(report.arena_bytes, 0u);
  EXPECT_LT(report.arena_bytes, report.naive_arena_bytes);
  EXPECT_GE(report.weight_bytes, model.weight_bytes());
  EXPECT_EQ(network.layers().size(), model.node_count());
}

TEST(Network, WrongInputSizeIsAClearError) {
  auto model = Model::from_bytes(small_classifier(19));
  Network network(context(), model);
  std::vector<float> wrong(10, 0.0f);
  try {
    network.run(wrong);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[1x3x9x9]"), std::string::npos) << e.what();
  }
}

TEST(Network, TapOfUnknownTensorFailsAtLoad) {
  auto model = Model::from_bytes(small_classifier(20));
  NetworkOptions options;
  options.taps = {"no-such-layer"};
  EXPECT_THROW(Network(context(), model, options), Error);
}

TEST(Device, ListsDevicesAndRejectsBadChoices) {
  auto devices = Context::list_devices();
  ASSERT_FALSE(devices.empty());
  EXPECT_FALSE(devices[0].name.empty());
  EXPECT_GT(devices[0].subgroup_size, 0u);
  ContextOptions bad_index;
  bad_index.device_index = static_cast<uint32_t>(devices.size());
  EXPECT_THROW(Context{bad_index}, Error);
  ContextOptions bad_name;
  bad_name.device_name = "no device is called this";
  EXPECT_THROW(Context{bad_name}, Error);
  ContextOptions by_name;
  by_name.device_name = devices[0].name;
  EXPECT_EQ(Context(by_name).device().name, devices[0].name);
}

}  // namespace
}  // namespace vkbnn::test
