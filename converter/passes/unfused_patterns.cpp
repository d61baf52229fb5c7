// The sign patterns (comparisons, Not, Where, Cast, Sign) that the binarization pass did not
// fuse into a binary layer compute what ONNX says at run time: comparisons and casts to bool
// become Binary ops (1.0 or 0.0), Not and Sign activations, Where the engine's Where, and the
// other casts what lowering makes of a Cast of a non-pattern value.

#include <iterator>
#include <set>
#include <vector>

#include "ir.hpp"
#include "lowering/lowerer.hpp"

namespace vkbnn::convert::detail {
namespace {

fb::BinaryKind binary_kind(pattern::CompareKind kind) {
  switch (kind) {
    case pattern::CompareKind::Greater: return fb::BinaryKind::Greater;
    case pattern::CompareKind::GreaterOrEqual: return fb::BinaryKind::GreaterOrEqual;
    case pattern::CompareKind::Less: return fb::BinaryKind::Less;
    case pattern::CompareKind::LessOrEqual: return fb::BinaryKind::LessOrEqual;
    case pattern::CompareKind::Equal: return fb::BinaryKind::Equal;
  }
  throw InternalError("unknown comparison");
}

bool boolean_kind(fb::BinaryKind kind) { return kind >= fb::BinaryKind::Equal && kind <= fb::BinaryKind::Xor; }

void set_activation(Op& op, fb::ActivationKind kind) { op.set(fb::ActivationOpT{}).activation->kind = kind; }

// Makes op a Binary of a and b; the ops that expand its operands, if any, are added to `before`.
void set_binary(Program& p, Op& op, fb::BinaryKind kind, std::string a, std::string b, std::vector<Op>& before) {
  order_binary_operands(p, op.name, kind, a, b, op.output, before);
  op.inputs = {a, b};
  op.set(fb::BinaryT{}).kind = kind;
}

// The engine's Where takes operands of at most the output's rank; ONNX's scalars are stored as
// [1], which a scalar output's [1] holds already, and other constants may carry leading 1s.
std::string within_rank(Program& p, const std::string& operand, size_t rank) {
  if (!p.is_weight(operand) || p.weights.at(operand).shape.size() <= rank) return operand;
  Weight w = p.weights.at(operand);
  while (w.shape.size() > rank && w.shape.front() == 1) w.shape.erase(w.shape.begin());
  if (w.shape.size() > rank) throw InternalError("the constant '" + operand + "' has more axes than Where's output");
  const std::string name = p.fresh_name(operand + "_trimmed");
  p.weights[name] = std::move(w);
  return name;
}

}  // namespace

void lower_unfused_patterns(Program& p) {
  // Values known to hold only 0 and 1, whose cast to bool changes nothing.
  std::set<std::string> boolean;
  for (size_t i = 0; i < p.ops.size(); ++i) {
    Op& op = p.ops[i];
    std::vector<Op> before;
    if (op.is<pattern::Sign>()) {
      set_activation(op, fb::ActivationKind::Sign);
    } else if (op.is<pattern::Not>()) {
      set_activation(op, fb::ActivationKind::Not);
    } else if (const auto* compare = op.get<pattern::Compare>()) {
      set_binary(p, op, binary_kind(compare->kind), op.inputs[0], op.inputs[1], before);
    } else if (op.is<pattern::Where>()) {
      const size_t rank = p.shapes.at(op.output).size();
      for (auto& in : op.inputs) in = within_rank(p, in, rank);
      op.set(fb::WhereT{});
    } else if (const auto* cast = op.get<pattern::Cast>()) {
      const std::string& x = op.inputs[0];
      const bool exact = boolean.count(x) || p.integer_values.count(x);
      if (cast->kind == pattern::CastKind::Bool && !boolean.count(x)) {
        // x != 0 as the truth of x, or false.
        const std::string no = p.fresh_name(op.name + "_false");
        p.weights[no] = {{1}, {0.0f}};
        set_binary(p, op, fb::BinaryKind::Or, x, no, before);
      } else if (cast->kind == pattern::CastKind::Integer && !exact) {
        set_activation(op, fb::ActivationKind::Trunc);
      } else {
        op.set(fb::ReshapeT{});
      }
    }
    const auto* binary = op.get<fb::BinaryT>();
    const auto* act = op.get<fb::ActivationOpT>();
    if ((binary && boolean_kind(binary->kind)) || (act && act->activation->kind == fb::ActivationKind::Not) ||
        (op.is<fb::ReshapeT>() && boolean.count(op.inputs[0])))
      boolean.insert(op.output);
    // Later passes read the ops in topological order.
    p.ops.insert(p.ops.begin() + static_cast<ptrdiff_t>(i), std::make_move_iterator(before.begin()),
                 std::make_move_iterator(before.end()));
    i += before.size();
  }
}

}  // namespace vkbnn::convert::detail
