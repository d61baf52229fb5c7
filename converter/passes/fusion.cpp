#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>

#include "passes/graph_edit.hpp"
#include "passes/step_function.hpp"

namespace vkbnn::convert::detail {
namespace {

// [C], [C,1,1], [1,C,1,1]... against an output [N, C, ...]: one value per channel on axis 1.
bool one_per_channel(const Shape& b, const Shape& out) {
  if (b.size() > out.size() || out.size() < 2 || b.size() < out.size() - 1) return false;
  size_t lead = out.size() - b.size();
  for (size_t d = lead; d < out.size(); ++d)
    if (b[d - lead] != (d == 1 ? out[1] : 1)) return false;
  return true;
}

// A Reshape from `from` to `to` that keeps axes 0 and 1 and only drops or adds axes of length 1
// after them: each channel's values stay in their order.
bool keeps_channels(const Shape& from, const Shape& to) {
  if (from.size() < 2 || to.size() < 2 || from[0] != to[0] || from[1] != to[1]) return false;
  auto squeezed = [](const Shape& s) {
    Shape rest;
    for (size_t d = 2; d < s.size(); ++d)
      if (s[d] != 1) rest.push_back(s[d]);
    return rest;
  };
  return squeezed(from) == squeezed(to);
}

class Rewriter : public GraphEdit {
 public:
  using GraphEdit::GraphEdit;
  using GraphEdit::compact;
  using GraphEdit::index;
  using GraphEdit::sort;

  // A per-channel op (an activation, BatchNormalization's ChannelAffine, a Binary with one value
  // or one per channel) that reads a Reshape keeping axes 0 and 1 and dropping or adding only
  // axes of length 1 after them computes the same before it. 1-D Conv and ConvTranspose run
  // lifted to 2-D between such Reshapes (onnx/lift_1d.cpp); moved above the Reshape, the op is
  // next to the convolution, which fuses it.
  void hoist_past_unit_reshapes() {
    bool moved = false;
    for (size_t i = 0; i < p_.ops.size(); ++i) {
      Op& op = p_.ops[i];
      if (op.inputs.empty()) continue;
      Op* reshape = sole_producer<fb::ReshapeT>(op.inputs[0]);
      if (!reshape || p_.is_weight(reshape->inputs[0])) continue;
      const std::string before = reshape->inputs[0];
      const Op* source = uses(before) == 1 ? producer(before) : nullptr;
      if (!source || !(source->is<fb::Conv2DT>() || source->is<fb::ConvTranspose2DT>() ||
                       source->is<fb::ChannelAffineT>() || source->is<fb::ActivationOpT>() || source->is<fb::BinaryT>()))
        continue;
      const Shape& from = p_.shapes.at(before);
      const Shape& to = p_.shapes.at(reshape->output);
      if (!keeps_channels(from, to) || p_.shapes.at(op.output) != to) continue;
      std::optional<std::string> operand;
      if (op.is<fb::BinaryT>()) {
        if (op.inputs.size() != 2 || !p_.is_weight(op.inputs[1])) continue;
        const Weight& w = p_.weights.at(op.inputs[1]);
        if (w.data.size() == 1) {
          operand = op.inputs[1];
        } else if (one_per_channel(w.shape, to)) {
          Shape per_channel(from.size(), 1);
          per_channel[1] = from[1];
          operand = p_.fresh_name(op.inputs[1] + "_per_channel");
          p_.weights[*operand] = {per_channel, w.data};
        } else {
          continue;
        }
      } else if (!op.is<fb::ActivationOpT>() && !op.is<fb::ChannelAffineT>()) {
        continue;
      }
      const std::string value = p_.fresh_name(op.output + "_unreshaped");
      p_.shapes[value] = from;
      if (p_.integer_values.count(op.output)) p_.integer_values.insert(value);
      reshape->inputs[0] = value;
      reshape->output = op.output;
      op.inputs[0] = before;
      if (operand) op.inputs[1] = *operand;
      op.output = value;
      moved = true;
      index();
    }
    if (moved) sort();
  }

