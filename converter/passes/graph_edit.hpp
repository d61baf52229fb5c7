#pragma once

// What the rewriting passes (fusion.cpp, binarize.cpp) share: who produces and who consumes each
// value of a Program, and ops marked dead during a pass and dropped at its end. A rewrite keeps
// the fused op at the position of the op that produced the first tensor, so the list stays in
// topological order.

#include <functional>
#include <map>
#include <queue>
#include <set>
#include <string>
#include <vector>

#include "ir.hpp"

namespace vkbnn::convert::detail {

class GraphEdit {
 public:
  explicit GraphEdit(Program& p) : p_(p) { index(); }

  void index() {
    producer_.clear();
    consumers_.clear();
    dead_.assign(p_.ops.size(), false);
    for (size_t i = 0; i < p_.ops.size(); ++i) {
      producer_[p_.ops[i].output] = i;
      for (const auto& in : p_.ops[i].inputs) consumers_[in].push_back(i);
    }
    outputs_ = std::set<std::string>(p_.outputs.begin(), p_.outputs.end());
  }

  // Drops the dead ops and indexes the rest.
  void compact() {
    std::vector<Op> kept;
    for (size_t i = 0; i < p_.ops.size(); ++i)
      if (!dead_[i]) kept.push_back(std::move(p_.ops[i]));
    p_.ops = std::move(kept);
    index();
  }

  // Stable topological order: among ready ops the earliest in the list goes first.
  void sort() {
    std::vector<size_t> waiting(p_.ops.size(), 0);
    std::map<std::string, std::vector<size_t>> consumers;
    for (size_t i = 0; i < p_.ops.size(); ++i)
      for (const auto& in : p_.ops[i].inputs)
        if (producer_.count(in)) {
          ++waiting[i];
          consumers[in].push_back(i);
        }
    std::priority_queue<size_t, std::vector<size_t>, std::greater<>> ready;
    for (size_t i = 0; i < p_.ops.size(); ++i)
      if (!waiting[i]) ready.push(i);
    std::vector<Op> sorted;
    while (!ready.empty()) {
      size_t i = ready.top();
      ready.pop();
      sorted.push_back(p_.ops[i]);
      for (size_t c : consumers[p_.ops[i].output])
        if (--waiting[c] == 0) ready.push(c);
    }
    if (sorted.size() != p_.ops.size()) throw ModelError("the graph has a cycle");
    p_.ops = std::move(sorted);
    index();
  }

 protected:
  // Reads of `value` by ops, plus one if it is a graph output.
  size_t uses(const std::string& value) const {
    auto it = consumers_.find(value);
    return (it == consumers_.end() ? 0 : it->second.size()) + outputs_.count(value);
  }

  // The live op that produces `value`.
  Op* producer(const std::string& value) {
    auto it = producer_.find(value);
    return it == producer_.end() || dead_[it->second] ? nullptr : &p_.ops[it->second];
  }

  // The live op that is a T (see Op::get) producing `value` when nothing else reads value.
  template <class T>
  Op* sole_producer(const std::string& value) {
    Op* op = uses(value) == 1 ? producer(value) : nullptr;
    return op && op->is<T>() ? op : nullptr;
  }

  // The live op that is the only reader of `value`, when value is not a graph output either.
  Op* sole_consumer(const std::string& value) {
    if (uses(value) != 1 || outputs_.count(value)) return nullptr;
    const size_t i = consumers_.at(value).front();
    return dead_[i] ? nullptr : &p_.ops[i];
  }

  size_t index_of(const Op& op) const { return static_cast<size_t>(&op - p_.ops.data()); }
  void kill(const Op& op) { dead_[index_of(op)] = true; }
  bool dead(const Op& op) const { return dead_[index_of(op)]; }
  // After an op's output was renamed to the value it now computes.
  void produced_by(const Op& op) { producer_[op.output] = index_of(op); }

  Program& p_;
  std::map<std::string, size_t> producer_;
  std::map<std::string, std::vector<size_t>> consumers_;
  std::set<std::string> outputs_;
  std::vector<bool> dead_;
};

}  // namespace vkbnn::convert::detail
