#include "passes/step_function.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <map>
#include <set>

namespace vkbnn::convert::detail {
namespace {

constexpr size_t kMaxRegionOps = 256;
// Steps along the float line when resolving a threshold to the float where the value flips.
constexpr int kMaxUlpSteps = 64;

// What a value is as a function of the source on each channel: piecewise constant, piecewise
// linear (breakpoints known), or anything else.
enum class Kind { Constant, Linear, Nonlinear };

bool piecewise_linear(fb::ActivationKind k) {
  return k == fb::ActivationKind::None || k == fb::ActivationKind::Relu || k == fb::ActivationKind::Clip ||
         k == fb::ActivationKind::LeakyRelu;
}

}  // namespace

double evaluate_activation(const fb::ActivationT& a, double x) {
  switch (a.kind) {
    case fb::ActivationKind::None: return x;
    case fb::ActivationKind::Relu: return std::max(x, 0.0);
    case fb::ActivationKind::Clip: return std::min(std::max(x, double{a.alpha}), double{a.beta});
    case fb::ActivationKind::LeakyRelu: return x >= 0 ? x : x * a.alpha;
    case fb::ActivationKind::Sigmoid: return 1 / (1 + std::exp(-x));
    case fb::ActivationKind::HardSigmoid: return std::clamp(a.alpha * x + a.beta, 0.0, 1.0);
    case fb::ActivationKind::HardSwish: return x * std::clamp(x / 6 + 0.5, 0.0, 1.0);
    case fb::ActivationKind::Erf: return std::erf(x);
    case fb::ActivationKind::Tanh: return std::tanh(x);
    case fb::ActivationKind::Exp: return std::exp(x);
    case fb::ActivationKind::Log: return std::log(x);
    case fb::ActivationKind::Sqrt: return std::sqrt(x);
    case fb::ActivationKind::Reciprocal: return 1 / x;
    case fb::ActivationKind::Abs: return std::abs(x);
    case fb::ActivationKind::Softplus: return std::log1p(std::exp(x));
    case fb::ActivationKind::Mish: return x * std::tanh(std::log1p(std::exp(x)));
    case fb::ActivationKind::Silu: return x / (1 + std::exp(-x));
    case fb::ActivationKind::Gelu: return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
    case fb::ActivationKind::Floor: return std::floor(x);
    case fb::ActivationKind::Ceil: return std::ceil(x);
    case fb::ActivationKind::Round: return std::nearbyint(x);
    case fb::ActivationKind::Trunc: return std::trunc(x);
    case fb::ActivationKind::Not: return x == 0;
    case fb::ActivationKind::Sign: return double((x > 0) - (x < 0));
  }
  return x;
}

double evaluate_binary(fb::BinaryKind kind, double a, double b) {
  switch (kind) {
    case fb::BinaryKind::Add: return a + b;
    case fb::BinaryKind::Sub: return a - b;
    case fb::BinaryKind::Mul: return a * b;
    case fb::BinaryKind::Div: return a / b;
    case fb::BinaryKind::Min: return std::min(a, b);
    case fb::BinaryKind::Max: return std::max(a, b);
    case fb::BinaryKind::Pow: return std::pow(a, b);
    case fb::BinaryKind::TruncDiv: return b == 0 ? 0 : std::trunc(a / b);
    case fb::BinaryKind::Mod: {
      if (b == 0) return 0;
      const double r = std::fmod(a, b);
      return r != 0 && (r < 0) != (b < 0) ? r + b : r;
    }
    case fb::BinaryKind::Fmod: return b == 0 ? 0 : std::fmod(a, b);
    case fb::BinaryKind::Equal: return a == b;
    case fb::BinaryKind::Greater: return a > b;
    case fb::BinaryKind::GreaterOrEqual: return a >= b;
    case fb::BinaryKind::Less: return a < b;
    case fb::BinaryKind::LessOrEqual: return a <= b;
    case fb::BinaryKind::And: return a != 0 && b != 0;
    case fb::BinaryKind::Or: return a != 0 || b != 0;
    case fb::BinaryKind::Xor: return (a != 0) != (b != 0);
  }
  return a;
}

namespace {

class Analyzer {
 public:
  Analyzer(const Program& p, const ProducerOf& producer, const std::string& value)
      : p_(p), producer_(producer), value_(value), shape_(p.shapes.at(value)) {}

