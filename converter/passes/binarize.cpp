// Binarized layers, found by what the graph computes rather than by names:
//  - a Conv (any group) or fully connected layer whose input is a binarization +-a_c *
//    sign(x + t_c) of a real tensor x (for a fully connected layer also one of [N, C, H, W]
//    flattened), however spelled (step_function.cpp evaluates the
//    subgraph), becomes a binary layer when its weights times a_c are +-alpha per output
//    channel (after alpha and BatchNorm have been folded in); x gets a Binarize, and a max pool
//    between the two pools the packed signs. A layer that cannot be binary stays real, reads
//    the binarization computed in fp32, and the report says why (Program::layer_notes);
//  - after a binary layer, an Add of gamma_c * R(x), x being a real-valued tensor the
//    binarization is computed from and R any data-movement subgraph that computes one of the
//    Elastic-Link matchings (identity, average pooling, Squeeze, Expand), is fused as the link.
//    R is recognised by evaluating the subgraph symbolically and comparing it with each
//    matching's definition, so Tile, Concat, Reshape + ReduceMean or Split + Expand spellings
//    all qualify;
//  - PReLU and RPReLU (Sub/Add, PRelu, Add) before or after the link are fused;
//  - when a binary layer's only consumer is the next Binarize, it writes packed signs itself.

#include <algorithm>
#include <bit>
#include <cmath>
#include <map>
#include <optional>
#include <set>

#include "passes/graph_edit.hpp"
#include "passes/step_function.hpp"

namespace vkbnn::convert::detail {
namespace {

// An element of a symbolically evaluated tensor: a weighted sum of source elements.
using Terms = std::vector<std::pair<int64_t, double>>;
using TermMap = std::vector<Terms>;

constexpr size_t kMaxLinkOps = 4096;
// Ops a layer's binarization may add: the flatten of a classifier's input, Binarize, max pool,
// and for a real layer Reshape, the fp32 sign, Reshape.
constexpr size_t kOpsPerLayer = 6;
constexpr int64_t kMaxLinkElements = int64_t{1} << 22;

Shape unravel(int64_t index, const Shape& dims) {
  Shape idx(dims.size());
  for (size_t d = dims.size(); d-- > 0;) {
    idx[d] = index % dims[d];
    index /= dims[d];
  }
  return idx;
}

int64_t ravel(const Shape& idx, const Shape& dims) {
  int64_t index = 0;
  for (size_t d = 0; d < dims.size(); ++d) index = index * dims[d] + idx[d];
  return index;
}

Terms normalized(Terms t) {
  std::sort(t.begin(), t.end());
  Terms out;
  for (const auto& [i, w] : t) {
    if (!out.empty() && out.back().first == i) out.back().second += w;
    else out.emplace_back(i, w);
  }
  std::erase_if(out, [](const auto& term) { return std::abs(term.second) < 1e-12; });
  return out;
}

// N, C, H, W of an NCHW or [N, C] tensor.
std::array<int64_t, 4> nchw(const Shape& s) {
  return {s[0], s[1], s.size() == 4 ? s[2] : 1, s.size() == 4 ? s[3] : 1};
}

struct BinaryWeights {
  std::vector<uint32_t> words;
  std::vector<float> scale;
  size_t zeros = 0;
};

// Weights [M, C, ...] whose values are +-alpha_m per output channel, packed as signs along C;
// otherwise why not, in *why.
std::optional<BinaryWeights> binary_weights(const Weight& w, std::string* why) {
  if (w.shape.size() < 2 || !w.bits.empty()) return std::nullopt;
  const int64_t m = w.shape[0], c = w.shape[1], inner = element_count(w.shape) / (m * c), cw = (c + 31) / 32;
  BinaryWeights b;
  b.words.assign(static_cast<size_t>(m * cw * inner), 0);
  for (int64_t o = 0; o < m; ++o) {
    const float* v = w.data.data() + o * c * inner;
    float magnitude = 0;
    for (int64_t k = 0; k < c * inner; ++k) magnitude = std::max(magnitude, std::abs(v[k]));
    for (int64_t k = 0; k < c * inner; ++k) {
      if (v[k] == 0.0f) {
        ++b.zeros;  // PyTorch's sign(0) = 0: taken as +1, the nearest binary weight
        continue;
      }
      if (std::abs(std::abs(v[k]) - magnitude) > 1e-5f * magnitude) {
        if (why)
          *why = "its weights are not +-alpha per output channel (output channel " + std::to_string(o) + " has " +
                 std::to_string(std::abs(v[k])) + " and " + std::to_string(magnitude) + ")";
        return std::nullopt;
      }
      if (v[k] < 0) {
        const int64_t ch = k / inner, i = k % inner;
        b.words[static_cast<size_t>((o * cw + ch / 32) * inner + i)] |= 1u << (ch % 32);
      }
    }
    b.scale.push_back(magnitude);
  }
  return b;
}

class Binarizer : public GraphEdit {
 public:
  using GraphEdit::GraphEdit;

