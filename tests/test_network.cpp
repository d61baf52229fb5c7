#include <atomic>
#include <cmath>
#include <mutex>
#include <numeric>
#include <thread>

#include "converter/writer/model_writer.hpp"
#include "ops/op.hpp"
#include "reference/conv_reference.hpp"
#include "reference/elementwise_reference.hpp"
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
  ASSERT_TRUE(context().device().timestamps) << "the device the suite runs on must have timestamps";
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

// Runs `work(thread)` on two threads at once; returns the messages of what they threw.
template <class Work>
std::vector<std::string> on_two_threads(Work work) {
  std::vector<std::string> errors;
  std::mutex errors_mutex;
  auto guarded = [&](int thread) {
    try {
      work(thread);
    } catch (const std::exception& e) {
      std::lock_guard lock(errors_mutex);
      errors.push_back(e.what());
    }
  };
  std::thread first(guarded, 0), second(guarded, 1);
  first.join();
  second.join();
  return errors;
}

// Two threads share one Network: each run returns what the same input gives single-threaded,
// every tap read back is one of the two runs' values, and the validation layer (which sees a
// fence or command buffer used by two submissions at once) stays quiet. Profiling is switched
// under the other thread's runs, so the profiled command buffer is recorded meanwhile too.
TEST(Network, OneNetworkSharedByTwoThreads) {
  auto model = Model::from_bytes(small_classifier(21));
  NetworkOptions options;
  options.taps = {"conv1"};
  Network network(context(), model, poisoned(options));
  const std::vector<std::vector<float>> inputs = {random_vector(3 * 9 * 9, 22), random_vector(3 * 9 * 9, 23)};
  std::vector<std::vector<float>> expected, expected_tap;
  for (const auto& input : inputs) {
    expected.push_back(network.run(input).data);
    expected_tap.push_back(network.read_tensor("conv1").data);
  }
  ASSERT_NE(expected[0], expected[1]);
  std::atomic<int> wrong_outputs{0}, wrong_taps{0}, torn_profiles{0};
  auto errors = on_two_threads([&](int thread) {
    for (int i = 0; i < 40; ++i) {
      if (network.run(inputs[thread]).data != expected[thread]) ++wrong_outputs;
      const auto tap = network.read_tensor("conv1").data;
      if (tap != expected_tap[0] && tap != expected_tap[1]) ++wrong_taps;
      network.set_profiling(i % 3 == thread);
      const size_t profiled = network.last_profile().layers.size();
      if (profiled != 0 && profiled != model.node_count()) ++torn_profiles;
    }
  });
  EXPECT_EQ(errors, std::vector<std::string>{});
  EXPECT_EQ(wrong_outputs.load(), 0);
  EXPECT_EQ(wrong_taps.load(), 0);
  EXPECT_EQ(torn_profiles.load(), 0);
}

// The use the engine is built for: threads with a Network each, built and run at the same time on
// one Context, give the single-threaded outputs.
TEST(Network, ThreadsWithTheirOwnNetworksShareOneContext) {
  auto model = Model::from_bytes(small_classifier(24));
  const std::vector<std::vector<float>> inputs = {random_vector(3 * 9 * 9, 25), random_vector(3 * 9 * 9, 26)};
  std::vector<std::vector<float>> expected;
  {
    Network network(context(), model, poisoned());
    for (const auto& input : inputs) expected.push_back(network.run(input).data);
  }
  ASSERT_NE(expected[0], expected[1]);
  std::atomic<int> wrong_outputs{0};
  auto errors = on_two_threads([&](int thread) {
    Network own(context(), model, poisoned());
    for (int i = 0; i < 40; ++i)
      if (own.run(inputs[thread]).data != expected[thread]) ++wrong_outputs;
  });
  EXPECT_EQ(errors, std::vector<std::string>{});
  EXPECT_EQ(wrong_outputs.load(), 0);
}