  StepAnalysis run() {
    StepAnalysis result;
    if (shape_.size() != 2 && shape_.size() != 4) return result;
    walk();
    for (const auto& cut : cuts_) result.cuts.push_back(cut.value);
    for (size_t i : ops_) {
      const Op& op = p_.ops[i];
      result.spelled_binary = result.spelled_binary || op.is<pattern::Sign>() || op.is<pattern::Compare>() ||
                              op.is<pattern::Not>() || op.is<pattern::Where>() || op.is<pattern::Cast>();
    }
    if (!result.spelled_binary) return result;
    // The farthest source first: it absorbs the most (thresholds, BatchNorm, clipping).
    std::string why;
    for (size_t k = cuts_.size(); k-- > 1;) {
      std::string reason;
      if (auto step = analyze_cut(cuts_[k], reason)) {
        result.step = std::move(step);
        return result;
      }
      if (why.empty()) why = reason;
    }
    result.why_not = why.empty() ? "it is not an element-wise function of one real tensor" : why;
    return result;
  }

 private:
  struct Cut {
    std::string value;
    size_t ops;  // the region between this cut and the value: ops_[0 .. ops)
  };

  // The weight `name` on channel c, when it holds one value per channel of the value's shape
  // once broadcast (one value, [C], [1, C, 1, 1], or a full tensor such as ones_like(x) exports
  // that is constant on each channel).
  std::optional<double> weight_at(const std::string& name, int64_t c) const {
    auto it = channel_values_.find(name);
    if (it == channel_values_.end()) it = channel_values_.emplace(name, channel_values(p_.weights.at(name))).first;
    if (!it->second) return std::nullopt;
    return (*it->second)[static_cast<size_t>(c)];
  }

  std::optional<std::vector<double>> channel_values(const Weight& w) const {
    if (!w.bits.empty() || w.data.empty() || w.shape.size() > shape_.size()) return std::nullopt;
    const size_t lead = shape_.size() - w.shape.size();
    for (size_t d = 0; d < w.shape.size(); ++d)
      if (w.shape[d] != 1 && w.shape[d] != shape_[lead + d]) return std::nullopt;
    const auto channels = static_cast<size_t>(shape_[1]);
    std::vector<std::optional<double>> per(channels);
    // The channel axis of the broadcast weight, if it has one.
    int64_t stride = 0, extent = 1;
    if (lead <= 1) {
      extent = w.shape[1 - lead];
      stride = 1;
      for (size_t d = 2 - lead; d < w.shape.size(); ++d) stride *= w.shape[d];
    }
    for (size_t k = 0; k < w.data.size(); ++k) {
      const size_t ch = extent == 1 ? 0 : (k / static_cast<size_t>(stride)) % static_cast<size_t>(extent);
      auto& v = per[ch];
      if (!v) v = w.data[k];
      else if (*v != w.data[k]) return std::nullopt;
    }
    std::vector<double> values(channels);
    for (size_t ch = 0; ch < channels; ++ch) values[ch] = *per[extent == 1 ? 0 : ch];
    return values;
  }

  bool elementwise(const Op& op) const {
    if (p_.shapes.at(op.output) != shape_) return false;
    if (op.is<fb::ChannelAffineT>()) return p_.shapes.at(op.inputs[0]) == shape_;
    if (!op.is<fb::BinaryT>() && !op.is<fb::ActivationOpT>() && !op.is<fb::PReluT>() && !op.is<pattern::Sign>() &&
        !op.is<pattern::Compare>() && !op.is<pattern::Not>() && !op.is<pattern::Where>() && !op.is<pattern::Cast>() &&
        !op.is<fb::ReshapeT>())
      return false;
    for (const auto& in : op.inputs) {
      if (p_.is_weight(in)) {
        if (!weight_at(in, 0)) return false;
      } else if (p_.shapes.at(in) != shape_) {
        return false;
      }
    }
    return true;
  }