  void run() {
    // New ops are appended (and sorted into place by the caller); the room reserved keeps
    // pointers into the list valid while the pass holds them.
    p_.ops.reserve(p_.ops.size() * kOpsPerLayer + 16);
    const size_t count = p_.ops.size();
    for (size_t i = 0; i < count; ++i) {
      const Op& op = p_.ops[i];
      if (!dead_[i] && (op.is<fb::Conv2DT>() || op.is<fb::FullyConnectedT>())) binarize_layer(i);
    }
    sweep();
    compact();
    sort();
    fuse_packed_outputs();
    compact();
  }

 private:
  std::string add_weight(const std::string& base, Weight w) {
    std::string name = p_.fresh_name(base);
    p_.weights[name] = std::move(w);
    return name;
  }

  std::string channel_weight(const std::string& base, std::vector<float> values) {
    const auto m = static_cast<int64_t>(values.size());
    return add_weight(base, {{m}, std::move(values), {}});
  }

  // A constant holding one value, or one per channel of `shape`, as `channels` values.
  std::optional<std::vector<float>> per_channel(const std::string& name, const Shape& shape) {
    auto it = p_.weights.find(name);
    if (it == p_.weights.end() || !it->second.bits.empty() || shape.size() < 2) return std::nullopt;
    const Weight& w = it->second;
    const auto channels = static_cast<size_t>(shape[1]);
    if (w.data.size() == 1) return std::vector<float>(channels, w.data[0]);
    if (w.data.size() != channels || w.shape.size() > shape.size()) return std::nullopt;
    // Right-aligned, the constant must be 1 everywhere but on the channel axis.
    for (size_t d = 0; d < w.shape.size(); ++d) {
      const size_t axis = shape.size() - w.shape.size() + d;
      if (w.shape[d] != (axis == 1 ? shape[1] : 1)) return std::nullopt;
    }
    return w.data;
  }

  // `value` + c or `value` - c, c one per channel: returns the other operand and +-c.
  struct Offset {
    Op* op;
    std::string operand;
    std::vector<float> amount;
  };
  std::optional<Offset> offset_of(Op* op) {
    if (!op || !op->is<fb::BinaryT>() || op->act().kind != fb::ActivationKind::None) return std::nullopt;
    const Shape& out = p_.shapes.at(op->output);
    if (op->get<fb::BinaryT>()->kind == fb::BinaryKind::Add) {
      for (int k = 0; k < 2; ++k)
        if (auto c = per_channel(op->inputs[static_cast<size_t>(k)], out); c && !p_.is_weight(op->inputs[1 - k]))
          return Offset{op, op->inputs[static_cast<size_t>(1 - k)], *c};
    }
    if (op->get<fb::BinaryT>()->kind == fb::BinaryKind::Sub && !p_.is_weight(op->inputs[0])) {
      if (auto c = per_channel(op->inputs[1], out)) {
        for (float& v : *c) v = -v;
        return Offset{op, op->inputs[0], *c};
      }
    }
    return std::nullopt;
  }

  const StepAnalysis& analysis(const std::string& value) {
    auto it = analyses_.find(value);
    if (it == analyses_.end())
      it = analyses_.emplace(value, analyze_step(p_, [this](const std::string& v) -> const Op* { return producer(v); },
                                                 value)).first;
    return it->second;
  }

  Op& append(Op op) {
    if (p_.ops.size() == p_.ops.capacity()) throw ModelError("binarization: more new ops than room reserved");
    const size_t index = p_.ops.size();
    for (const auto& in : op.inputs) consumers_[in].push_back(index);
    producer_[op.output] = index;
    dead_.push_back(false);
    p_.ops.push_back(std::move(op));
    return p_.ops.back();
  }

  // A new activation of `shape`, named after `base`.
  std::string new_value(const std::string& base, const Shape& shape) {
    std::string name = p_.fresh_name(base);
    p_.shapes[name] = shape;
    return name;
  }