  // Reshape of a Reshape read by nothing else is one Reshape, and one to the shape it reads is
  // none (the lifted 1-D ops leave such pairs between them).
  void merge_reshapes() {
    for (auto& op : p_.ops) {
      if (!op.is<fb::ReshapeT>() || p_.is_weight(op.inputs[0])) continue;
      if (Op* first = sole_producer<fb::ReshapeT>(op.inputs[0]); first && !p_.is_weight(first->inputs[0])) {
        op.inputs[0] = first->inputs[0];
        kill(*first);
      }
      const std::string in = op.inputs[0];
      if (p_.shapes.at(in) != p_.shapes.at(op.output) || outputs_.count(op.output) || p_.is_weight(in)) continue;
      for (auto& reader : p_.ops)
        for (auto& x : reader.inputs)
          if (x == op.output) x = in;
      kill(op);
    }
    compact();
  }

  // MatMul/Gemm/Conv without bias followed by Add of one value per channel: the Add is the bias.
  void fuse_bias() {
    for (auto& add : p_.ops) {
      if (!add.is<fb::BinaryT>() || add.get<fb::BinaryT>()->kind != fb::BinaryKind::Add || add.act().kind != fb::ActivationKind::None)
        continue;
      if (!p_.is_weight(add.inputs[1])) continue;
      Op* producer = sole_producer<fb::FullyConnectedT>(add.inputs[0]);
      if (!producer) producer = sole_producer<fb::Conv2DT>(add.inputs[0]);
      if (!producer || producer->inputs.size() != 2 || producer->act().kind != fb::ActivationKind::None) continue;
      const Weight& b = p_.weights.at(add.inputs[1]);
      const Shape& out = p_.shapes.at(add.output);
      int64_t channels = out[1];
      if (!one_per_channel(b.shape, out) && b.data.size() != 1) continue;
      std::vector<float> bias(static_cast<size_t>(channels), b.data[0]);
      if (b.data.size() > 1) bias = b.data;
      std::string name = p_.fresh_name(producer->name + "_bias");
      p_.weights[name] = {{channels}, std::move(bias)};
      producer->inputs.push_back(name);
      producer->output = add.output;
      kill(add);
    }
    compact();
  }

  // A Mul by one value per output channel (or one value) right after a Conv or FullyConnected,
  // such as a binarized layer's alpha applied after the convolution, scales its weights.
  void fold_channel_scale() {
    for (auto& mul : p_.ops) {
      if (!mul.is<fb::BinaryT>() || mul.get<fb::BinaryT>()->kind != fb::BinaryKind::Mul || mul.act().kind != fb::ActivationKind::None ||
          !p_.is_weight(mul.inputs[1]))
        continue;
      Op* producer = sole_producer<fb::Conv2DT>(mul.inputs[0]);
      if (!producer) producer = sole_producer<fb::FullyConnectedT>(mul.inputs[0]);
      if (!producer || producer->act().kind != fb::ActivationKind::None) continue;
      const Weight& factor = p_.weights.at(mul.inputs[1]);
      const Shape& out = p_.shapes.at(mul.output);
      if (factor.data.size() != 1 && !one_per_channel(factor.shape, out)) continue;
      Weight w = p_.weights.at(producer->inputs[1]);
      const size_t m = static_cast<size_t>(w.shape[0]), per = w.data.size() / m;
      auto scale_of = [&](size_t c) { return factor.data.size() == 1 ? factor.data[0] : factor.data[c]; };
      for (size_t c = 0; c < m; ++c)
        for (size_t k = 0; k < per; ++k) w.data[c * per + k] *= scale_of(c);
      std::string w_name = p_.fresh_name(producer->name + "_weight_scaled");
      p_.weights[w_name] = std::move(w);
      producer->inputs[1] = w_name;
      if (producer->inputs.size() > 2) {
        Weight b = p_.weights.at(producer->inputs[2]);
        for (size_t c = 0; c < m; ++c) b.data[c] *= scale_of(c);
        std::string b_name = p_.fresh_name(producer->name + "_bias_scaled");
        p_.weights[b_name] = std::move(b);
        producer->inputs[2] = b_name;
      }
      producer->output = mul.output;
      kill(mul);
    }
    compact();
  }

