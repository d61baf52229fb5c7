// Fuzz target: any bytes as an ONNX file for the converter. It must refuse them with a
// ModelError or UnsupportedError, or convert them to a model the engine loads; any other
// exception (InternalError included), crash, sanitizer report or unbounded allocation is a
// finding.

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <vector>

#include "converter/converter.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  onnx::ModelProto model;
  if (!model.ParseFromArray(data, static_cast<int>(size)) || !model.has_graph()) return 0;
  std::vector<uint8_t> bytes;
  try {
    bytes = vkbnn::convert::convert(std::move(model));
  } catch (const vkbnn::convert::InternalError& e) {
    std::cerr << e.what() << "\n";
    std::abort();
  } catch (const vkbnn::Error&) {
    return 0;
  }
  // A converted model the engine refuses escapes as an exception: a finding.
  vkbnn::Model::from_bytes(std::move(bytes), "the converted model");
  return 0;
}
