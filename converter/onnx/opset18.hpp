#pragma once

// Opset-18 models read with an ONNX library whose newest opset is 17 (Debian's 1.12): the nodes
// whose schema changed in 18 are rewritten into their opset-17 forms before the library's checker
// and shape inference judge them.

#include <cstddef>

#include <onnx/onnx_pb.h>

#include "ir.hpp"

namespace vkbnn::convert::detail {

// The opset whose nodes rewrite_opset18_nodes turns into opset-17 ones.
constexpr int64_t kRewrittenOpset = 18;

// Rewrites, in place, every node of `model` (an ai.onnx opset-18 model) whose opset-18 schema
// differs from its opset-17 one: the Reduce ops' axes input, Split's num_outputs, Resize's
// antialias, axes and keep_aspect_ratio_policy, Pad's axes input, Mish (new in 18). Values the
// rewritten nodes need from the data's shape (Split sizes, the pads or scales of all axes) are
// computed by added nodes that folding evaluates once the shapes are known. Then sets the model's
// ai.onnx opset to 17. Throws UnsupportedError naming the node and attribute where opset 17 cannot
// express what the node computes. `graph` names nodes.
struct Opset18Rewrite {
  size_t rewritten = 0;  // nodes of the model
  size_t added = 0;      // nodes that compute what the rewritten ones need
};
Opset18Rewrite rewrite_opset18_nodes(onnx::ModelProto& model, const ImportedGraph& graph);

}  // namespace vkbnn::convert::detail
