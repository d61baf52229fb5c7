#pragma once

// What the lowering of one ONNX node sees: the imported graph, the Program being built, and the
// helpers every op's lowering uses. lowering.cpp's Lowerer is one; ops whose lowering lives in
// a file of its own (this folder, one file per op family) take it as a LoweringContext and are
// listed in lowering.cpp's table beside the Lowerer's members.

#include <string>
#include <utility>
#include <vector>

#include "ir.hpp"

namespace vkbnn::convert::detail {

class LoweringContext {
 public:
  explicit LoweringContext(const ImportedGraph& graph);

  const ImportedGraph& graph() const { return g_; }
  Program& program() { return p_; }

  [[noreturn]] void fail(const onnx::NodeProto& node, const std::string& what) const { unsupported(what, node, g_); }
  std::string op_name(const onnx::NodeProto& node) const;
  bool has(const onnx::NodeProto& node, int k) const { return node.input_size() > k && !node.input(k).empty(); }
  // The constant input k, or nullptr when it is absent or computed.
  const Constant* constant(const onnx::NodeProto& node, int k) const;
  const Constant& require_constant(const onnx::NodeProto& node, int k, const std::string& what) const;
  // Input k, which must be computed.
  const std::string& activation(const onnx::NodeProto& node, int k) const;
  const Shape& shape(const std::string& name) const { return p_.shapes.at(name); }
  // Normalizes an axis attribute of a tensor of rank `rank` into [0, rank), failing for one
  // outside [-rank, rank).
  int64_t axis_in(const onnx::NodeProto& node, int64_t axis, size_t rank) const;

  std::string add_weight(const std::string& base, Shape dims, std::vector<float> data);
  // A constant input used as is, under its ONNX name.
  std::string weight_input(const onnx::NodeProto& node, int k);

  // A new op of type T (see Op::get); the parameters returned are valid until the next op.
  template <class T>
  T& add_op(const std::string& name, std::vector<std::string> inputs, const std::string& output) {
    Op op;
    op.name = name;
    op.inputs = std::move(inputs);
    op.output = output;
    op.set(T{});
    p_.ops.push_back(std::move(op));
    return *p_.ops.back().get<T>();
  }
  void add_reshape(const std::string& name, const std::string& input, const std::string& output, Shape out_shape);

 protected:
  const ImportedGraph& g_;
  Program p_;
};

// The lowerings in files of their own.
void lower_arg_reduce(LoweringContext& l, const onnx::NodeProto& node);  // arg_reduce.cpp
void lower_gather(LoweringContext& l, const onnx::NodeProto& node);      // gather.cpp

}  // namespace vkbnn::convert::detail