  // The packed signs of step.source + threshold: one Binarize per source and threshold.
  std::string binarized(const StepFunction& step) {
    std::string key = step.source;
    for (float t : step.threshold) {
      key += ',';
      key += std::to_string(std::bit_cast<uint32_t>(t));
    }
    if (auto it = binarized_.find(key); it != binarized_.end()) return it->second;
    Op op;
    op.set(fb::BinarizeT{});
    op.name = p_.fresh_name(step.source + "_binarize");
    op.inputs = {step.source};
    if (std::any_of(step.threshold.begin(), step.threshold.end(), [](float t) { return t != 0.0f; }))
      op.inputs.push_back(channel_weight(op.name + "_threshold", step.threshold));
    op.output = new_value(step.source + "_bits", p_.shapes.at(step.source));
    p_.bit_values.insert(op.output);
    return binarized_[key] = append(std::move(op)).output;
  }

  // A copy of the max pool `pool` reading `input` (packed signs or real values).
  std::string pooled(const Op& pool, const std::string& input, bool bits) {
    Op op = pool;
    op.name = p_.fresh_name(pool.name + (bits ? "_bits" : "_real"));
    op.inputs = {input};
    op.output = new_value(pool.output + (bits ? "_bits" : "_real"), p_.shapes.at(pool.output));
    if (bits) p_.bit_values.insert(op.output);
    return append(std::move(op)).output;
  }

  Op& add_reshape(const std::string& base, const std::string& input, const std::string& output) {
    Op op;
    op.set(fb::ReshapeT{});
    op.name = p_.fresh_name(base);
    op.inputs = {input};
    op.output = output;
    return append(std::move(op));
  }

  // The binarization computed in fp32, for a layer that reads it but cannot be binary: Binarize,
  // then a depthwise 1x1 binary convolution with +1 weights and scale_c (rank 2 through 4).
  std::string materialized(const StepFunction& step, const std::string& base) {
    const Shape shape = p_.shapes.at(step.source);
    const int64_t c = shape[1];
    StepFunction step4 = step;
    if (shape.size() == 2) {
      step4.source = new_value(step.source + "_nchw", {shape[0], c, 1, 1});
      add_reshape(step.source + "_nchw", step.source, step4.source);
    }
    Op conv;
    fb::BinaryConv2DT& params = conv.set(fb::BinaryConv2DT{});
    params.kernel = {1, 1};
    params.strides = {1, 1};
    params.dilations = {1, 1};
    params.pads = {0, 0, 0, 0};
    params.group = static_cast<int32_t>(c);
    params.epilogue = std::make_unique<fb::BinaryEpilogueT>();
    conv.name = p_.fresh_name(base + "_sign");
    conv.inputs = {binarized(step4),
                   add_weight(conv.name + "_weight_bits", {{c, 1, 1, 1}, {}, std::vector<uint32_t>(size_t(c), 0u)}),
                   channel_weight(conv.name + "_scale", step.scale),
                   channel_weight(conv.name + "_shift", std::vector<float>(size_t(c), 0.0f))};
    conv.output = new_value(base + "_sign", p_.shapes.at(step4.source));
    const std::string out = append(std::move(conv)).output;
    if (shape.size() == 4) return out;
    const std::string flat = new_value(base + "_sign_rows", shape);
    add_reshape(base + "_sign_rows", out, flat);
    return flat;
  }

  // W [M, C/group, ...] times scale_c along its input channels.
  static void scale_inputs(Weight& w, int64_t group, const std::vector<float>& scale) {
    const int64_t m = w.shape[0], cg = w.shape[1], inner = element_count(w.shape) / (m * cg);
    for (int64_t o = 0; o < m; ++o)
      for (int64_t j = 0; j < cg; ++j) {
        const float s = scale[static_cast<size_t>(o / (m / group) * cg + j)];
        for (int64_t k = 0; k < inner; ++k) w.data[static_cast<size_t>((o * cg + j) * inner + k)] *= s;
      }
  }

  // A fully connected layer reading the signs of x [N, C, H, W] flattened to [N, C*H*W] (a
  // binary classifier input) reads the binarization of x flattened, each channel's threshold and
  // scale repeated over its H*W positions: x gets the flatten (free), its rows the Binarize.
  std::optional<StepFunction> flattened_step(const Op& layer) {
    if (!layer.is<fb::FullyConnectedT>()) return std::nullopt;
    const Op* reshape = producer(layer.inputs[0]);
    if (!reshape || !reshape->is<fb::ReshapeT>() || p_.is_weight(reshape->inputs[0])) return std::nullopt;
    const Shape& in = p_.shapes.at(reshape->inputs[0]);
    const Shape& out = p_.shapes.at(reshape->output);
    if (in.size() != 4 || out != Shape{in[0], in[1] * in[2] * in[3]}) return std::nullopt;
    const StepAnalysis& inner = analysis(reshape->inputs[0]);
    if (!inner.step) return std::nullopt;
    const int64_t positions = in[2] * in[3];
    StepFunction step;
    for (int64_t k = 0; k < out[1]; ++k) {
      step.threshold.push_back(inner.step->threshold[static_cast<size_t>(k / positions)]);
      step.scale.push_back(inner.step->scale[static_cast<size_t>(k / positions)]);
    }
    step.source = new_value(inner.step->source + "_rows", out);
    add_reshape(inner.step->source + "_rows", inner.step->source, step.source);
    return step;
  }

