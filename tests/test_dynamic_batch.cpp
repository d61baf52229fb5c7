// Models converted with --dynamic-batch, built for another batch at run time
// (NetworkOptions::batch, Model::with_batch).
#include <limits>

#include "converter/converter.hpp"
#include "converter/writer/model_writer.hpp"
#include "support/onnx_graph.hpp"
#include "support/test_support.hpp"

namespace vkbnn::test {
namespace {

using Shape = std::vector<int64_t>;
constexpr size_t kImage = 3 * 8 * 8;

// Conv3x3(6)+ReLU -> MaxPool2 -> the Flatten PyTorch exports (Shape -> Gather -> Unsqueeze ->
// Concat -> Reshape, which folds to a constant holding the batch) -> Gemm(5) -> Softmax, with the
// batch dimension `batch` (<= 0: symbolic).
onnx::ModelProto classifier(int64_t batch) {
  OnnxGraph b;
  b.input("x", {batch, 3, 8, 8});
  b.floats("w1", {6, 3, 3, 3}, random_vector(6 * 27, 51));
  b.floats("b1", {6}, random_vector(6, 52));
  auto& conv = b.node("Conv", {"x", "w1", "b1"}, {"c"}, "conv");
  ints_attribute(conv, "pads", {1, 1, 1, 1});
  ints_attribute(conv, "kernel_shape", {3, 3});
  b.node("Relu", {"c"}, {"r"}, "relu");
  auto& pool = b.node("MaxPool", {"r"}, {"p"}, "pool");
  ints_attribute(pool, "kernel_shape", {2, 2});
  ints_attribute(pool, "strides", {2, 2});
  b.int64s("zero", {}, {0});
  b.int64s("minus_one", {1}, {-1});
  b.int64s("axes", {1}, {0});
  b.node("Shape", {"p"}, {"shape"});
  b.node("Gather", {"shape", "zero"}, {"n"});
  b.node("Unsqueeze", {"n", "axes"}, {"n1"});
  auto& concat = b.node("Concat", {"n1", "minus_one"}, {"target"});
  int_attribute(concat, "axis", 0);
  b.node("Reshape", {"p", "target"}, {"flat"}, "flatten");
  b.floats("w2", {5, 96}, random_vector(5 * 96, 53));
  b.floats("b2", {5}, random_vector(5, 54));
  auto& gemm = b.node("Gemm", {"flat", "w2", "b2"}, {"y"}, "fc");
  int_attribute(gemm, "transB", 1);
  b.node("Softmax", {"y"}, {"probabilities"}, "softmax");
  b.output("probabilities", {batch, 5});
  return b.model();
}

convert::Options dynamic(int64_t batch = 1) {
  convert::Options options;
  options.dynamic_batch = true;
  options.batch = batch;
  return options;
}

// A network built for batch 5 from a model converted at batch 1 gives, per image, what batch-1
// runs give, and what a model converted for batch 5 gives, bit for bit.
TEST(DynamicBatch, NetworkBatchOverridesTheConvertedOne) {
  const Model model = Model::from_bytes(convert::convert(classifier(-1), dynamic()));
  EXPECT_EQ(model.dynamic_batch(), 1);
  EXPECT_EQ(model.inputs()[0].shape, (Shape{1, 3, 8, 8}));
  convert::Options fixed;
  fixed.batch = 5;
  const Model converted_at_5 = Model::from_bytes(convert::convert(classifier(-1), fixed));
  EXPECT_EQ(converted_at_5.dynamic_batch(), 0);

  NetworkOptions options;
  options.poison_arena = true;
  options.batch = 5;
  Network batched(context(), model, options);
  EXPECT_EQ(batched.model().inputs()[0].shape, (Shape{5, 3, 8, 8}));
  EXPECT_EQ(batched.model().outputs()[0].shape, (Shape{5, 5}));
  const auto images = random_vector(5 * kImage, 55);
  const Tensor out = batched.run(images);
  ASSERT_EQ(out.shape, (Shape{5, 5}));

  NetworkOptions single;
  single.poison_arena = true;
  Network one(context(), model, single);
  for (size_t n = 0; n < 5; ++n) {
    const auto image = std::span<const float>(images).subspan(n * kImage, kImage);
    const Tensor expected = one.run(image);
    EXPECT_EQ(std::vector<float>(out.data.begin() + n * 5, out.data.begin() + (n + 1) * 5), expected.data) << n;
  }
  single.batch = 0;
  Network fixed_network(context(), converted_at_5, single);
  EXPECT_EQ(fixed_network.run(images).data, out.data);
}

// A static batch in the ONNX file is taken as the batch too.
TEST(DynamicBatch, StaticOnnxBatchBecomesDynamic) {
  const Model model = Model::from_bytes(convert::convert(classifier(1), dynamic(2)));
  EXPECT_EQ(model.dynamic_batch(), 2);
  EXPECT_EQ(model.inputs()[0].shape, (Shape{2, 3, 8, 8}));
  const Model at_3 = model.with_batch(3);
  EXPECT_EQ(at_3.inputs()[0].shape, (Shape{3, 3, 8, 8}));
  EXPECT_EQ(at_3.outputs()[0].shape, (Shape{3, 5}));
  EXPECT_EQ(at_3.dynamic_batch(), 3);
  // Back to batch 2: the file it came from, byte for byte.
  const Model back = at_3.with_batch(2);
  EXPECT_TRUE(std::equal(back.bytes().begin(), back.bytes().end(), model.bytes().begin(), model.bytes().end()));
}

TEST(DynamicBatch, FixedBatchModelsRefuseAnotherBatch) {
  const Model model = Model::from_bytes(convert::convert(classifier(-1)));
  EXPECT_EQ(model.dynamic_batch(), 0);
  EXPECT_EQ(model.with_batch(1).inputs()[0].shape, (Shape{1, 3, 8, 8}));
  expect_error([&] { model.with_batch(4); }, "converted for batch 1 only; convert it with --batch 4, or with --dynamic-batch");
  NetworkOptions options;
  options.batch = 4;
  expect_error([&] { Network(context(), model, options); }, "--dynamic-batch");
  const Model dynamic_model = Model::from_bytes(convert::convert(classifier(-1), dynamic()));
  expect_error([&] { dynamic_model.with_batch(0); }, "batch 0 is out of range");
  expect_error([&] { dynamic_model.with_batch(int64_t{1} << 40); }, "out of range");
  // A batch whose tensors are too large is the loader's clear error.
  expect_error([&] { dynamic_model.with_batch(int64_t{1} << 30); }, "too large");
}

// A Reshape to a constant [1, -1] or [1, 6] works at batch 1 only: at batch 2 the first
// makes [1, 12], which the classifier's weights do not fit, and the second does not convert.
TEST(DynamicBatch, ModelsThatDependOnTheBatchAreRefused) {
  for (const int64_t rows : {int64_t{-1}, int64_t{6}}) {
    OnnxGraph b;
    b.input("x", {-1, 2, 3});
    b.int64s("target", {2}, {1, rows});
    b.node("Reshape", {"x", "target"}, {"flat"}, "flatten");
    b.floats("w", {4, 6}, random_vector(24, 56));
    auto& gemm = b.node("Gemm", {"flat", "w"}, {"y"}, "fc");
    int_attribute(gemm, "transB", 1);
    b.output("y", {1, 4});
    EXPECT_NO_THROW(convert::convert(b.model()));
    expect_error([&] { convert::convert(b.model(), dynamic()); },
                 rows < 0 ? "--dynamic-batch: the model's computation depends on the batch: the model with its batch "
                            "axes scaled to batch 2 is invalid (node 'fc' (FullyConnected)"
                          : "--dynamic-batch: the model does not convert at batch 2: ");
  }
}

// The last image of the batch: the same output shape at every batch, but the Slice starts at batch - 1.
TEST(DynamicBatch, OpParametersThatDependOnTheBatchAreRefused) {
  OnnxGraph b;
  b.input("x", {-1, 4});
  b.int64s("starts", {1}, {-1});
  b.int64s("ends", {1}, {std::numeric_limits<int64_t>::max()});
  b.int64s("axes", {1}, {0});
  b.node("Slice", {"x", "starts", "ends", "axes"}, {"last"}, "last");
  b.node("Relu", {"last"}, {"y"}, "relu");
  b.output("y", {1, 4});
  EXPECT_NO_THROW(convert::convert(b.model()));
  // At batch 1 the Slice is the whole input (a Reshape): scaled to batch 2 it does not fit.
  expect_error([&] { convert::convert(b.model(), dynamic()); },
               "--dynamic-batch: the model's computation depends on the batch: the model with its batch axes scaled "
               "to batch 2 is invalid");
  // At batch 2 and 3 the shapes agree but the Slice starts at 1 and at 2.
  expect_error([&] { convert::convert(b.model(), dynamic(2)); },
               "--dynamic-batch: the model's computation depends on the batch: an op's parameters or a constant "
               "differ between batch 2 and 3");
}

// Hostile batch fields are load errors.
TEST(DynamicBatch, InvalidBatchFieldsAreRefusedAtLoad) {
  auto model = [](int32_t batch, int8_t input_axis) {
    convert::ModelWriter w;
    const uint32_t x = w.add_tensor("x", {2, 3}, fb::DataType::Float32, input_axis);
    const uint32_t s = w.add_constant("s", {3}, random_vector(3, 57));
    const uint32_t y = w.add_tensor("y", {2, 3}, fb::DataType::Float32, input_axis);
    w.add_node("mul", fb::OpParams::Binary, fb::CreateBinary(w.builder(), fb::BinaryKind::Mul).Union(), {x, s}, {y});
    w.set_inputs({x});
    w.set_outputs({y});
    w.set_batch(batch);
    return w.finish();
  };
  EXPECT_EQ(Model::from_bytes(model(2, 0)).with_batch(7).outputs()[0].shape, (Shape{7, 3}));
  expect_error([&] { Model::from_bytes(model(0, 0)); }, "has a batch axis but the model has no dynamic batch");
  expect_error([&] { Model::from_bytes(model(2, 2)); }, "has batch axis 2 of rank 2");
  expect_error([&] { Model::from_bytes(model(2, -1)); }, "graph input 'x' has no batch axis");
  expect_error([&] { Model::from_bytes(model(4, 0)); }, "not a multiple of the model's batch 4");
  expect_error([&] { Model::from_bytes(model(-3, -1)); }, "the model's batch is -3");
}

}  // namespace
}  // namespace vkbnn::test