  int64_t index_of(const std::string& v) const {
    const Op* op = producer_(v);
    return op ? static_cast<int64_t>(op - p_.ops.data()) : -1;
  }

  // Walks back from the value through element-wise ops, latest first; wherever one tensor is all
  // the region still needs, that tensor is a cut.
  void walk() {
    std::set<std::pair<int64_t, std::string>> frontier{{index_of(value_), value_}};
    while (true) {
      if (frontier.size() == 1) cuts_.push_back({frontier.begin()->second, ops_.size()});
      const auto last = std::prev(frontier.end());
      const int64_t index = last->first;
      if (index < 0 || ops_.size() >= kMaxRegionOps) return;
      const Op& op = p_.ops[static_cast<size_t>(index)];
      if (!elementwise(op)) return;
      frontier.erase(last);
      ops_.push_back(static_cast<size_t>(index));
      for (const auto& in : op.inputs)
        if (!p_.is_weight(in)) frontier.insert({index_of(in), in});
    }
  }

  // Region values at one point of the source on channel c: post[] holds each op's output,
  // pre[] the output before its fused activation.
  struct Point {
    std::map<std::string, double> post, pre;
  };

  double read(const Point& pt, const std::string& name, int64_t c) const {
    if (auto it = pt.post.find(name); it != pt.post.end()) return it->second;
    return *weight_at(name, c);
  }

  Point evaluate(const std::vector<size_t>& region, const std::string& source, double v, int64_t c) const {
    Point pt;
    pt.post[source] = v;
    for (size_t i : region) {
      const Op& op = p_.ops[i];
      auto in = [&](size_t k) { return read(pt, op.inputs[k], c); };
      double y = 0;
      if (const auto* binary = op.get<fb::BinaryT>()) {
        const double a = in(0), b = in(1);
        y = evaluate_binary(binary->kind, a, b);
      } else if (op.is<fb::ChannelAffineT>()) {
        y = p_.weights.at(op.inputs[1]).data[static_cast<size_t>(c)] * in(0) +
            p_.weights.at(op.inputs[2]).data[static_cast<size_t>(c)];
      } else if (op.is<fb::PReluT>()) {
        y = in(0) < 0 ? in(0) * in(1) : in(0);
      } else if (op.is<pattern::Sign>()) {
        y = double((in(0) > 0) - (in(0) < 0));
      } else if (const auto* compare = op.get<pattern::Compare>()) {
        const double a = in(0), b = in(1);
        switch (compare->kind) {
          case pattern::CompareKind::Greater: y = a > b; break;
          case pattern::CompareKind::GreaterOrEqual: y = a >= b; break;
          case pattern::CompareKind::Less: y = a < b; break;
          case pattern::CompareKind::LessOrEqual: y = a <= b; break;
          case pattern::CompareKind::Equal: y = a == b; break;
        }
      } else if (op.is<pattern::Not>()) {
        y = in(0) == 0;
      } else if (op.is<pattern::Where>()) {
        y = in(0) != 0 ? in(1) : in(2);
      } else if (const auto* cast = op.get<pattern::Cast>()) {
        y = cast->kind == pattern::CastKind::Bool      ? double(in(0) != 0)
            : cast->kind == pattern::CastKind::Integer ? std::trunc(in(0))
                                                       : in(0);
      } else {
        y = in(0);  // Reshape, Activation
      }
      pt.pre[op.output] = y;
      pt.post[op.output] = evaluate_activation(op.act(), y);
    }
    return pt;
  }

  struct Piece {
    Kind kind = Kind::Constant;
    std::vector<double> breaks;  // sorted
  };