  // A Conv or fully connected layer whose input is a binarization becomes binary when its
  // weights (with the binarization's scale folded in) are +-alpha per output channel; otherwise
  // it stays real, reading the binarization computed in fp32, and the report says why.
  void binarize_layer(size_t index) {
    Op* layer = &p_.ops[index];
    if (layer->inputs.size() < 2 || !p_.weights.count(layer->inputs[1])) return;
    Op* pool = producer(layer->inputs[0]);
    if (pool && (!pool->is<fb::Pool2DT>() || pool->get<fb::Pool2DT>()->kind != fb::PoolKind::Max || pool->act().kind != fb::ActivationKind::None))
      pool = nullptr;
    const std::string stepped = pool ? pool->inputs[0] : layer->inputs[0];
    const StepAnalysis& a = analysis(stepped);
    const std::optional<StepFunction> flat = a.step || pool ? std::nullopt : flattened_step(*layer);
    if (!a.step && !flat) {
      if (a.spelled_binary)
        p_.layer_notes[layer->name] = "stays real: its input is not a binarization: " + a.why_not;
      return;
    }
    const StepFunction& step = flat ? *flat : *a.step;
    Weight w = p_.weights.at(layer->inputs[1]);
    if (w.shape.size() < 2 || !w.bits.empty() || w.data.empty()) return;
    scale_inputs(w, layer->is<fb::Conv2DT>() ? layer->get<fb::Conv2DT>()->group : 1, step.scale);
    std::string why;
    if (layer->act().kind != fb::ActivationKind::None && layer->act().kind != fb::ActivationKind::Relu &&
        layer->act().kind != fb::ActivationKind::LeakyRelu)
      why = "its fused " + activation_string(layer->act()) + " has no binary form";
    else if (layer->is<fb::FullyConnectedT>() && p_.shapes.at(layer->inputs[0]).size() != 2)
      why = "its input is not [N, K]";
    else if (pool && std::any_of(step.scale.begin(), step.scale.end(), [](float s) { return s < 0; }))
      why = "it max-pools a negated sign";
    else binary_weights(w, &why);
    if (why.empty()) {
      std::string bits = binarized(step);
      if (pool) bits = pooled(*pool, bits, true);
      to_binary(*layer, bits, w, pool || flat ? std::vector<std::string>{} : a.cuts);
      return;
    }
    p_.layer_notes[layer->name] = "stays real: " + why;
    p_.notes.push_back(layer->name + ": stays real (its input is binarized): " + why);
    std::string real = materialized(step, layer->name);
    if (pool) real = pooled(*pool, real, false);
    layer->inputs[0] = real;
    consumers_[real].push_back(index);
  }

  void to_binary(Op& op, const std::string& bits, const Weight& w, const std::vector<std::string>& reals) {
    BinaryWeights b = *binary_weights(w, nullptr);
    const auto m = static_cast<size_t>(w.shape[0]);
    std::vector<float> shift = op.inputs.size() > 2 ? p_.weights.at(op.inputs[2]).data : std::vector<float>(m, 0.0f);
    const std::string weight_bits = add_weight(op.name + "_weight_bits", {w.shape, {}, std::move(b.words)});
    const fb::ActivationT act = op.act();
    auto epilogue = std::make_unique<fb::BinaryEpilogueT>();
    if (const fb::Conv2DT* conv = op.get<fb::Conv2DT>()) {
      fb::BinaryConv2DT binary;
      binary.kernel = conv->kernel;
      binary.strides = conv->strides;
      binary.dilations = conv->dilations;
      binary.pads = conv->pads;
      binary.group = conv->group;
      binary.padding = fb::BinaryPadding::Zero;
      binary.epilogue = std::move(epilogue);
      op.set(std::move(binary));
    } else {
      fb::BinaryFullyConnectedT binary;
      binary.epilogue = std::move(epilogue);
      op.set(std::move(binary));
    }
    op.inputs = {bits, weight_bits, channel_weight(op.name + "_scale", std::move(b.scale)),
                 channel_weight(op.name + "_shift", std::move(shift))};
    consumers_[bits].push_back(index_of(op));
    if (b.zeros) p_.notes.push_back(op.name + ": " + std::to_string(b.zeros) + " weight(s) exactly 0 taken as +alpha");
    fuse_epilogue(op, act, reals);
  }

