// Network::submit / wait: runs in flight give what blocking runs give, bit for bit.
#include <algorithm>
#include <atomic>
#include <deque>
#include <mutex>
#include <numeric>
#include <random>
#include <thread>

#include "support/small_models.hpp"
#include "support/test_support.hpp"

namespace vkbnn::test {
namespace {

constexpr size_t kInput = 3 * 9 * 9;

NetworkOptions in_flight(uint32_t slots) {
  NetworkOptions options;
  options.poison_arena = true;
  options.in_flight = slots;
  options.taps = {"conv1"};
  return options;
}

struct Expected {
  std::vector<std::vector<float>> inputs, outputs, taps;
};

// Distinct random inputs and what blocking runs of a separate Network give for them.
Expected blocking_runs(const Model& model, size_t count, uint32_t seed) {
  Expected e;
  Network network(context(), model, in_flight(1));
  for (size_t i = 0; i < count; ++i) {
    e.inputs.push_back(random_vector(kInput, seed + static_cast<uint32_t>(i)));
    e.outputs.push_back(network.run(e.inputs.back()).data);
    e.taps.push_back(network.read_tensor("conv1").data);
  }
  for (size_t i = 1; i < count; ++i) EXPECT_NE(e.outputs[i], e.outputs[0]);
  return e;
}

// More submits than slots (submit then frees the oldest, keeping its outputs), waited in a
// shuffled order, for 1, 2 and 3 slots.
TEST(AsyncRuns, OverlappedSubmitsEqualBlockingRunsBitForBit) {
  const Model model = Model::from_bytes(small_classifier(31));
  const Expected e = blocking_runs(model, 7, 32);
  for (uint32_t slots : {1u, 2u, 3u}) {
    SCOPED_TRACE("in_flight " + std::to_string(slots));
    Network network(context(), model, in_flight(slots));
    std::vector<Ticket> tickets;
    for (const auto& input : e.inputs) tickets.push_back(network.submit(input));
    for (size_t i = 0; i < tickets.size(); ++i) EXPECT_EQ(tickets[i].id(), i + 1);
    std::vector<size_t> order(tickets.size());
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), std::mt19937(slots));
    for (size_t i : order) {
      const auto outputs = network.wait(tickets[i]);
      ASSERT_EQ(outputs.size(), 1u);
      EXPECT_EQ(outputs[0].shape, (std::vector<int64_t>{1, 4}));
      EXPECT_EQ(outputs[0].data, e.outputs[i]) << "run " << i;
    }
    // A blocking run after the overlapped ones: the slots came back free.
    EXPECT_EQ(network.run(e.inputs[2]).data, e.outputs[2]);
  }
}

// The inputs are copied at submit(): overwriting the caller's buffer at once changes nothing.
TEST(AsyncRuns, InputsMayBeReusedAsSoonAsSubmitReturns) {
  const Model model = Model::from_bytes(small_classifier(33));
  const Expected e = blocking_runs(model, 3, 34);
  Network network(context(), model, in_flight(3));
  std::vector<float> buffer;
  std::vector<Ticket> tickets;
  for (const auto& input : e.inputs) {
    buffer = input;
    tickets.push_back(network.submit(buffer));
    std::fill(buffer.begin(), buffer.end(), 1e30f);
  }
  for (size_t i = 0; i < tickets.size(); ++i) EXPECT_EQ(network.wait(tickets[i])[0].data, e.outputs[i]);
}

// Intermediates are the latest submitted run's, read after the GPU has done it, even when its
// ticket has not been waited for yet.
TEST(AsyncRuns, TapsAreTheLatestSubmittedRuns) {
  const Model model = Model::from_bytes(small_classifier(35));
  const Expected e = blocking_runs(model, 2, 36);
  Network network(context(), model, in_flight(2));
  const Ticket first = network.submit(e.inputs[0]);
  const Ticket second = network.submit(e.inputs[1]);
  EXPECT_EQ(network.read_tensor("conv1").data, e.taps[1]);
  EXPECT_EQ(network.wait(second)[0].data, e.outputs[1]);
  EXPECT_EQ(network.wait(first)[0].data, e.outputs[0]);
}

TEST(AsyncRuns, TicketsAreWaitedOnceAndOnlyByTheirNetwork) {
  const Model model = Model::from_bytes(small_classifier(37));
  const Expected e = blocking_runs(model, 2, 38);
  Network network(context(), model, in_flight(2)), other(context(), model, in_flight(2));
  const Ticket ticket = network.submit(e.inputs[0]);
  const Ticket foreign = other.submit(e.inputs[1]);
  expect_error([&] { network.wait(foreign); }, "was issued by another Network");
  expect_error([&] { network.wait(Ticket{}); }, "an empty ticket");
  EXPECT_EQ(network.wait(ticket)[0].data, e.outputs[0]);
  expect_error([&] { network.wait(ticket); }, "ticket 1 was already waited for");
  // The refused waits left both networks working.
  EXPECT_EQ(other.wait(foreign)[0].data, e.outputs[1]);
  EXPECT_EQ(network.run(e.inputs[1]).data, e.outputs[1]);
}

