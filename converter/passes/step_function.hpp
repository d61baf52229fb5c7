#pragma once

// Whether a value is a binarization of a real tensor, found by evaluating the element-wise
// subgraph that computes it, however it is spelled: Sign, comparisons with Where, Not or Cast,
// clipping in front, negations and scales, the straight-through identity s - p + p.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ir.hpp"

namespace vkbnn::convert::detail {

// value = scale_c * b(source + threshold_c) per channel c, where b(y) = y >= 0 ? +1 : -1 is the
// engine's Binarize (sign(0) = +1); a negative scale_c is a negated sign.
struct StepFunction {
  std::string source;
  std::vector<float> threshold;
  std::vector<float> scale;
};

struct StepAnalysis {
  std::optional<StepFunction> step;
  // The tensors the value is an element-wise function of, nearest first (the value itself first):
  // where an Elastic-Link may read its real-valued input.
  std::vector<std::string> cuts;
  bool spelled_binary = false;  // the subgraph holds a Sign, comparison, Not, Where or Cast
  std::string why_not;          // why it is not a binarization, when spelled_binary and no step
};

// What an activation and a binary op compute, in double precision (the converter's evaluators).
double evaluate_activation(const fb::ActivationT& act, double x);
double evaluate_binary(fb::BinaryKind kind, double a, double b);

using ProducerOf = std::function<const Op*(const std::string&)>;

// The binarization that `value` (rank 2 or 4) computes, if any. The subgraph is evaluated per
// channel as a function of the source, exactly at its breakpoints and between them: the value
// must take two values +-a and change once, at a threshold that is resolved to the float where
// the comparison flips (so x > t and x >= t differ as they do in the model). ONNX's sign(0) = 0,
// a tie only at the threshold itself, is taken as +1.
StepAnalysis analyze_step(const Program& p, const ProducerOf& producer, const std::string& value);

}  // namespace vkbnn::convert::detail