  // Marks every op that no graph output needs (the subgraphs binarizations replaced) dead.
  void sweep() {
    std::vector<bool> live(p_.ops.size(), false);
    std::vector<std::string> pending(p_.outputs.begin(), p_.outputs.end());
    std::set<std::string> seen;
    while (!pending.empty()) {
      const std::string v = pending.back();
      pending.pop_back();
      if (!seen.insert(v).second) continue;
      auto it = producer_.find(v);
      if (it == producer_.end() || dead_[it->second] || p_.ops[it->second].output != v) continue;
      live[it->second] = true;
      for (const auto& in : p_.ops[it->second].inputs) pending.push_back(in);
    }
    for (size_t i = 0; i < p_.ops.size(); ++i)
      if (!live[i]) dead_[i] = true;
  }

  struct LinkMatch {
    std::vector<std::string> inputs;  // X_real, gamma
    std::vector<const Op*> fused;     // the Add and the Mul by gamma
    std::string output;
    fb::LinkChannels channels;
    fb::LinkGroupOrder group_order;
    fb::LinkReduce reduce;
    int32_t pool;
  };

  struct ActMatch {
    std::vector<std::string> inputs;  // slope, or shift_in, slope, shift_out
    std::vector<const Op*> fused;
    std::string output;
    fb::BinaryActivationKind kind;
  };

  static fb::BinaryEpilogueT& epilogue_of(Op& op) {
    if (auto* conv = op.get<fb::BinaryConv2DT>()) return *conv->epilogue;
    return *op.get<fb::BinaryFullyConnectedT>()->epilogue;
  }

  // `fused` is the activation the layer had fused before it became binary.
  void fuse_epilogue(Op& op, const fb::ActivationT& fused, const std::vector<std::string>& reals) {
    const Shape out = p_.shapes.at(op.output);
    fb::BinaryEpilogueT& epilogue = epilogue_of(op);
    std::optional<LinkMatch> link;
    std::optional<ActMatch> act;
    bool after_link = true;
    if (fused.kind != fb::ActivationKind::None) {
      // A Relu or LeakyRelu fused into the layer: a PRelu right after the convolution.
      const float slope = fused.kind == fb::ActivationKind::LeakyRelu ? fused.alpha : 0.0f;
      act = ActMatch{{channel_weight(op.name + "_slope", std::vector<float>(static_cast<size_t>(out[1]), slope))},
                     {}, op.output, fb::BinaryActivationKind::PRelu};
      link = match_link(op.output, reals, out);
      after_link = false;
    } else {
      link = match_link(op.output, reals, out);
      act = match_activation(link ? link->output : op.output, out);
      if (!link && act) {
        link = match_link(act->output, reals, out);
        after_link = !link;
      }
    }
    if (link) {
      op.inputs.insert(op.inputs.end(), link->inputs.begin(), link->inputs.end());
      epilogue.link = std::make_unique<fb::ElasticLinkT>();
      epilogue.link->channels = link->channels;
      epilogue.link->group_order = link->group_order;
      epilogue.link->reduce = link->reduce;
      epilogue.link->pool = link->pool;
      for (const Op* f : link->fused) kill(*f);
    }
    if (act) {
      op.inputs.insert(op.inputs.end(), act->inputs.begin(), act->inputs.end());
      epilogue.activation = act->kind;
      for (const Op* f : act->fused) kill(*f);
    }
    epilogue.activation_after_link = after_link;
    if (act && (after_link || !link)) op.output = act->output;
    if (link && (!after_link || !act)) op.output = link->output;
    produced_by(op);
  }

  // The first of `reals` (real tensors the binarization is computed from) that y's link reads.
  std::optional<LinkMatch> match_link(const std::string& y, const std::vector<std::string>& reals, const Shape& out) {
    for (const auto& real : reals) {
      const Op* op = producer(real);
      const bool pattern_only = op && (op->is<pattern::Sign>() || op->is<pattern::Compare>() ||
                                       op->is<pattern::Not>() || op->is<pattern::Where>() || op->is<pattern::Cast>());
      if (pattern_only || p_.bit_values.count(real)) continue;
      if (auto link = match_link(y, real, out)) return link;
    }
    return std::nullopt;
  }