// Two diamonds, each a tensor read by two branches that are then added:
//   a = relu(conv3x3(x)); c = conv1x1(a) + conv3x3(a); e = conv1x1(c) + sigmoid(c).
// The recorder must decide every barrier: the branches of a diamond only read what came before
// (no barrier between them), their sum reads both (one before it), and the memory plan puts later
// tensors into regions of dead ones (b1 and b2 into what a and x held, and so on), so a write can
// race an earlier read of the same words. Synchronization validation sees any missing barrier that
// lavapipe's results would not (each dispatch binds only the tensors it touches, so it sees no
// hazard where the recorder rightly leaves a barrier out).
TEST(Network, DiamondsWithArenaReuseMatchTheReference) {
  // The suite's contexts have the synchronization checks on (tests/support, tests/CMakeLists.txt).
  ASSERT_STREQ(std::getenv("VKBNN_VALIDATION"), "sync");
  using Shape = std::vector<int64_t>;
  const Shape x_shape{1, 4, 8, 8}, y_shape{1, 8, 8, 8}, w3a{8, 4, 3, 3}, w1{8, 8, 1, 1}, w3{8, 8, 3, 3};
  const auto x = random_vector(4 * 64, 40);
  const auto wa = random_vector(8 * 4 * 9, 41), wb1 = random_vector(64, 42), wb2 = random_vector(64 * 9, 43),
             wd1 = random_vector(64, 44);
  convert::ModelWriter w;
  auto& b = w.builder();
  auto ints = [&](std::vector<int32_t> v) { return b.CreateVector(v); };
  auto conv = [&](const std::string& name, uint32_t in, const Shape& w_shape, const std::vector<float>& weights,
                  fb::ActivationKind act) {
    const int32_t k = static_cast<int32_t>(w_shape[2]), pad = k / 2;
    const uint32_t weight = w.add_constant(name + ".w", w_shape, weights);
    const uint32_t out = w.add_tensor(name, y_shape);
    w.add_node(name, fb::OpParams::Conv2D,
               fb::CreateConv2D(b, ints({k, k}), ints({1, 1}), ints({1, 1}), ints({pad, pad, pad, pad}), 1,
                                fb::CreateActivation(b, act))
                   .Union(),
               {in, weight}, {out});
    return out;
  };
  auto add = [&](const std::string& name, uint32_t lhs, uint32_t rhs) {
    const uint32_t out = w.add_tensor(name, y_shape);
    w.add_node(name, fb::OpParams::Binary, fb::CreateBinary(b, fb::BinaryKind::Add).Union(), {lhs, rhs}, {out});
    return out;
  };
  const uint32_t in = w.add_tensor("x", x_shape);
  const uint32_t a = conv("a", in, w3a, wa, fb::ActivationKind::Relu);
  const uint32_t c = add("c", conv("b1", a, w1, wb1, fb::ActivationKind::None),
                         conv("b2", a, w3, wb2, fb::ActivationKind::None));
  const uint32_t d2 = w.add_tensor("d2", y_shape);
  w.add_node("d2", fb::OpParams::ActivationOp,
             fb::CreateActivationOp(b, fb::CreateActivation(b, fb::ActivationKind::Sigmoid)).Union(), {c}, {d2});
  const uint32_t e = add("e", conv("d1", c, w1, wd1, fb::ActivationKind::None), d2);
  w.set_inputs({in});
  w.set_outputs({e});
  const auto model = Model::from_bytes(w.finish());

  ref::Conv2D relu3, plain1, plain3;
  relu3.kernel_h = relu3.kernel_w = plain3.kernel_h = plain3.kernel_w = 3;
  relu3.pad_top = relu3.pad_left = relu3.pad_bottom = relu3.pad_right = 1;
  plain3.pad_top = plain3.pad_left = plain3.pad_bottom = plain3.pad_right = 1;
  relu3.activation.kind = fb::ActivationKind::Relu;
  const auto ra = ref::conv2d(x, x_shape, wa, w3a, {}, relu3);
  const auto rc = ref::binary(fb::BinaryKind::Add, ref::conv2d(ra, y_shape, wb1, w1, {}, plain1), y_shape,
                              ref::conv2d(ra, y_shape, wb2, w3, {}, plain3), y_shape);
  const auto re = ref::binary(fb::BinaryKind::Add, ref::conv2d(rc, y_shape, wd1, w1, {}, plain1), y_shape,
                              ref::activation(rc, {fb::ActivationKind::Sigmoid}), y_shape);

  Network network(context(), model, poisoned());
  const auto report = network.memory();
  // Six 2 KiB activations (and x) live in the space of three: regions are reused.
  EXPECT_LE(report.arena_bytes, 3 * 8 * 64 * sizeof(float));
  EXPECT_LT(report.arena_bytes, report.naive_arena_bytes);
  for (int run = 0; run < 3; ++run) EXPECT_TRUE(all_close(network.run(x).data, re, 1e-5f, 1e-5f)) << "run " << run;
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

TEST(Network, LayersCarryEachOpsNameAndMetadata) {
  auto model = Model::from_bytes(small_classifier(18));
  Network network(context(), model);
  struct Expected {
    const char* op;
    Precision precision;
    const char* precision_name;
    uint64_t macs;
    uint64_t weight_floats;
  };
  // MACs by hand: output elements times the weights of one output channel. Weights: W and B.
  const std::vector<Expected> expected = {{"Conv2D", Precision::Fp32, "fp32", 8 * 9 * 9 * (3 * 3 * 3), 8 * 27 + 8},
                                          {"Pool2D", Precision::Fp32, "fp32", 0, 0},
                                          {"Conv2D", Precision::Fp32, "fp32", 5 * 4 * 4 * 8, 5 * 8},
                                          {"GlobalPool", Precision::Fp32, "fp32", 0, 0},
                                          {"Reshape", Precision::None, "-", 0, 0},
                                          {"FullyConnected", Precision::Fp32, "fp32", 4 * 5, 20 + 4},
                                          {"Softmax", Precision::Fp32, "fp32", 0, 0}};
  const auto& layers = network.layers();
  ASSERT_EQ(layers.size(), expected.size());
  for (size_t k = 0; k < layers.size(); ++k) {
    EXPECT_EQ(layers[k].op, expected[k].op) << layers[k].name;
    EXPECT_EQ(layers[k].precision, expected[k].precision) << layers[k].name;
    EXPECT_STREQ(to_string(layers[k].precision), expected[k].precision_name) << layers[k].name;
    EXPECT_EQ(layers[k].macs, expected[k].macs) << layers[k].name;
    EXPECT_EQ(layers[k].weight_bytes, expected[k].weight_floats * sizeof(float)) << layers[k].name;
  }
}

TEST(Network, EverySchemaOpIsRegistered) {
  for (auto type = static_cast<int>(fb::OpParams::MIN) + 1; type <= static_cast<int>(fb::OpParams::MAX); ++type) {
    const auto& kind = detail::op_kind(static_cast<fb::OpParams>(type));
    EXPECT_NE(kind.check, nullptr) << fb::EnumNameOpParams(static_cast<fb::OpParams>(type));
    EXPECT_EQ(kind.lower == nullptr, kind.alias) << fb::EnumNameOpParams(static_cast<fb::OpParams>(type));
  }
  EXPECT_THROW(detail::op_kind(fb::OpParams::NONE), ModelError);
  EXPECT_THROW(detail::op_kind(static_cast<fb::OpParams>(static_cast<int>(fb::OpParams::MAX) + 1)), ModelError);
}

TEST(Network, WrongInputSizeIsAClearError) {
  auto model = Model::from_bytes(small_classifier(19));
  Network network(context(), model);
  std::vector<float> wrong(10, 0.0f);
  try {
    network.run(wrong);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("1x3x9x9"), std::string::npos) << e.what();
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
