#include <algorithm>
#include <cmath>

#include "passes/graph_edit.hpp"

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

class Rewriter : public GraphEdit {
 public:
  using GraphEdit::GraphEdit;
  using GraphEdit::compact;
  using GraphEdit::index;
  using GraphEdit::sort;

  bool scalar_weight(const std::string& name, float value) const {
    auto it = p_.weights.find(name);
    return it != p_.weights.end() && it->second.data.size() == 1 &&
           std::abs(it->second.data[0] - value) <= 1e-6f * std::max(1.0f, std::abs(value));
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

  // relu6(x + 3) / 6, written out with Add, Clip and Div (or Mul by 1/6); returns the Clip.
  Op* relu6_plus3(const std::string& value, const std::string& x) {
    Op* clip = sole_producer<fb::ActivationOpT>(value);
    if (!clip || clip->act().kind != fb::ActivationKind::Clip || clip->act().alpha != 0.0f || clip->act().beta != 6.0f)
      return nullptr;
    Op* add = sole_producer<fb::BinaryT>(clip->inputs[0]);
    if (!add || add->get<fb::BinaryT>()->kind != fb::BinaryKind::Add || add->inputs[0] != x || !scalar_weight(add->inputs[1], 3.0f))
      return nullptr;
    return clip;
  }

  Op* divided_by_6(const std::string& value) {
    Op* op = sole_producer<fb::BinaryT>(value);
    if (!op || op->act().kind != fb::ActivationKind::None) return nullptr;
    bool div = op->get<fb::BinaryT>()->kind == fb::BinaryKind::Div && scalar_weight(op->inputs[1], 6.0f);
    bool mul = op->get<fb::BinaryT>()->kind == fb::BinaryKind::Mul && scalar_weight(op->inputs[1], 1.0f / 6.0f);
    return div || mul ? op : nullptr;
  }

  void to_hardswish(Op& op, const std::string& x) {
    op.inputs = {x};
    op.set(fb::ActivationOpT{}).activation->kind = fb::ActivationKind::HardSwish;
  }

  // x * HardSigmoid(x) with alpha 1/6, beta 1/2, or x * relu6(x + 3) / 6: HardSwish.
  void fuse_hardswish() {
    for (auto& op : p_.ops) {
      if (!op.is<fb::BinaryT>() || op.act().kind != fb::ActivationKind::None || dead(op)) continue;
      if (op.get<fb::BinaryT>()->kind == fb::BinaryKind::Mul && !p_.is_weight(op.inputs[1])) {
        for (int order = 0; order < 2; ++order) {
          const std::string& x = op.inputs[static_cast<size_t>(order)];
          const std::string& y = op.inputs[static_cast<size_t>(1 - order)];
          Op* hs = sole_producer<fb::ActivationOpT>(y);
          if (hs && hs->act().kind == fb::ActivationKind::HardSigmoid && hs->inputs[0] == x &&
              std::abs(hs->act().alpha - 1.0f / 6.0f) < 1e-6f && hs->act().beta == 0.5f) {
            kill(*hs);
            to_hardswish(op, x);
            break;
          }
          Op* div = divided_by_6(y);
          Op* clip = div ? relu6_plus3(div->inputs[0], x) : nullptr;
          if (clip) {
            kill(*sole_producer<fb::BinaryT>(clip->inputs[0]));
            kill(*clip);
            kill(*div);
            to_hardswish(op, x);
            break;
          }
        }
        continue;
      }
      if ((op.get<fb::BinaryT>()->kind == fb::BinaryKind::Div && scalar_weight(op.inputs[1], 6.0f)) ||
          (op.get<fb::BinaryT>()->kind == fb::BinaryKind::Mul && scalar_weight(op.inputs[1], 1.0f / 6.0f))) {
        Op* mul = sole_producer<fb::BinaryT>(op.inputs[0]);
        if (!mul || mul->get<fb::BinaryT>()->kind != fb::BinaryKind::Mul) continue;
        for (int order = 0; order < 2; ++order) {
          const std::string x = mul->inputs[static_cast<size_t>(order)];
          Op* clip = relu6_plus3(mul->inputs[static_cast<size_t>(1 - order)], x);
          if (!clip) continue;
          kill(*sole_producer<fb::BinaryT>(clip->inputs[0]));
          kill(*clip);
          kill(*mul);
          to_hardswish(op, x);
          break;
        }
      }
    }
    compact();
  }

  void fuse_activations() {
    for (auto& act : p_.ops) {
      if (!act.is<fb::ActivationOpT>()) continue;
      Op* producer = nullptr;
      const std::string& x = act.inputs[0];
      for (Op* candidate : {sole_producer<fb::Conv2DT>(x), sole_producer<fb::FullyConnectedT>(x),
                            sole_producer<fb::ChannelAffineT>(x), sole_producer<fb::BinaryT>(x)})
        if (!producer) producer = candidate;
      if (!producer || producer->act().kind != fb::ActivationKind::None) continue;
      producer->set_act(act.act());
      producer->output = act.output;
      kill(act);
      ++p_.fused_activations;
    }
    compact();
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
  r.fuse_bias();
  r.fold_channel_scale();
  r.fold_batchnorm();
  r.fuse_hardswish();
  r.fuse_activations();
  binarize(program);
  r.index();
  r.eliminate_dead();
  r.sort();
}

}  // namespace vkbnn::convert::detail