  // y + gamma * R(real), in any operand order, gamma one value per channel (1 when absent).
  std::optional<LinkMatch> match_link(const std::string& y, const std::string& real, const Shape& out) {
    Op* add = sole_consumer(y);
    if (!add || !add->is<fb::BinaryT>() || add->get<fb::BinaryT>()->kind != fb::BinaryKind::Add ||
        add->act().kind != fb::ActivationKind::None)
      return std::nullopt;
    const std::string other = add->inputs[0] == y ? add->inputs[1] : add->inputs[0];
    if (p_.is_weight(other) || p_.shapes.at(other) != out) return std::nullopt;
    LinkMatch match;
    match.fused = {add};
    match.output = add->output;
    std::vector<float> gamma(static_cast<size_t>(out[1]), 1.0f);
    std::string mapped = other;
    if (Op* mul = producer(other); mul && uses(other) == 1 && mul->is<fb::BinaryT>() &&
                                   mul->get<fb::BinaryT>()->kind == fb::BinaryKind::Mul && mul->act().kind == fb::ActivationKind::None) {
      for (int k = 0; k < 2; ++k)
        if (auto g = per_channel(mul->inputs[static_cast<size_t>(k)], out); g && !p_.is_weight(mul->inputs[1 - k])) {
          gamma = *g;
          mapped = mul->inputs[static_cast<size_t>(1 - k)];
          match.fused.push_back(mul);
          break;
        }
    }
    if (!classify_link(mapped, real, out, match)) return std::nullopt;
    match.inputs = {real, channel_weight(add->name + "_gamma", gamma)};
    return match;
  }

  // PRelu(y), or RPReLU: PRelu(y - shift_in) + shift_out with either offset optional.
  std::optional<ActMatch> match_activation(const std::string& y, const Shape& out) {
    ActMatch match;
    std::string value = y;
    std::vector<float> shift_in(static_cast<size_t>(out[1]), 0.0f), shift_out = shift_in;
    if (auto in = offset_of(sole_consumer(value)); in && in->operand == value) {
      for (size_t c = 0; c < shift_in.size(); ++c) shift_in[c] = -in->amount[c];
      match.fused.push_back(in->op);
      value = in->op->output;
    }
    Op* prelu = sole_consumer(value);
    if (!prelu || !prelu->is<fb::PReluT>() || prelu->inputs[0] != value) return std::nullopt;
    auto slope = per_channel(prelu->inputs[1], out);
    if (!slope) return std::nullopt;
    match.fused.push_back(prelu);
    value = prelu->output;
    if (auto after = offset_of(sole_consumer(value)); after && after->operand == value) {
      shift_out = after->amount;
      match.fused.push_back(after->op);
      value = after->op->output;
    }
    match.output = value;
    const bool shifted = match.fused.size() > 1;
    match.kind = shifted ? fb::BinaryActivationKind::RPRelu : fb::BinaryActivationKind::PRelu;
    const std::string base = prelu->name;
    if (shifted)
      match.inputs = {channel_weight(base + "_shift_in", shift_in), channel_weight(base + "_slope", *slope),
                      channel_weight(base + "_shift_out", shift_out)};
    else
      match.inputs = {channel_weight(base + "_slope", *slope)};
    return match;
  }

  // Means and sums are the reductions a channel matching is made of (the others are not linear).
  static bool is_linear_reduce(const Op& op) {
    const auto* reduce = op.get<fb::ReduceT>();
    return reduce && (reduce->kind == fb::ReduceKind::Mean || reduce->kind == fb::ReduceKind::Sum);
  }

  // Symbolic evaluation of the data-movement ops between `real` and `value`.
  std::optional<TermMap> evaluate(const std::string& value, const std::string& real) {
    std::vector<size_t> ops;
    std::vector<std::string> pending{value};
    std::set<std::string> seen;
    while (!pending.empty()) {
      const std::string v = pending.back();
      pending.pop_back();
      if (v == real || !seen.insert(v).second) continue;
      Op* op = producer(v);
      if (!op || p_.is_weight(v) || ops.size() >= kMaxLinkOps) return std::nullopt;
      const bool movement = op->is<fb::ReshapeT>() || op->is<fb::ConcatT>() || op->is<pattern::Tile>() ||
                            op->is<pattern::Expand>() || op->is<fb::SliceT>() || is_linear_reduce(*op) ||
                            (op->is<fb::Pool2DT>() && op->get<fb::Pool2DT>()->kind == fb::PoolKind::Average);
      if (!movement || op->act().kind != fb::ActivationKind::None ||
          element_count(p_.shapes.at(v)) > kMaxLinkElements)
        return std::nullopt;
      // A Reshape passes its input's terms on as they are, so they must be as many.
      if (op->is<fb::ReshapeT>() && element_count(p_.shapes.at(op->inputs[0])) != element_count(p_.shapes.at(v)))
        return std::nullopt;
      ops.push_back(index_of(*op));
      for (const auto& in : op->inputs) pending.push_back(in);
    }
    std::sort(ops.begin(), ops.end());
    std::map<std::string, TermMap> values;
    TermMap& source = values[real];
    source.resize(static_cast<size_t>(element_count(p_.shapes.at(real))));
    for (size_t i = 0; i < source.size(); ++i) source[i] = {{static_cast<int64_t>(i), 1.0}};
    for (size_t i : ops) values[p_.ops[i].output] = evaluate_op(p_.ops[i], values);
    return values.at(value);
  }