  static std::vector<double> merged(std::vector<double> a, const std::vector<double>& b) {
    a.insert(a.end(), b.begin(), b.end());
    std::sort(a.begin(), a.end());
    a.erase(std::unique(a.begin(), a.end()), a.end());
    return a;
  }

  // Where a piecewise-linear g (affine between `breaks`) equals k.
  template <typename G>
  static std::vector<double> crossings(const std::vector<double>& breaks, double k, G g) {
    std::vector<double> out;
    std::vector<std::pair<double, double>> segments;
    if (breaks.empty()) {
      segments.emplace_back(-1.0, 1.0);
    } else {
      const double lo = breaks.front(), hi = breaks.back();
      segments.emplace_back(lo - 2 - 2 * std::abs(lo), lo - 1 - std::abs(lo));
      for (size_t i = 0; i + 1 < breaks.size(); ++i) {
        const double w = breaks[i + 1] - breaks[i];
        segments.emplace_back(breaks[i] + w / 3, breaks[i] + 2 * w / 3);
      }
      segments.emplace_back(hi + 1 + std::abs(hi), hi + 2 + 2 * std::abs(hi));
    }
    for (const auto& [a, b] : segments) {
      const double ga = g(a), gb = g(b);
      if (ga == gb || !std::isfinite(ga) || !std::isfinite(gb)) continue;
      // Extrapolated past its piece, a crossing is spurious but harmless: one more probe.
      if (const double x = a + (k - ga) * (b - a) / (gb - ga); std::isfinite(x)) out.push_back(x);
    }
    for (double b : breaks)
      if (g(b) == k) out.push_back(b);
    return out;
  }

