// Binarized layers, found by what the graph computes rather than by names:
//  - a Sign (behind an optional Add/Sub of one threshold per channel) whose every consumer is a
//    Conv (group 1) or a fully connected layer with weights of one magnitude per output channel
//    (+-alpha_c, after alpha and BatchNorm have been folded in) becomes a Binarize, and those
//    layers become binary ones; a max pool between the two pools the packed signs;
//  - after a binary layer, an Add of gamma_c * R(x), x being the real-valued tensor that was
//    binarized and R any data-movement subgraph that computes one of the Elastic-Link matchings
//    (identity, average pooling, Squeeze, Expand), is fused as the link. R is recognised by
//    evaluating the subgraph symbolically and comparing it with each matching's definition, so
//    Tile, Concat, Reshape + ReduceMean or Split + Expand spellings all qualify;
//  - PReLU and RPReLU (Sub/Add, PRelu, Add) before or after the link are fused;
//  - when a binary layer's only consumer is the next Binarize, it writes packed signs itself.

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include "graph_edit.hpp"

namespace vkbnn::convert::detail {
namespace {

// An element of a symbolically evaluated tensor: a weighted sum of source elements.
using Terms = std::vector<std::pair<int64_t, double>>;
using TermMap = std::vector<Terms>;

constexpr size_t kMaxLinkOps = 4096;
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

// Weights [M, C, ...] whose values are +-alpha_m per output channel, packed as signs along C.
std::optional<BinaryWeights> binary_weights(const Weight& w) {
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
      if (std::abs(std::abs(v[k]) - magnitude) > 1e-5f * magnitude) return std::nullopt;
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
    for (size_t i = 0; i < p_.ops.size(); ++i)
      if (p_.ops[i].type == OpType::Sign && !dead_[i]) binarize_sign(i);
    compact();
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
    if (!op || op->type != OpType::Binary || op->act.kind != fb::ActivationKind::None) return std::nullopt;
    const Shape& out = p_.shapes.at(op->output);
    if (op->binary == fb::BinaryKind::Add) {
      for (int k = 0; k < 2; ++k)
        if (auto c = per_channel(op->inputs[static_cast<size_t>(k)], out); c && !p_.is_weight(op->inputs[1 - k]))
          return Offset{op, op->inputs[static_cast<size_t>(1 - k)], *c};
    }
    if (op->binary == fb::BinaryKind::Sub && !p_.is_weight(op->inputs[0])) {
      if (auto c = per_channel(op->inputs[1], out)) {
        for (float& v : *c) v = -v;
        return Offset{op, op->inputs[0], *c};
      }
    }
    return std::nullopt;
  }

  // Whether a consumer of packed signs can read them: a conv or fully connected layer with
  // binary weights reading them as its data input.
  bool binarizable_layer(const Op& op, const std::string& value) {
    if (op.inputs.empty() || op.inputs[0] != value || op.act.kind != fb::ActivationKind::None) return false;
    if (op.type == OpType::Conv && op.group == 1) return binary_weights(p_.weights.at(op.inputs[1])).has_value();
    if (op.type == OpType::FullyConnected && p_.shapes.at(value).size() == 2)
      return binary_weights(p_.weights.at(op.inputs[1])).has_value();
    return false;
  }

  bool all_binarizable(const std::string& value) {
    if (outputs_.count(value) || !consumers_.count(value)) return false;
    for (size_t c : consumers_.at(value)) {
      const Op& op = p_.ops[c];
      if (dead_[c]) return false;
      const bool pool = op.type == OpType::Pool && op.pool == fb::PoolKind::Max && all_binarizable(op.output);
      if (!pool && !binarizable_layer(op, value)) return false;
    }
    return true;
  }

  void binarize_sign(size_t index) {
    Op& sign = p_.ops[index];
    const Shape& shape = p_.shapes.at(sign.output);
    if ((shape.size() != 2 && shape.size() != 4) || !all_binarizable(sign.output)) return;
    std::string real = sign.inputs[0];
    std::vector<float> threshold(static_cast<size_t>(shape[1]), 0.0f);
    if (auto offset = offset_of(producer(real)); offset && uses(real) == 1) {
      kill(*offset->op);
      real = offset->operand;
      threshold = offset->amount;
    }
    sign.type = OpType::Binarize;
    sign.inputs = {real};
    if (std::any_of(threshold.begin(), threshold.end(), [](float t) { return t != 0.0f; }))
      sign.inputs.push_back(channel_weight(sign.name + "_threshold", threshold));
    p_.bit_values.insert(sign.output);
    const std::vector<size_t> consumers = consumers_.at(sign.output);
    for (size_t c : consumers) {
      Op& op = p_.ops[c];
      if (op.type == OpType::Pool) {
        p_.bit_values.insert(op.output);
        for (size_t layer : consumers_.at(op.output)) to_binary(p_.ops[layer], "");
      } else {
        to_binary(op, real);
      }
    }
  }

