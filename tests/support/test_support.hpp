#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "vkbnn/vkbnn.hpp"

namespace vkbnn::test {

// One Context for the whole test binary, with the Khronos validation layer on. The test
// environment fails any test during which a validation message appeared.
Context& context();
// The same device with subgroup operations and integer dot products off, for the kernels'
// portable variants.
Context& portable_context();

std::vector<float> random_vector(size_t count, uint32_t seed, float lo = -1.0f, float hi = 1.0f);
// Uniform over [lo, hi], both ends included.
std::vector<int32_t> random_ints(size_t count, uint32_t seed, int32_t lo, int32_t hi);

// Builds a Network over the model (arena poisoned with NaN before the run) on `on` (default:
// context()) and runs it once. With `layers`, also returns the Network's layers (which shaders ran).
std::vector<Tensor> run_model(const std::vector<uint8_t>& model_bytes,
                              const std::vector<std::vector<float>>& inputs,
                              NetworkOptions options = {}, Context* on = nullptr,
                              std::vector<LayerInfo>* layers = nullptr);

// The shaders every layer ran, in order: what a test of a kernel variant checks it selected.
std::vector<std::string> shaders_of(const std::vector<LayerInfo>& layers);

// Element-wise |a - e| <= atol + rtol * |e|, reporting the first mismatches; NaN always fails.
::testing::AssertionResult all_close(std::span<const float> actual, std::span<const float> expected,
                                     float rtol, float atol);

// Relative L2 error ||a - e|| / ||e||.
double relative_l2(std::span<const float> actual, std::span<const float> expected);

// What a test that exported a model with its input (tests/python/*.py) and converted it needs:
// the outputs of dir/name.vkbnn on dir/name.input.npy, run with a poisoned arena.
std::vector<Tensor> run_exported(const std::filesystem::path& dir, const std::string& name);

// Where test data lives: the source tree, the build tree.
std::string source_dir();
std::string binary_dir();

// Runs `body`, expecting a vkbnn::Error whose message contains `part`.
template <class Body>
void expect_error(Body&& body, const std::string& part) {
  try {
    body();
    ADD_FAILURE() << "expected an error containing '" << part << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

}  // namespace vkbnn::test