  // Kind and breakpoints of every region value on channel c.
  std::map<std::string, Piece> pieces(const std::vector<size_t>& region, const std::string& source, int64_t c,
                                      std::string& why) const {
    std::map<std::string, Piece> piece{{source, {Kind::Linear, {}}}};
    auto of = [&](const std::string& name) { return piece.count(name) ? piece.at(name) : Piece{}; };
    auto at = [&](const std::string& name, bool pre = false) {
      return [&, name, pre](double v) {
        const Point pt = evaluate(region, source, v, c);
        return pre ? pt.pre.at(name) : read(pt, name, c);
      };
    };
    for (size_t i : region) {
      const Op& op = p_.ops[i];
      Piece out;
      for (const auto& in : op.inputs) {
        const Piece& pi = of(in);
        out.breaks = merged(out.breaks, pi.breaks);
      }
      auto kind_of = [&](size_t k) { return of(op.inputs[k]).kind; };
      auto worst = [&] {
        Kind k = Kind::Constant;
        for (size_t j = 0; j < op.inputs.size(); ++j) k = std::max(k, kind_of(j));
        return k;
      };
      auto add_crossings = [&](const std::string& name, double k, bool pre = false) {
        out.breaks = merged(out.breaks, crossings(out.breaks, k, at(name, pre)));
      };
      if (const auto* binary = op.get<fb::BinaryT>()) {
        out.kind = worst();
        if ((binary->kind == fb::BinaryKind::Mul && kind_of(0) != Kind::Constant && kind_of(1) != Kind::Constant) ||
            (binary->kind == fb::BinaryKind::Div && kind_of(1) != Kind::Constant))
          out.kind = Kind::Nonlinear;
        // Their breakpoints are not tracked, so they count as curves unless constant: of piecewise
        // constant operands, And, Or and Xor stay piecewise constant.
        const bool curve = binary->kind != fb::BinaryKind::Add && binary->kind != fb::BinaryKind::Sub &&
                           binary->kind != fb::BinaryKind::Mul && binary->kind != fb::BinaryKind::Div;
        if (curve && out.kind != Kind::Constant) out.kind = Kind::Nonlinear;
      } else if (op.is<fb::ChannelAffineT>() || op.is<fb::ReshapeT>() || op.is<fb::ActivationOpT>()) {
        out.kind = kind_of(0);
      } else if (op.is<fb::PReluT>()) {
        out.kind = kind_of(0);
        if (out.kind == Kind::Linear) add_crossings(op.inputs[0], 0);
      } else if (op.is<pattern::Sign>() || op.is<pattern::Not>()) {
        if (kind_of(0) == Kind::Nonlinear) out.kind = Kind::Nonlinear;
        else if (kind_of(0) == Kind::Linear) add_crossings(op.inputs[0], 0);
      } else if (const auto* cast = op.get<pattern::Cast>()) {
        out.kind = kind_of(0);
        if (cast->kind == pattern::CastKind::Bool && out.kind == Kind::Linear) {
          add_crossings(op.inputs[0], 0);
          out.kind = Kind::Constant;
        }
        if (cast->kind == pattern::CastKind::Integer && out.kind != Kind::Constant) out.kind = Kind::Nonlinear;
      } else if (op.is<pattern::Compare>()) {
        if (worst() == Kind::Nonlinear) {
          out.kind = Kind::Nonlinear;
        } else if (worst() == Kind::Linear) {
          const auto a = at(op.inputs[0]), b = at(op.inputs[1]);
          out.breaks = merged(out.breaks, crossings(out.breaks, 0, [&](double v) { return a(v) - b(v); }));
        }
      } else if (op.is<pattern::Where>()) {
        out.kind = std::max(kind_of(1), kind_of(2));
        if (kind_of(0) == Kind::Nonlinear) out.kind = Kind::Nonlinear;
        else if (kind_of(0) == Kind::Linear) add_crossings(op.inputs[0], 0);
      } else {
        out.kind = Kind::Nonlinear;
      }
      // The fused activation (or the Activation op itself) bends a linear value at its kinks.
      const fb::ActivationT act = op.act();
      if (act.kind != fb::ActivationKind::None && out.kind != Kind::Constant) {
        if (!piecewise_linear(act.kind) || out.kind == Kind::Nonlinear) {
          out.kind = Kind::Nonlinear;
        } else {
          const bool standalone = op.is<fb::ActivationOpT>();
          const std::string& arg = standalone ? op.inputs[0] : op.output;
          if (act.kind == fb::ActivationKind::Clip) {
            add_crossings(arg, act.alpha, !standalone);
            add_crossings(arg, act.beta, !standalone);
          } else {
            add_crossings(arg, 0, !standalone);
          }
        }
      }
      piece[op.output] = std::move(out);
    }
    if (piece.at(value_).kind == Kind::Nonlinear && why.empty()) why = "it is not piecewise constant in its input";
    return piece;
  }

  // value = constant + sum coefficient * atom, through the ops that are linear in their
  // computed operands: a detached surrogate p in s - p + p cancels here.
  struct Linear {
    double constant = 0;
    std::map<std::string, double> terms;
  };