TEST(AsyncRuns, InFlightOutOfRangeIsAnError) {
  const Model model = Model::from_bytes(small_classifier(39));
  expect_error([&] { Network(context(), model, in_flight(0)); }, "in_flight is 0; it must be 1 to 64");
  expect_error([&] { Network(context(), model, in_flight(65)); }, "in_flight is 65");
}

// A Network destroyed with runs pending waits for them first (the validation layer would see
// buffers destroyed under the GPU otherwise).
TEST(AsyncRuns, DestroyingANetworkWithRunsPending) {
  const Model model = Model::from_bytes(small_classifier(41));
  const auto input = random_vector(kInput, 42);
  Network network(context(), model, in_flight(3));
  for (int i = 0; i < 3; ++i) network.submit(input);
}

// One thread submits, another waits, through a queue of tickets; a third thread's blocking runs
// go in between. Every output is its own input's.
TEST(AsyncRuns, SubmitOnOneThreadWaitOnAnother) {
  const Model model = Model::from_bytes(small_classifier(43));
  const Expected e = blocking_runs(model, 4, 44);
  Network network(context(), model, in_flight(2));
  std::deque<std::pair<Ticket, size_t>> pending;
  std::mutex pending_mutex;
  std::atomic<bool> done{false};
  std::atomic<int> wrong{0}, waited{0};
  constexpr int kRuns = 40;
  std::thread producer([&] {
    for (int i = 0; i < kRuns; ++i) {
      const size_t which = static_cast<size_t>(i) % e.inputs.size();
      const Ticket t = network.submit(e.inputs[which]);
      std::lock_guard lock(pending_mutex);
      pending.emplace_back(t, which);
    }
    done = true;
  });
  std::thread consumer([&] {
    while (!done || waited < kRuns) {
      std::optional<std::pair<Ticket, size_t>> next;
      {
        std::lock_guard lock(pending_mutex);
        if (!pending.empty()) {
          next = pending.front();
          pending.pop_front();
        }
      }
      if (!next) {
        std::this_thread::yield();
        continue;
      }
      if (network.wait(next->first)[0].data != e.outputs[next->second]) ++wrong;
      ++waited;
    }
  });
  std::thread blocking([&] {
    for (int i = 0; i < 10; ++i)
      if (network.run(e.inputs[3]).data != e.outputs[3]) ++wrong;
  });
  producer.join();
  consumer.join();
  blocking.join();
  EXPECT_EQ(waited.load(), kRuns);
  EXPECT_EQ(wrong.load(), 0);
}

// Two threads wait for one ticket: one gets the outputs, the other a clear error.
TEST(AsyncRuns, TwoThreadsWaitingOneTicket) {
  const Model model = Model::from_bytes(small_classifier(45));
  const Expected e = blocking_runs(model, 1, 46);
  Network network(context(), model, in_flight(2));
  for (int round = 0; round < 10; ++round) {
    const Ticket ticket = network.submit(e.inputs[0]);
    std::atomic<int> got{0};
    std::vector<std::string> errors;
    std::mutex errors_mutex;
    auto waiter = [&] {
      try {
        if (network.wait(ticket)[0].data == e.outputs[0]) ++got;
      } catch (const Error& error) {
        std::lock_guard lock(errors_mutex);
        errors.push_back(error.what());
      }
    };
    std::thread a(waiter), b(waiter);
    a.join();
    b.join();
    EXPECT_EQ(got.load(), 1);
    ASSERT_EQ(errors.size(), 1u);
    const bool clear = errors[0].find("was already waited for") != std::string::npos ||
                       errors[0].find("is being waited for by another thread") != std::string::npos;
    EXPECT_TRUE(clear) << errors[0];
  }
}

TEST(AsyncRuns, ProfilesOfWaitedRuns) {
  const Model model = Model::from_bytes(small_classifier(47));
  const Expected e = blocking_runs(model, 2, 48);
  Network network(context(), model, in_flight(2));
  network.set_profiling(true);
  const Ticket a = network.submit(e.inputs[0]);
  network.set_profiling(false);
  const Ticket b = network.submit(e.inputs[1]);
  EXPECT_EQ(network.wait(a)[0].data, e.outputs[0]);
  const Profile profiled = network.last_profile();
  EXPECT_EQ(network.wait(b)[0].data, e.outputs[1]);
  EXPECT_TRUE(network.last_profile().layers.empty());
  EXPECT_GT(profiled.total_us, 0.0);
  EXPECT_LE(profiled.upload_us + profiled.submit_us + profiled.wait_us + profiled.readback_us,
            profiled.total_us * 1.001);
  EXPECT_EQ(profiled.layers.size(), model.node_count());  // lavapipe and the GPUs it runs on have timestamps
}

}  // namespace
}  // namespace vkbnn::test