  TermMap evaluate_op(const Op& op, const std::map<std::string, TermMap>& values) {
    const Shape& out = p_.shapes.at(op.output);
    const Shape& in = p_.shapes.at(op.inputs[0]);
    const TermMap& x = values.at(op.inputs[0]);
    TermMap y(static_cast<size_t>(element_count(out)));
    if (op.is<fb::ReshapeT>()) return x;
    for (size_t k = 0; k < y.size(); ++k) {
      Shape idx = unravel(static_cast<int64_t>(k), out);
      if (op.is<pattern::Tile>() || op.is<pattern::Expand>()) {
        for (size_t d = 0; d < idx.size(); ++d) idx[d] %= in[d];
        y[k] = x[static_cast<size_t>(ravel(idx, in))];
      } else if (const auto* slice = op.get<fb::SliceT>()) {
        for (size_t d = 0; d < idx.size(); ++d) idx[d] = slice->starts[d] + idx[d] * slice->steps[d];
        y[k] = x[static_cast<size_t>(ravel(idx, in))];
      } else if (const auto* concat = op.get<fb::ConcatT>()) {
        auto axis = static_cast<size_t>(concat->axis);
        for (const auto& part : op.inputs) {
          const Shape& ps = p_.shapes.at(part);
          if (idx[axis] < ps[axis]) {
            y[k] = values.at(part)[static_cast<size_t>(ravel(idx, ps))];
            break;
          }
          idx[axis] -= ps[axis];
        }
      } else if (const auto* reduce = op.get<fb::ReduceT>()) {
        // Walk every input element that lands on this output.
        Shape full(in.size(), 0);
        size_t o = 0;
        for (size_t d = 0; d < in.size(); ++d) {
          const bool reduced = std::count(reduce->axes.begin(), reduce->axes.end(), static_cast<int32_t>(d)) > 0;
          if (reduced && !reduce->keep_dims) continue;
          full[d] = reduced ? 0 : idx[o];
          ++o;
        }
        int64_t count = 1;
        for (int64_t a : reduce->axes) count *= in[static_cast<size_t>(a)];
        for (int64_t r = 0; r < count; ++r) {
          int64_t rest = r;
          for (size_t a = reduce->axes.size(); a-- > 0;) {
            const auto axis = static_cast<size_t>(reduce->axes[a]);
            full[axis] = rest % in[axis];
            rest /= in[axis];
          }
          for (const auto& [i, w] : x[static_cast<size_t>(ravel(full, in))])
            y[k].emplace_back(i, reduce->kind == fb::ReduceKind::Mean ? w / static_cast<double>(count) : w);
        }
      } else if (const auto* pool = op.get<fb::Pool2DT>()) {
        const int64_t oy = idx[2], ox = idx[3];
        int64_t inside = 0, padded = 0;
        Terms sum;
        for (int64_t ky = 0; ky < pool->kernel[0]; ++ky)
          for (int64_t kx = 0; kx < pool->kernel[1]; ++kx) {
            const int64_t iy = oy * pool->strides[0] - pool->pads[0] + ky * pool->dilations[0];
            const int64_t ix = ox * pool->strides[1] - pool->pads[1] + kx * pool->dilations[1];
            if (iy < in[2] + pool->pads[2] && ix < in[3] + pool->pads[3]) ++padded;
            if (iy < 0 || iy >= in[2] || ix < 0 || ix >= in[3]) continue;
            ++inside;
            for (const auto& t : x[static_cast<size_t>(ravel({idx[0], idx[1], iy, ix}, in))]) sum.push_back(t);
          }
        const double divisor = static_cast<double>(pool->count_include_pad ? padded : inside);
        for (auto& [i, w] : sum) w /= divisor;
        y[k] = std::move(sum);
      }
    }
    return y;
  }