  Linear linear_form(const std::vector<size_t>& region, const std::string& source, int64_t c) const {
    std::map<std::string, Linear> form;
    form[source].terms[source] = 1;
    auto of = [&](const std::string& name) {
      if (auto it = form.find(name); it != form.end()) return it->second;
      Linear l;
      l.constant = *weight_at(name, c);
      return l;
    };
    auto is_constant = [&](const std::string& name) { return p_.is_weight(name); };
    for (size_t i : region) {
      const Op& op = p_.ops[i];
      Linear out;
      const bool plain = op.act().kind == fb::ActivationKind::None;
      auto combine = [&](const Linear& a, const Linear& b, double sb) {
        out = a;
        out.constant += sb * b.constant;
        for (const auto& [t, k] : b.terms) out.terms[t] += sb * k;
      };
      auto scaled = [&](Linear a, double s) {
        a.constant *= s;
        for (auto& [t, k] : a.terms) k *= s;
        return a;
      };
      if (plain && op.is<fb::BinaryT>() && op.get<fb::BinaryT>()->kind == fb::BinaryKind::Add) {
        combine(of(op.inputs[0]), of(op.inputs[1]), 1);
      } else if (plain && op.is<fb::BinaryT>() && op.get<fb::BinaryT>()->kind == fb::BinaryKind::Sub) {
        combine(of(op.inputs[0]), of(op.inputs[1]), -1);
      } else if (plain && op.is<fb::BinaryT>() && op.get<fb::BinaryT>()->kind == fb::BinaryKind::Mul &&
                 (is_constant(op.inputs[0]) || is_constant(op.inputs[1]))) {
        const bool first = is_constant(op.inputs[0]);
        out = scaled(of(op.inputs[first ? 1 : 0]), *weight_at(op.inputs[first ? 0 : 1], c));
      } else if (plain && op.is<fb::BinaryT>() && op.get<fb::BinaryT>()->kind == fb::BinaryKind::Div && is_constant(op.inputs[1])) {
        out = scaled(of(op.inputs[0]), 1 / *weight_at(op.inputs[1], c));
      } else if (plain && op.is<fb::ChannelAffineT>()) {
        out = scaled(of(op.inputs[0]), p_.weights.at(op.inputs[1]).data[static_cast<size_t>(c)]);
        out.constant += p_.weights.at(op.inputs[2]).data[static_cast<size_t>(c)];
      } else if (op.is<fb::ReshapeT>() || (op.is<pattern::Cast>() && op.get<pattern::Cast>()->kind == pattern::CastKind::Float)) {
        out = of(op.inputs[0]);
      } else {
        out.terms[op.output] = 1;
      }
      double largest = 0;
      for (const auto& [t, k] : out.terms) largest = std::max(largest, std::abs(k));
      std::erase_if(out.terms, [&](const auto& term) { return std::abs(term.second) <= 1e-9 * largest; });
      form[op.output] = std::move(out);
    }
    return form.at(value_);
  }

  struct Channel {
    float threshold;  // the engine's: +1 where x + threshold >= 0
    float scale;
  };