  // BatchNormalization (ChannelAffine) right after a Conv or FullyConnected scales its weights.
  void fold_batchnorm() {
    for (auto& affine : p_.ops) {
      if (!affine.is<fb::ChannelAffineT>() || affine.act().kind != fb::ActivationKind::None) continue;
      Op* producer = sole_producer<fb::Conv2DT>(affine.inputs[0]);
      if (!producer) producer = sole_producer<fb::FullyConnectedT>(affine.inputs[0]);
      if (!producer || producer->act().kind != fb::ActivationKind::None) continue;
      const auto& scale = p_.weights.at(affine.inputs[1]).data;
      const auto& shift = p_.weights.at(affine.inputs[2]).data;
      Weight w = p_.weights.at(producer->inputs[1]);
      size_t m = static_cast<size_t>(w.shape[0]), per = w.data.size() / m;
      if (scale.size() != m) continue;
      std::vector<float> bias(m, 0.0f);
      if (producer->inputs.size() > 2) bias = p_.weights.at(producer->inputs[2]).data;
      for (size_t c = 0; c < m; ++c) {
        for (size_t k = 0; k < per; ++k) w.data[c * per + k] *= scale[c];
        bias[c] = bias[c] * scale[c] + shift[c];
      }
      std::string w_name = p_.fresh_name(producer->name + "_weight_bn");
      p_.weights[w_name] = std::move(w);
      std::string b_name = p_.fresh_name(producer->name + "_bias_bn");
      p_.weights[b_name] = {{static_cast<int64_t>(m)}, std::move(bias)};
      producer->inputs.resize(3);
      producer->inputs[1] = w_name;
      producer->inputs[2] = b_name;
      producer->output = affine.output;
      kill(affine);
      ++p_.folded_batchnorms;
    }
    compact();
  }

  // An op whose value is an element-wise function of its inputs: an activation, or a binary op
  // between tensors of its shape and one-element constants.
  bool pointwise(const Op& op, const Shape& shape) const {
    if (p_.shapes.at(op.output) != shape) return false;
    if (op.is<fb::ActivationOpT>()) return p_.shapes.at(op.inputs[0]) == shape;
    if (!op.is<fb::BinaryT>()) return false;
    for (const auto& in : op.inputs)
      if (p_.is_weight(in) ? p_.weights.at(in).data.size() != 1 : p_.shapes.at(in) != shape) return false;
    return true;
  }

  // The activation that the pointwise ops `region` (in program order, ending at the op that
  // gives the value) compute from `source`, tried on probes across every kind's interesting
  // range; a kind is taken only where it matches everywhere to float rounding of the constants.
  std::optional<fb::ActivationKind> spelled_kind(const std::vector<size_t>& region, const std::string& source) const {
    static const std::vector<double> probes = [] {
      std::vector<double> t{-30.0, -12.5, 0.0, 1e-3, -1e-3, 12.5, 30.0};
      for (int k = -96; k <= 96; ++k) t.push_back(k / 8.0 + 1.0 / 64);
      return t;
    }();
    std::vector<double> value(probes.size());
    for (size_t k = 0; k < probes.size(); ++k) {
      std::map<std::string, double> v{{source, probes[k]}};
      auto operand = [&](const std::string& name) {
        return p_.is_weight(name) ? double{p_.weights.at(name).data[0]} : v.at(name);
      };
      for (size_t i : region) {
        const Op& op = p_.ops[i];
        const double a = operand(op.inputs[0]);
        v[op.output] = evaluate_activation(
            op.act(), op.is<fb::BinaryT>() ? evaluate_binary(op.get<fb::BinaryT>()->kind, a, operand(op.inputs[1])) : a);
      }
      value[k] = v.at(p_.ops[region.back()].output);
    }
    for (auto kind : {fb::ActivationKind::Silu, fb::ActivationKind::Gelu, fb::ActivationKind::Mish,
                      fb::ActivationKind::HardSwish}) {
      fb::ActivationT act;
      act.kind = kind;
      bool all = true;
      for (size_t k = 0; k < probes.size() && all; ++k) {
        const double want = evaluate_activation(act, probes[k]);
        // Relative to the probe too: near a zero of the value, the float constants' rounding
        // (1/6 in HardSigmoid) leaves errors of order 1e-8 |t|.
        all = std::abs(value[k] - want) <= 1e-6 * (std::abs(want) + std::abs(probes[k]));
      }
      if (all) return kind;
    }
    return std::nullopt;
  }