  // Which Elastic-Link matching `mapped` computes from `real`, if any.
  bool classify_link(const std::string& mapped, const std::string& real, const Shape& out, LinkMatch& match) {
    const Shape& rs = p_.shapes.at(real);
    if ((rs.size() != 4 && rs.size() != 2) || rs.size() != out.size() || rs[0] != out[0]) return false;
    auto terms = evaluate(mapped, real);
    if (!terms) return false;
    for (auto& t : *terms) t = normalized(std::move(t));
    const auto [n, c, h, w] = nchw(rs);
    const auto [on, m, oh, ow] = nchw(out);
    struct Candidate {
      fb::LinkChannels channels;
      fb::LinkGroupOrder order;
      fb::LinkReduce reduce;
    };
    std::vector<Candidate> candidates;
    using C = fb::LinkChannels;
    using G = fb::LinkGroupOrder;
    using R = fb::LinkReduce;
    if (c == m) candidates.push_back({C::Identity, G::Contiguous, R::Mean});
    if (c > m && c % m == 0)
      for (auto order : {G::Contiguous, G::Strided})
        for (auto reduce : {R::Mean, R::Sum}) candidates.push_back({C::Squeeze, order, reduce});
    if (m > c && m % c == 0)
      for (auto order : {G::Contiguous, G::Strided}) candidates.push_back({C::Expand, order, R::Mean});
    // The engine takes pool windows up to 8.
    for (int64_t pool = 1; pool <= std::min<int64_t>(8, std::max(h, w)); ++pool) {
      if ((h + pool - 1) / pool != oh || (w + pool - 1) / pool != ow) continue;
      for (const auto& cand : candidates) {
        if (!matches(*terms, cand.channels, cand.order == G::Strided, cand.reduce == R::Mean, pool, {n, c, h, w},
                     {on, m, oh, ow}))
          continue;
        match.channels = cand.channels;
        match.group_order = cand.order;
        match.reduce = cand.reduce;
        match.pool = static_cast<int32_t>(pool);
        return true;
      }
    }
    return false;
  }

  static bool matches(const TermMap& terms, fb::LinkChannels channels, bool strided, bool mean, int64_t pool,
                      std::array<int64_t, 4> in, std::array<int64_t, 4> out) {
    const auto [n, c, h, w] = in;
    const auto [on, m, oh, ow] = out;
    for (int64_t b = 0; b < on; ++b)
      for (int64_t oc = 0; oc < m; ++oc)
        for (int64_t oy = 0; oy < oh; ++oy)
          for (int64_t ox = 0; ox < ow; ++ox) {
            std::vector<int64_t> sources{oc};
            if (channels == fb::LinkChannels::Expand) sources = {strided ? oc % c : oc / (m / c)};
            if (channels == fb::LinkChannels::Squeeze) {
              sources.clear();
              for (int64_t j = 0; j < c / m; ++j) sources.push_back(strided ? oc + j * m : oc * (c / m) + j);
            }
            const int64_t y1 = std::min(h, (oy + 1) * pool), x1 = std::min(w, (ox + 1) * pool);
            const double weight = 1.0 / static_cast<double>((y1 - oy * pool) * (x1 - ox * pool)) /
                                  (mean ? static_cast<double>(sources.size()) : 1.0);
            Terms expected;
            for (int64_t s : sources)
              for (int64_t y = oy * pool; y < y1; ++y)
                for (int64_t x = ox * pool; x < x1; ++x) expected.emplace_back(((b * c + s) * h + y) * w + x, weight);
            expected = normalized(std::move(expected));
            const Terms& actual = terms[static_cast<size_t>(((b * m + oc) * oh + oy) * ow + ox)];
            if (actual.size() != expected.size()) return false;
            for (size_t k = 0; k < actual.size(); ++k)
              if (actual[k].first != expected[k].first ||
                  std::abs(actual[k].second - expected[k].second) > 1e-6 * std::abs(expected[k].second))
                return false;
          }
    return true;
  }

  // A binary layer whose only consumer is a Binarize of its output writes the packed signs.
  void fuse_packed_outputs() {
    for (auto& op : p_.ops) {
      if (!op.is<fb::BinaryConv2DT>() && !op.is<fb::BinaryFullyConnectedT>()) continue;
      Op* next = sole_consumer(op.output);
      if (!next || !next->is<fb::BinarizeT>() || next->inputs[0] != op.output) continue;
      const auto m = static_cast<size_t>(p_.shapes.at(op.output)[1]);
      std::vector<float> threshold =
          next->inputs.size() > 1 ? p_.weights.at(next->inputs[1]).data : std::vector<float>(m, 0.0f);
      op.inputs.push_back(channel_weight(op.name + "_out_threshold", std::move(threshold)));
      op.output = next->output;
      kill(*next);
    }
  }

  std::map<std::string, StepAnalysis> analyses_;
  std::map<std::string, std::string> binarized_;  // source and thresholds -> packed signs
};

}  // namespace

void binarize(Program& program) { Binarizer(program).run(); }

}  // namespace vkbnn::convert::detail