  std::optional<Channel> analyze_channel(const Cut& cut, int64_t c, std::string& why) const {
    const std::vector<size_t> region(ops_.rbegin() + static_cast<std::ptrdiff_t>(ops_.size() - cut.ops), ops_.rend());
    const std::string& x = cut.value;
    const Linear form = linear_form(region, x, c);
    const auto piece = pieces(region, x, c, why);
    Kind kind = Kind::Constant;
    std::vector<double> breaks;
    for (const auto& [atom, k] : form.terms) {
      const Piece& pc = piece.at(atom);
      kind = std::max(kind, pc.kind);
      breaks = merged(breaks, pc.breaks);
    }
    if (kind != Kind::Constant) {
      why = kind == Kind::Linear ? "it varies continuously with its input '" + x + "'"
                                 : "it is not piecewise constant in its input '" + x + "'";
      return std::nullopt;
    }
    auto f = [&](double v) {
      const Point pt = evaluate(region, x, v, c);
      double y = form.constant;
      for (const auto& [atom, k] : form.terms) y += k * pt.post.at(atom);
      return y;
    };
    if (breaks.empty()) {
      why = "it does not depend on its input '" + x + "'";
      return std::nullopt;
    }
    // Values on the open pieces, left to right, and at the breakpoints.
    std::vector<double> inside;
    const double lo = breaks.front(), hi = breaks.back();
    inside.push_back(f(lo - 2 - 2 * std::abs(lo)));
    inside.push_back(f(lo - 1 - std::abs(lo)));
    for (size_t i = 0; i + 1 < breaks.size(); ++i) {
      const double w = breaks[i + 1] - breaks[i];
      inside.push_back(f(breaks[i] + w / 3));
      inside.push_back(f(breaks[i] + 2 * w / 3));
    }
    inside.push_back(f(hi + 1 + std::abs(hi)));
    inside.push_back(f(hi + 2 + 2 * std::abs(hi)));
    const double a = std::abs(inside.front());
    auto same = [&](double u, double w) { return std::abs(u - w) <= 1e-6 * a; };
    if (!(a > 0) || !std::isfinite(a)) {
      why = "it is 0 or not finite";
      return std::nullopt;
    }
    for (double v : inside)
      if (!same(std::abs(v), a)) {
        why = "it takes more than two values (+-" + std::to_string(a) + " and " + std::to_string(v) + ")";
        return std::nullopt;
      }
    // inside[2k], inside[2k+1] lie on piece k; piece k and k+1 meet at breaks[k].
    std::optional<size_t> flip;
    for (size_t k = 0; k < breaks.size() + 1; ++k) {
      if (!same(inside[2 * k], inside[2 * k + 1])) {
        why = "it is not constant between its breakpoints";
        return std::nullopt;
      }
      if (k == breaks.size()) break;
      const double left = inside[2 * k + 1], right = inside[2 * k + 2], at = f(breaks[k]);
      if (same(left, right)) {
        if (!same(at, left)) {
          why = "it takes another value at the single point " + std::to_string(breaks[k]);
          return std::nullopt;
        }
        continue;
      }
      if (flip) {
        why = "it changes sign more than once";
        return std::nullopt;
      }
      if (!same(at, left) && !same(at, right) && !same(at, 0)) {
        why = "it takes another value at its threshold";
        return std::nullopt;
      }
      flip = k;
    }
    if (!flip) {
      why = "it is constant";
      return std::nullopt;
    }
    const double right = inside[2 * *flip + 2];
    // The right side holds from the smallest float on it (a value of 0 at the threshold, ONNX's
    // sign(0), counts as the right side: the engine's sign(0) = +1 there).
    auto on_right = [&](float v) {
      const double y = f(v);
      return same(y, right) || same(y, 0);
    };
    float t = static_cast<float>(breaks[*flip]);
    int steps = 0;
    if (on_right(t)) {
      while (steps++ < kMaxUlpSteps && on_right(std::nextafter(t, -INFINITY))) t = std::nextafter(t, -INFINITY);
    } else {
      while (steps++ < kMaxUlpSteps && !on_right(t)) t = std::nextafter(t, INFINITY);
    }
    if (steps > kMaxUlpSteps || !on_right(t) || on_right(std::nextafter(t, -INFINITY))) {
      why = "its threshold near " + std::to_string(breaks[*flip]) + " does not resolve to one float";
      return std::nullopt;
    }
    if (t == 0.0f && on_right(-0.0f) != on_right(0.0f)) {
      why = "it tells -0 from +0";
      return std::nullopt;
    }
    // Denormal thresholds (x > 0 is x >= the smallest denormal) would meet flush-to-zero
    // arithmetic: the nearest normal float decides the same for every normal input.
    if (t > 0 && t < FLT_MIN) t = FLT_MIN;
    if (t < 0 && t > -FLT_MIN) t = 0.0f;
    return Channel{t == 0.0f ? 0.0f : -t, static_cast<float>(right)};
  }

  std::optional<StepFunction> analyze_cut(const Cut& cut, std::string& why) const {
    if (p_.is_weight(cut.value) || p_.shapes.at(cut.value) != shape_) return std::nullopt;
    StepFunction step;
    step.source = cut.value;
    for (int64_t c = 0; c < shape_[1]; ++c) {
      auto ch = analyze_channel(cut, c, why);
      if (!ch) {
        why = "on channel " + std::to_string(c) + " " + why;
        return std::nullopt;
      }
      step.threshold.push_back(ch->threshold);
      step.scale.push_back(ch->scale);
    }
    return step;
  }

  const Program& p_;
  const ProducerOf& producer_;
  const std::string& value_;
  const Shape& shape_;
  std::vector<size_t> ops_;  // the region, latest first
  std::vector<Cut> cuts_;
  mutable std::map<std::string, std::optional<std::vector<double>>> channel_values_;
};

}  // namespace

StepAnalysis analyze_step(const Program& p, const ProducerOf& producer, const std::string& value) {
  return Analyzer(p, producer, value).run();
}

}  // namespace vkbnn::convert::detail