  void to_binary(Op& op, const std::string& real) {
    const Weight& w = p_.weights.at(op.inputs[1]);
    BinaryWeights b = *binary_weights(w);
    const auto m = static_cast<size_t>(w.shape[0]);
    std::vector<float> shift = op.inputs.size() > 2 ? p_.weights.at(op.inputs[2]).data : std::vector<float>(m, 0.0f);
    const std::string bits = add_weight(op.name + "_weight_bits", {w.shape, {}, std::move(b.words)});
    op.type = op.type == OpType::Conv ? OpType::BinaryConv : OpType::BinaryFullyConnected;
    op.inputs = {op.inputs[0], bits, channel_weight(op.name + "_scale", std::move(b.scale)),
                 channel_weight(op.name + "_shift", std::move(shift))};
    op.padding = fb::BinaryPadding::Zero;
    if (b.zeros) p_.notes.push_back(op.name + ": " + std::to_string(b.zeros) + " weight(s) exactly 0 taken as +alpha");
    fuse_epilogue(op, real);
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

  void fuse_epilogue(Op& op, const std::string& real) {
    const Shape out = p_.shapes.at(op.output);
    std::optional<LinkMatch> link;
    std::optional<ActMatch> act;
    bool after_link = true;
    if (!real.empty()) link = match_link(op.output, real, out);
    act = match_activation(link ? link->output : op.output, out);
    if (!link && act && !real.empty()) {
      link = match_link(act->output, real, out);
      after_link = !link;
    }
    if (link) {
      op.inputs.insert(op.inputs.end(), link->inputs.begin(), link->inputs.end());
      op.epilogue.has_link = true;
      op.epilogue.channels = link->channels;
      op.epilogue.group_order = link->group_order;
      op.epilogue.reduce = link->reduce;
      op.epilogue.pool = link->pool;
      for (const Op* f : link->fused) kill(*f);
    }
    if (act) {
      op.inputs.insert(op.inputs.end(), act->inputs.begin(), act->inputs.end());
      op.epilogue.activation = act->kind;
      for (const Op* f : act->fused) kill(*f);
    }
    op.epilogue.activation_after_link = after_link;
    if (act && (after_link || !link)) op.output = act->output;
    if (link && (!after_link || !act)) op.output = link->output;
    produced_by(op);
  }

  // y + gamma * R(real), in any operand order, gamma one value per channel (1 when absent).
  std::optional<LinkMatch> match_link(const std::string& y, const std::string& real, const Shape& out) {
    Op* add = sole_consumer(y);
    if (!add || add->type != OpType::Binary || add->binary != fb::BinaryKind::Add ||
        add->act.kind != fb::ActivationKind::None)
      return std::nullopt;
    const std::string other = add->inputs[0] == y ? add->inputs[1] : add->inputs[0];
    if (p_.is_weight(other) || p_.shapes.at(other) != out) return std::nullopt;
    LinkMatch match;
    match.fused = {add};
    match.output = add->output;
    std::vector<float> gamma(static_cast<size_t>(out[1]), 1.0f);
    std::string mapped = other;
    if (Op* mul = producer(other); mul && uses(other) == 1 && mul->type == OpType::Binary &&
                                   mul->binary == fb::BinaryKind::Mul && mul->act.kind == fb::ActivationKind::None) {
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
    if (!prelu || prelu->type != OpType::PRelu || prelu->inputs[0] != value) return std::nullopt;
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
      const bool movement = op->type == OpType::Reshape || op->type == OpType::Concat || op->type == OpType::Tile ||
                            op->type == OpType::Expand || op->type == OpType::Slice || op->type == OpType::Reduce ||
                            (op->type == OpType::Pool && op->pool == fb::PoolKind::Average);
      if (!movement || op->act.kind != fb::ActivationKind::None ||
          element_count(p_.shapes.at(v)) > kMaxLinkElements)
        return std::nullopt;
      // A Reshape passes its input's terms on as they are, so they must be as many.
      if (op->type == OpType::Reshape && element_count(p_.shapes.at(op->inputs[0])) != element_count(p_.shapes.at(v)))
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
    if (op.type == OpType::Reshape) return x;
    for (size_t k = 0; k < y.size(); ++k) {
      Shape idx = unravel(static_cast<int64_t>(k), out);
      switch (op.type) {
        case OpType::Tile:
        case OpType::Expand:
          for (size_t d = 0; d < idx.size(); ++d) idx[d] %= in[d];
          y[k] = x[static_cast<size_t>(ravel(idx, in))];
          break;
        case OpType::Slice:
          idx[static_cast<size_t>(op.axis)] += op.slice_start;
          y[k] = x[static_cast<size_t>(ravel(idx, in))];
          break;
        case OpType::Concat: {
          auto axis = static_cast<size_t>(op.axis);
          for (const auto& part : op.inputs) {
            const Shape& ps = p_.shapes.at(part);
            if (idx[axis] < ps[axis]) {
              y[k] = values.at(part)[static_cast<size_t>(ravel(idx, ps))];
              break;
            }
            idx[axis] -= ps[axis];
          }
          break;
        }
        case OpType::Reduce: {
          // Walk every input element that lands on this output.
          Shape full(in.size(), 0);
          size_t o = 0;
          for (size_t d = 0; d < in.size(); ++d) {
            const bool reduced = std::count(op.axes.begin(), op.axes.end(), static_cast<int64_t>(d)) > 0;
            if (reduced && !op.keep_dims) continue;
            full[d] = reduced ? 0 : idx[o];
            ++o;
          }
          int64_t count = 1;
          for (int64_t a : op.axes) count *= in[static_cast<size_t>(a)];
          for (int64_t r = 0; r < count; ++r) {
            int64_t rest = r;
            for (size_t a = op.axes.size(); a-- > 0;) {
              const auto axis = static_cast<size_t>(op.axes[a]);
              full[axis] = rest % in[axis];
              rest /= in[axis];
            }
            for (const auto& [i, w] : x[static_cast<size_t>(ravel(full, in))])
              y[k].emplace_back(i, op.reduce_mean ? w / static_cast<double>(count) : w);
          }
          break;
        }
        case OpType::Pool: {
          const int64_t oy = idx[2], ox = idx[3];
          int64_t inside = 0, padded = 0;
          Terms sum;
          for (int64_t ky = 0; ky < op.kernel[0]; ++ky)
            for (int64_t kx = 0; kx < op.kernel[1]; ++kx) {
              const int64_t iy = oy * op.strides[0] - op.pads[0] + ky * op.dilations[0];
              const int64_t ix = ox * op.strides[1] - op.pads[1] + kx * op.dilations[1];
              if (iy < in[2] + op.pads[2] && ix < in[3] + op.pads[3]) ++padded;
              if (iy < 0 || iy >= in[2] || ix < 0 || ix >= in[3]) continue;
              ++inside;
              for (const auto& t : x[static_cast<size_t>(ravel({idx[0], idx[1], iy, ix}, in))]) sum.push_back(t);
            }
          const double divisor = static_cast<double>(op.count_include_pad ? padded : inside);
          for (auto& [i, w] : sum) w /= divisor;
          y[k] = std::move(sum);
          break;
        }
        default:
          break;
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
      if (op.type != OpType::BinaryConv && op.type != OpType::BinaryFullyConnected) continue;
      Op* next = sole_consumer(op.output);
      if (!next || next->type != OpType::Binarize || next->inputs[0] != op.output) continue;
      const auto m = static_cast<size_t>(p_.shapes.at(op.output)[1]);
      std::vector<float> threshold =
          next->inputs.size() > 1 ? p_.weights.at(next->inputs[1]).data : std::vector<float>(m, 0.0f);
      op.inputs.push_back(channel_weight(op.name + "_out_threshold", std::move(threshold)));
      op.output = next->output;
      kill(*next);
    }
  }

};

}  // namespace

void binarize(Program& program) { Binarizer(program).run(); }

}  // namespace vkbnn::convert::detail