  // A one-tensor activation spelled with several element-wise ops (x * Sigmoid(x), GELU's erf
  // form, x * relu6(x + 3) / 6, x * HardSigmoid(x), x * tanh(Softplus(x)), in any order or
  // grouping) becomes that activation, found by evaluating the subgraph, so that
  // fuse_activations can move it into the op before. The subgraph grows back from its last op
  // through values read by one op only; the tensor read several times is its input.
  void fuse_spelled_activations() {
    for (size_t last = p_.ops.size(); last-- > 0;) {
      if (dead(p_.ops[last])) continue;
      const Shape& shape = p_.shapes.at(p_.ops[last].output);
      if (!pointwise(p_.ops[last], shape)) continue;
      std::set<size_t> region{last};
      std::set<std::string> sources;
      // Spellings take a handful of ops; the bound keeps long chains linear.
      constexpr size_t kMaxSpelledOps = 16;
      for (std::vector<size_t> todo{last}; !todo.empty() && region.size() <= kMaxSpelledOps;) {
        const Op& op = p_.ops[todo.back()];
        todo.pop_back();
        for (const auto& in : op.inputs) {
          if (p_.is_weight(in)) continue;
          Op* from = uses(in) == 1 ? producer(in) : nullptr;
          if (from && pointwise(*from, shape)) {
            if (region.insert(index_of(*from)).second) todo.push_back(index_of(*from));
          } else {
            sources.insert(in);
          }
        }
      }
      if (region.size() < 2 || region.size() > kMaxSpelledOps || sources.size() != 1) continue;
      const std::vector<size_t> ordered(region.begin(), region.end());
      const auto kind = spelled_kind(ordered, *sources.begin());
      if (!kind) continue;
      for (size_t i : ordered)
        if (i != last) kill(p_.ops[i]);
      Op& op = p_.ops[last];
      op.inputs = {*sources.begin()};
      op.set(fb::ActivationOpT{}).activation->kind = *kind;
    }
    compact();
  }

  void fuse_activations() {
    for (auto& act : p_.ops) {
      if (!act.is<fb::ActivationOpT>()) continue;
      Op* producer = nullptr;
      const std::string& x = act.inputs[0];
      for (Op* candidate : {sole_producer<fb::Conv2DT>(x), sole_producer<fb::FullyConnectedT>(x),
                            sole_producer<fb::ChannelAffineT>(x), sole_producer<fb::BinaryT>(x),
                            sole_producer<fb::ConvTranspose2DT>(x)})
        if (!producer) producer = candidate;
      if (!producer || producer->act().kind != fb::ActivationKind::None) continue;
      producer->set_act(act.act());
      producer->output = act.output;
      kill(act);
      ++p_.fused_activations;
    }
    compact();
  }

  // The Tile and Expand that no Elastic-Link took in copy at run time, as the engine's Tile.
  void lower_broadcasts() {
    for (auto& op : p_.ops)
      if (op.is<pattern::Tile>() || op.is<pattern::Expand>()) op.set(fb::TileT{});
  }

  void eliminate_dead() {
    std::set<std::string> live(p_.outputs.begin(), p_.outputs.end());
    for (size_t i = p_.ops.size(); i-- > 0;) {
      if (!live.count(p_.ops[i].output)) {
        dead_[i] = true;
        continue;
      }
      live.insert(p_.ops[i].inputs.begin(), p_.ops[i].inputs.end());
    }
    compact();
    for (auto it = p_.weights.begin(); it != p_.weights.end();)
      it = live.count(it->first) ? std::next(it) : p_.weights.erase(it);
  }

};

}  // namespace

void optimize(Program& program) {
  Rewriter r(program);
  r.hoist_past_unit_reshapes();
  r.fuse_bias();
  r.fold_channel_scale();
  r.fold_batchnorm();
  r.fuse_spelled_activations();
  // An activation spelled with several ops (SiLU reads its input twice) is one op only now.
  r.hoist_past_unit_reshapes();
  r.fuse_activations();
  r.merge_reshapes();
  binarize(program);
  lower_unfused_patterns(program);
  r.lower_broadcasts();
  r.index();
  r.eliminate_dead();
  r.sort();
}

}  // namespace vkbnn::convert::detail
