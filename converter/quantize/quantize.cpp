// Post-training int8 quantization, following the guideline in docs/research.md:
// BatchNorm is already folded (passes/fusion.cpp); weights become symmetric int8 per output channel;
// activations int8 per tensor with a zero point, so that a tensor after a ReLU uses all 256
// levels on [0, max]; ReLU/ReLU6/Clip become clamps of the integer output; biases become int32 at
// scale s_x * s_w,c with the input zero point's correction folded in; every int8 layer
// requantizes with a per-channel fixed-point multiplier and shift; residual adds rescale both
// inputs.
//
// Calibration runs the fp32 model on the engine (Network with every tensor tapped) over the
// samples twice: once for each tensor's range, once for its histograms. Afterwards the int8
// model and the fp32 model run side by side on a few samples to measure each int8 layer's SQNR.

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <optional>
#include <set>
#include <sstream>

#include "quantize/fixed_point.hpp"
#include "ir.hpp"
#include "vkbnn/vkbnn.hpp"

namespace vkbnn::convert::detail {
namespace {

constexpr size_t kBins = 2048;
using Samples = std::vector<std::vector<float>>;

// What calibration saw of one tensor.
struct Stats {
  float lo = std::numeric_limits<float>::max();
  float hi = std::numeric_limits<float>::lowest();
  std::vector<double> hist;      // kBins over [lo, hi]
  std::vector<double> abs_hist;  // kBins over [0, max(|lo|, |hi|)]
  double abs_max() const { return std::max(std::abs(lo), std::abs(hi)); }
};

struct Range {
  double lo = 0, hi = 0;
  std::string method;
};

const char* method_name(CalibrationMethod m) {
  switch (m) {
    case CalibrationMethod::MinMax: return "minmax";
    case CalibrationMethod::Percentile: return "percentile";
    case CalibrationMethod::Entropy: return "entropy";
    case CalibrationMethod::Mse: return "mse";
    case CalibrationMethod::Auto: return "auto";
  }
  return "?";
}

// The 256 levels over [lo, hi], widened to hold 0 exactly (zero padding and ReLU need it).
Quantization quantization_for(double lo, double hi) {
  lo = std::min(lo, 0.0);
  hi = std::max(hi, 0.0);
  if (hi - lo < 1e-8) hi = lo + 1e-8;
  const double scale = (hi - lo) / 255.0;
  const auto zero_point = static_cast<int32_t>(std::clamp<double>(std::round(-128.0 - lo / scale), -128, 127));
  return {static_cast<float>(scale), zero_point};
}

// Squared error of quantizing the histogram's values (bin centres) with [lo, hi].
double histogram_error(const Stats& s, double lo, double hi) {
  const Quantization q = quantization_for(lo, hi);
  const double width = (static_cast<double>(s.hi) - s.lo) / kBins;
  double error = 0;
  for (size_t b = 0; b < kBins; ++b) {
    if (s.hist[b] == 0) continue;
    const double v = s.lo + (static_cast<double>(b) + 0.5) * width;
    const double level = std::clamp(std::nearbyint(v / q.scale) + q.zero_point, -128.0, 127.0);
    const double back = (level - q.zero_point) * q.scale;
    error += s.hist[b] * (v - back) * (v - back);
  }
  return error;
}

Range percentile_range(const Stats& s) {
  const double total = std::accumulate(s.hist.begin(), s.hist.end(), 0.0);
  const double width = (static_cast<double>(s.hi) - s.lo) / kBins;
  auto quantile = [&](double fraction) {
    double seen = 0;
    for (size_t b = 0; b < kBins; ++b) {
      seen += s.hist[b];
      if (seen >= fraction * total) return s.lo + (static_cast<double>(b) + 1) * width;
    }
    return static_cast<double>(s.hi);
  };
  return {s.lo < 0 ? quantile(1e-4) : 0.0, s.hi > 0 ? quantile(1.0 - 1e-4) : 0.0, "percentile"};
}

// TensorRT's entropy calibration on |x|: the clip threshold whose quantized distribution (128
// levels, or 256 for a tensor without negatives) is closest in KL divergence to the clipped one.
// The first bin is left out: after a ReLU it holds the zeros, exact at any threshold, whose spike
// would otherwise dominate the divergence and pull the threshold far into the tail.
Range entropy_range(const Stats& s) {
  const bool one_sided = s.lo >= 0;
  const size_t levels = one_sided ? 256 : 128;
  const double width = s.abs_max() / kBins;
  double best = std::numeric_limits<double>::max();
  size_t best_bins = kBins;
  for (size_t i = levels; i <= kBins; ++i) {
    std::vector<double> p(s.abs_hist.begin(), s.abs_hist.begin() + static_cast<std::ptrdiff_t>(i));
    p[0] = 0;
    const double outliers = std::accumulate(s.abs_hist.begin() + static_cast<std::ptrdiff_t>(i), s.abs_hist.end(), 0.0);
    p.back() += outliers;
    std::vector<double> q(i, 0.0);
    for (size_t l = 0; l < levels; ++l) {
      const size_t begin = l * i / levels, end = (l + 1) * i / levels;
      double sum = 0;
      size_t nonzero = 0;
      for (size_t b = std::max<size_t>(begin, 1); b < end; ++b) {
        sum += s.abs_hist[b];
        nonzero += s.abs_hist[b] > 0;
      }
      for (size_t b = std::max<size_t>(begin, 1); b < end; ++b)
        if (s.abs_hist[b] > 0) q[b] = sum / static_cast<double>(nonzero);
    }
    const double p_total = std::accumulate(p.begin(), p.end(), 0.0), q_total = std::accumulate(q.begin(), q.end(), 0.0);
    if (p_total <= 0 || q_total <= 0) continue;
    double kl = 0;
    for (size_t b = 1; b < i; ++b) {
      if (p[b] <= 0) continue;
      const double pb = p[b] / p_total;
      const double qb = q[b] > 0 ? q[b] / q_total : 1e-12;
      kl += pb * std::log(pb / qb);
    }
    if (kl < best) {
      best = kl;
      best_bins = i;
    }
  }
  const double threshold = static_cast<double>(best_bins) * width;
  return {std::max<double>(s.lo, -threshold), std::min<double>(s.hi, threshold), "entropy"};
}

Range mse_range(const Stats& s) {
  Range best{s.lo, s.hi, "mse"};
  double best_error = std::numeric_limits<double>::max();
  for (int step = 0; step <= 80; ++step) {
    const double f = 1.0 - step * 0.01;
    const double error = histogram_error(s, s.lo * f, s.hi * f);
    if (error < best_error) {
      best_error = error;
      best.lo = s.lo * f;
      best.hi = s.hi * f;
    }
  }
  return best;
}

Range choose_range(const Stats& s, CalibrationMethod method) {
  const Range minmax{s.lo, s.hi, "minmax"};
  switch (method) {
    case CalibrationMethod::MinMax: return minmax;
    case CalibrationMethod::Percentile: return percentile_range(s);
    case CalibrationMethod::Entropy: return entropy_range(s);
    case CalibrationMethod::Mse: return mse_range(s);
    case CalibrationMethod::Auto: break;
  }
  Range best = minmax;
  double best_error = histogram_error(s, minmax.lo, minmax.hi);
  for (const Range& r : {percentile_range(s), entropy_range(s), mse_range(s)}) {
    const double error = histogram_error(s, r.lo, r.hi);
    if (error < best_error) {
      best_error = error;
      best = r;
    }
  }
  best.method = "auto:" + best.method;
  return best;
}

// Runs the fp32 model over the calibration samples and collects every tensor's statistics.
std::map<std::string, Stats> calibrate(Context& context, const Model& model, const std::set<std::string>& names,
                                       const Samples& samples, const QuantizeOptions& q) {
  NetworkOptions options;
  options.taps.assign(names.begin(), names.end());
  Network network(context, model, options);
  const size_t expected = model.inputs().at(0).elements();
  std::map<std::string, Stats> stats;
  const size_t total = 2 * samples.size();
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t i = 0; i < samples.size(); ++i) {
      const auto& sample = samples[i];
      if (sample.size() != expected)
        throw Error("calibration sample " + std::to_string(i) + " has " + std::to_string(sample.size()) +
                    " values; the model's input has " + std::to_string(expected));
      network.run(sample);
      for (const auto& name : names) {
        const Tensor t = network.read_tensor(name);
        Stats& s = stats[name];
        if (pass == 0) {
          for (float v : t.data) {
            if (!std::isfinite(v)) throw Error("tensor '" + name + "' is not finite on calibration sample " + std::to_string(i));
            s.lo = std::min(s.lo, v);
            s.hi = std::max(s.hi, v);
          }
          continue;
        }
        if (s.hist.empty()) {
          s.hist.assign(kBins, 0.0);
          s.abs_hist.assign(kBins, 0.0);
        }
        const double width = (static_cast<double>(s.hi) - s.lo) / kBins, abs_width = s.abs_max() / kBins;
        for (float v : t.data) {
          const auto bin = width > 0 ? static_cast<size_t>((v - s.lo) / width) : 0;
          s.hist[std::min(bin, kBins - 1)] += 1;
          const auto abs_bin = abs_width > 0 ? static_cast<size_t>(std::abs(v) / abs_width) : 0;
          s.abs_hist[std::min(abs_bin, kBins - 1)] += 1;
        }
      }
      if (q.progress) q.progress(pass * samples.size() + i + 1, total);
    }
  }
  return stats;
}

bool clamp_activation(const fb::ActivationT& a) {
  return a.kind == fb::ActivationKind::None || a.kind == fb::ActivationKind::Relu ||
         a.kind == fb::ActivationKind::Clip;
}

// The integer output clamp of an activation fused into an int8 layer with output quantization q.
std::pair<int32_t, int32_t> output_clamp(const fb::ActivationT& a, Quantization q) {
  auto level = [&](double real) {
    return static_cast<int32_t>(std::clamp<double>(std::round(real / q.scale) + q.zero_point, -128, 127));
  };
  if (a.kind == fb::ActivationKind::Relu) return {level(0.0), 127};
  if (a.kind == fb::ActivationKind::Clip) return {level(a.alpha), level(a.beta)};
  return {-128, 127};
}

std::string add_weight(Program& p, const std::string& base, Weight w) {
  const std::string name = p.fresh_name(base);
  p.weights[name] = std::move(w);
  return name;
}

// The fixed-point form of an int8 op's requantization multiplier; one that does not fit (from
// scales far apart) is named with the op.
FixedPoint requantization(const Op& op, double real) {
  try {
    return fixed_point(real);
  } catch (const ModelError& e) {
    throw UnsupportedError("op '" + op.type_name() + "' at node '" + op.name + "': " + e.what() +
                           " (its scales are too far apart)");
  }
}

// Weights [M, ...] symmetric per output channel, the int32 bias with the input zero point's
// correction, and the requantization multipliers and shifts.
std::vector<std::string> int8_weights(Program& p, const Op& op, Quantization qx, Quantization qy) {
  const Weight& w = p.weights.at(op.inputs[1]);
  const int64_t m = w.shape[0];
  const int64_t per_channel = element_count(w.shape) / m;
  Weight qw{w.shape, {}, {}, std::vector<int8_t>(w.data.size()), {}};
  Weight bias{{m}, {}, {}, {}, std::vector<int32_t>(static_cast<size_t>(m))};
  Weight multiplier = bias, shift = bias;
  for (int64_t c = 0; c < m; ++c) {
    const float* src = w.data.data() + c * per_channel;
    float max_abs = 0;
    for (int64_t k = 0; k < per_channel; ++k) max_abs = std::max(max_abs, std::abs(src[k]));
    if (!std::isfinite(max_abs) || std::any_of(src, src + per_channel, [](float v) { return std::isnan(v); }))
      throw UnsupportedError("op '" + op.type_name() + "' at node '" + op.name +
                             "': weights that are not finite cannot be quantized (output channel " +
                             std::to_string(c) + ")");
    const double scale = max_abs > 0 ? max_abs / 127.0 : 1.0;
    int64_t sum = 0;
    for (int64_t k = 0; k < per_channel; ++k) {
      const auto v = static_cast<int8_t>(std::clamp<double>(std::round(src[k] / scale), -127, 127));
      qw.int8[static_cast<size_t>(c * per_channel + k)] = v;
      sum += v;
    }
    const double real_bias = op.inputs.size() > 2 ? p.weights.at(op.inputs[2]).data[static_cast<size_t>(c)] : 0.0;
    const double b = std::round(real_bias / (qx.scale * scale)) - static_cast<double>(qx.zero_point) * sum;
    if (!(std::abs(b) <= 2147483647.0 / 2))
      throw UnsupportedError("op '" + op.type_name() + "' at node '" + op.name +
                             "': the bias of channel " + std::to_string(c) +
                             " does not fit int32 at the input and weight scales");
    bias.int32[static_cast<size_t>(c)] = static_cast<int32_t>(b);
    const FixedPoint fp = requantization(op, qx.scale * scale / qy.scale);
    multiplier.int32[static_cast<size_t>(c)] = fp.multiplier;
    shift.int32[static_cast<size_t>(c)] = fp.shift;
  }
  return {add_weight(p, op.inputs[1] + "_int8", std::move(qw)), add_weight(p, op.name + "_bias_int32", std::move(bias)),
          add_weight(p, op.name + "_multiplier", std::move(multiplier)),
          add_weight(p, op.name + "_shift", std::move(shift))};
}

// The int8 form of a float Conv, FullyConnected, Add, max Pool or average GlobalPool that reads
// the int8 tensors `inputs` and writes the int8 tensor `output`, whose quantizations are in
// p.int8_values.
Op int8_op(Program& p, const Op& op, const std::vector<std::string>& inputs, const std::string& output) {
  Op q = op;
  q.inputs = inputs;
  q.output = output;
  const Quantization qx = p.int8_values.at(inputs[0]), qy = p.int8_values.at(output);
  const auto [clamp_min, clamp_max] = output_clamp(op.act(), qy);
  if (const auto* conv = op.get<fb::Conv2DT>()) {
    fb::Int8Conv2DT params;
    params.kernel = conv->kernel;
    params.strides = conv->strides;
    params.dilations = conv->dilations;
    params.pads = conv->pads;
    params.group = conv->group;
    params.clamp_min = clamp_min;
    params.clamp_max = clamp_max;
    q.set(std::move(params));
    for (const auto& w : int8_weights(p, op, qx, qy)) q.inputs.push_back(w);
    return q;
  }
  if (op.is<fb::FullyConnectedT>()) {
    fb::Int8FullyConnectedT params;
    params.clamp_min = clamp_min;
    params.clamp_max = clamp_max;
    q.set(std::move(params));
    for (const auto& w : int8_weights(p, op, qx, qy)) q.inputs.push_back(w);
    return q;
  }
  if (op.is<fb::BinaryT>()) {
    const Quantization qb = p.int8_values.at(inputs[1]);
    const double ra = static_cast<double>(qx.scale) / qy.scale, rb = static_cast<double>(qb.scale) / qy.scale;
    // One shift for both, the largest that keeps both multipliers below 2^21.
    const int shift = std::min(30, 20 - static_cast<int>(std::ceil(std::log2(std::max(ra, rb)))));
    if (shift < 1)
      throw UnsupportedError("op 'Add' at node '" + op.name + "': its inputs' scales are over 2^19 times its output's");
    fb::Int8AddT params;
    params.multiplier_a = static_cast<int32_t>(std::lround(std::ldexp(ra, shift)));
    params.multiplier_b = static_cast<int32_t>(std::lround(std::ldexp(rb, shift)));
    params.shift = shift;
    params.clamp_min = clamp_min;
    params.clamp_max = clamp_max;
    q.set(std::move(params));
    return q;
  }
  if (op.is<fb::Pool2DT>()) return q;
  if (op.is<fb::GlobalPoolT>()) {
    const Shape& s = p.shapes.at(inputs[0]);
    const FixedPoint fp =
        requantization(op, static_cast<double>(qx.scale) / (static_cast<double>(qy.scale) * s[2] * s[3]));
    fb::Int8GlobalAveragePoolT params;
    params.multiplier = fp.multiplier;
    params.shift = fp.shift;
    q.set(std::move(params));
    return q;
  }
  throw Error("internal: op '" + op.name + "' cannot be quantized");
}

// Float ops with an int8 form: Conv and FullyConnected whose activation is a clamp, Add of two
// activations of one shape, max pooling and global average pooling.
bool has_int8_form(const Program& p, const Op& op) {
  if (op.is<fb::Conv2DT>() || op.is<fb::FullyConnectedT>()) return clamp_activation(op.act());
  if (const auto* binary = op.get<fb::BinaryT>())
    return binary->kind == fb::BinaryKind::Add && clamp_activation(op.act()) && !p.is_weight(op.inputs[0]) &&
           !p.is_weight(op.inputs[1]) && p.shapes.at(op.inputs[0]) == p.shapes.at(op.output) &&
           p.shapes.at(op.inputs[1]) == p.shapes.at(op.output);
  if (const auto* pool = op.get<fb::Pool2DT>()) return pool->kind == fb::PoolKind::Max;
  if (const auto* pool = op.get<fb::GlobalPoolT>())
    return pool->kind == fb::PoolKind::Average && p.shapes.at(op.inputs[0]).size() == 4;
  return false;
}

class Quantizer {
 public:
  Quantizer(Program& p, const std::map<std::string, Stats>& stats, const QuantizeOptions& options)
      : p_(p), stats_(stats), options_(options) {}

  // For each int8 layer (by node name): its fp32 tensor and its int8 tensor.
  const std::map<std::string, std::pair<std::string, std::string>>& compared() const { return compared_; }

  // Rewrites the program; returns the int8 layers' table rows (SQNR still to be measured).
  std::vector<LayerQuantization> run() {
    std::vector<LayerQuantization> table;
    const std::set<std::string> keep(options_.keep_fp32.begin(), options_.keep_fp32.end());
    std::set<std::string> names;
    for (const auto& op : p_.ops) names.insert(op.name);
    for (const auto& k : keep)
      if (!names.count(k)) throw Error("--keep-fp32: the model has no node '" + k + "' (see the node table)");

    std::map<std::string, std::vector<const Op*>> consumers;
    for (const auto& op : p_.ops)
      for (const auto& in : op.inputs) consumers[in].push_back(&op);
    std::set<const Op*> int8_ops;
    std::set<std::string> int8_tensors;
    for (const auto& op : p_.ops) {
      if (keep.count(op.name) || !p_.shapes.count(op.output)) continue;
      // Pooling follows its input's precision.
      const bool pooling = op.is<fb::Pool2DT>() || op.is<fb::GlobalPoolT>();
      const bool int8 = has_int8_form(p_, op) && (!pooling || int8_tensors.count(op.inputs[0]));
      if (int8) {
        int8_ops.insert(&op);
        int8_tensors.insert(op.output);
      }
    }
    // A flatten read only by int8 matmuls is skipped: Int8FullyConnected reads NCHW directly.
    std::map<std::string, std::string> flattened_from;
    std::set<const Op*> skipped;
    for (const auto& op : p_.ops) {
      if (!op.is<fb::ReshapeT>() || !int8_tensors.count(op.inputs[0]) || p_.shapes.at(op.inputs[0]).size() != 4)
        continue;
      const Shape& out = p_.shapes.at(op.output);
      const bool all_fc = std::all_of(consumers[op.output].begin(), consumers[op.output].end(), [&](const Op* c) {
        return c->is<fb::FullyConnectedT>() && int8_ops.count(c) && c->inputs[0] == op.output;
      });
      if (out.size() == 2 && all_fc && !consumers[op.output].empty() &&
          std::find(p_.outputs.begin(), p_.outputs.end(), op.output) == p_.outputs.end()) {
        flattened_from[op.output] = op.inputs[0];
        skipped.insert(&op);
      }
    }

    std::vector<Op> ops;
    for (const auto& op : p_.ops) {
      if (skipped.count(&op)) continue;
      if (!int8_ops.count(&op)) {
        Op copy = op;
        for (auto& in : copy.inputs)
          if (!p_.is_weight(in)) in = fp32_version(in, ops);
        ops.push_back(std::move(copy));
        continue;
      }
      ops.push_back(quantized(op, ops, flattened_from));
      table.push_back(record(ops.back(), op));
    }
    for (auto& out : p_.outputs) out = fp32_version(out, ops);
    p_.ops = std::move(ops);
    return table;
  }

 private:
  Quantization quantization_of(const std::string& tensor, const Op* producer) {
    if (auto it = chosen_.find(tensor); it != chosen_.end()) return it->second.second;
    const Stats& s = stats_.at(tensor);
    // A graph output is kept whole: clipping the largest logits would tie the top classes.
    const bool output = std::find(p_.outputs.begin(), p_.outputs.end(), tensor) != p_.outputs.end();
    Range r = output ? Range{s.lo, s.hi, "minmax (output)"} : choose_range(s, options_.method);
    // A fused ReLU or Clip bounds the range already.
    if (producer && producer->act().kind == fb::ActivationKind::Relu) r.lo = std::max(r.lo, 0.0);
    if (producer && producer->act().kind == fb::ActivationKind::Clip) {
      r.lo = std::max<double>(r.lo, producer->act().alpha);
      r.hi = std::min<double>(r.hi, producer->act().beta);
    }
    const Quantization q = quantization_for(r.lo, r.hi);
    chosen_[tensor] = {r, q};
    return q;
  }

  // The int8 tensor for `tensor`, quantizing an fp32 one on first use.
  std::string int8_version(const std::string& tensor, std::vector<Op>& ops) {
    if (auto it = int8_name_.find(tensor); it != int8_name_.end()) return it->second;
    const std::string name = p_.fresh_name(tensor + "_int8");
    p_.shapes[name] = p_.shapes.at(tensor);
    if (auto axis = p_.batch_axes.find(tensor); axis != p_.batch_axes.end()) p_.batch_axes[name] = axis->second;
    p_.int8_values[name] = quantization_of(tensor, nullptr);
    Op q;
    q.set(fb::QuantizeT{});
    q.name = p_.fresh_name(tensor + "_quantize");
    q.inputs = {tensor};
    q.output = name;
    ops.push_back(std::move(q));
    int8_name_[tensor] = name;
    return name;
  }

  // The fp32 tensor for `tensor`, dequantizing an int8-only one on first use (under the
  // original name, so fp32 readers and graph outputs keep their names).
  std::string fp32_version(const std::string& tensor, std::vector<Op>& ops) {
    if (!int8_only_.count(tensor)) return tensor;
    Op d;
    d.set(fb::DequantizeT{});
    d.name = p_.fresh_name(tensor + "_dequantize");
    d.inputs = {int8_name_.at(tensor)};
    d.output = tensor;
    ops.push_back(std::move(d));
    int8_only_.erase(tensor);
    return tensor;
  }

  // The int8 output tensor of `op`, registered as int8_version(op.output).
  std::string int8_output(const Op& op, std::optional<Quantization> same_as = std::nullopt) {
    const std::string name = p_.fresh_name(op.output + "_int8");
    p_.shapes[name] = p_.shapes.at(op.output);
    if (auto axis = p_.batch_axes.find(op.output); axis != p_.batch_axes.end()) p_.batch_axes[name] = axis->second;
    if (same_as) chosen_[op.output] = {Range{0, 0, "input's"}, *same_as};
    p_.int8_values[name] = same_as ? *same_as : quantization_of(op.output, &op);
    int8_name_[op.output] = name;
    int8_only_.insert(op.output);
    return name;
  }

  Op quantized(const Op& op, std::vector<Op>& ops, const std::map<std::string, std::string>& flattened_from) {
    std::vector<std::string> inputs;
    if (op.is<fb::BinaryT>()) {
      inputs = {int8_version(op.inputs[0], ops), int8_version(op.inputs[1], ops)};
    } else {
      auto flat = flattened_from.find(op.inputs[0]);
      inputs = {int8_version(flat != flattened_from.end() ? flat->second : op.inputs[0], ops)};
    }
    const bool same_as_input = op.is<fb::Pool2DT>();
    return int8_op(p_, op, inputs,
                   int8_output(op, same_as_input ? std::optional(p_.int8_values.at(inputs[0])) : std::nullopt));
  }

  LayerQuantization record(const Op& q, const Op& original) {
    const auto& [range, quant] = chosen_.at(original.output);
    LayerQuantization l;
    l.node = q.name;
    l.op = q.type_name();
    l.method = range.method;
    l.scale = quant.scale;
    l.zero_point = quant.zero_point;
    l.lo = static_cast<float>((-128 - quant.zero_point) * static_cast<double>(quant.scale));
    l.hi = static_cast<float>((127 - quant.zero_point) * static_cast<double>(quant.scale));
    compared_[q.name] = {original.output, q.output};
    return l;
  }

  Program& p_;
  const std::map<std::string, Stats>& stats_;
  const QuantizeOptions& options_;
  std::map<std::string, std::pair<Range, Quantization>> chosen_;
  std::map<std::string, std::string> int8_name_;
  std::set<std::string> int8_only_;
  std::map<std::string, std::pair<std::string, std::string>> compared_;
};

// SQNR of each int8 layer's output against the fp32 model's, over the first samples.
void measure_sqnr(Context& context, const Model& fp32_model, const std::vector<uint8_t>& int8_bytes,
                  const std::map<std::string, std::pair<std::string, std::string>>& compared, const Samples& samples,
                  size_t count, Summary& summary) {
  Model int8_model = Model::from_bytes(int8_bytes, "the int8 model");
  NetworkOptions fp32_taps, int8_taps;
  for (const auto& [node, tensors] : compared) {
    fp32_taps.taps.push_back(tensors.first);
    int8_taps.taps.push_back(tensors.second);
  }
  Network fp32(context, fp32_model, fp32_taps), int8(context, int8_model, int8_taps);
  std::map<std::string, std::pair<double, double>> energy;  // signal, noise
  for (size_t i = 0; i < count; ++i) {
    fp32.run(samples[i]);
    int8.run(samples[i]);
    for (const auto& [node, tensors] : compared) {
      const Tensor ref = fp32.read_tensor(tensors.first), got = int8.read_tensor(tensors.second);
      auto& [signal, noise] = energy[node];
      for (size_t k = 0; k < ref.data.size(); ++k) {
        signal += static_cast<double>(ref.data[k]) * ref.data[k];
        noise += (static_cast<double>(ref.data[k]) - got.data[k]) * (static_cast<double>(ref.data[k]) - got.data[k]);
      }
    }
  }
  for (auto& layer : summary.quantization) {
    const auto [signal, noise] = energy[layer.node];
    layer.sqnr_db = noise > 0 ? 10.0 * std::log10(signal / noise) : std::numeric_limits<double>::infinity();
  }
}

}  // namespace

Result quantize_and_emit(Program& program, const ImportedGraph& graph, const Options& options) {
  const QuantizeOptions& q = *options.quantize;
  if (!q.calibration) throw Error("int8 quantization needs calibration samples");
  if (program.inputs.size() != 1) throw UnsupportedError("int8 quantization supports models with one input");
  if (!program.bit_values.empty())
    throw UnsupportedError("int8 quantization of a model with binarized layers is not supported");
  if (!program.int8_values.empty())
    throw UnsupportedError("the model is already quantized (it has QuantizeLinear/QLinear ops): convert it without "
                           "--quantize");
  const Result fp32 = emit(program, graph, options);
  const Model fp32_model = Model::from_bytes(fp32.bytes, "the fp32 model being quantized");
  const Samples samples = q.calibration(fp32_model);
  if (samples.empty()) throw Error("int8 quantization needs at least one calibration sample");
  Context context;

  std::set<std::string> tensors;
  for (const auto& op : program.ops)
    if (!op.is<fb::ReshapeT>()) tensors.insert(op.output);
  tensors.insert(program.inputs.begin(), program.inputs.end());
  const auto stats = calibrate(context, fp32_model, tensors, samples, q);

  Quantizer quantizer(program, stats, q);
  std::vector<LayerQuantization> table = quantizer.run();
  Result result = emit(program, graph, options);
  result.summary.quantization = std::move(table);
  const size_t measured = std::min(q.sqnr_samples, samples.size());
  measure_sqnr(context, fp32_model, result.bytes, quantizer.compared(), samples, measured, result.summary);
  // With VKBNN_VALIDATION=1 (the tests) a message from the layer makes the conversion fail.
  if (const uint32_t messages = context.validation_message_count(); messages > 0)
    throw Error(std::to_string(messages) + " Vulkan validation message(s) while calibrating and measuring the int8 model");
  result.summary.notes.push_back("int8: calibrated on " + std::to_string(samples.size()) + " samples with method " +
                                 method_name(q.method) + "; SQNR measured on " + std::to_string(measured));
  return result;
}

void fuse_qdq(Program& p) {
  if (p.int8_values.empty()) return;
  std::map<std::string, const Op*> producer;
  std::map<std::string, std::vector<const Op*>> readers;
  for (const auto& op : p.ops) {
    producer[op.output] = &op;
    for (const auto& in : op.inputs) readers[in].push_back(&op);
  }
  const std::set<std::string> outputs(p.outputs.begin(), p.outputs.end());
  auto same = [](Quantization a, Quantization b) { return a.scale == b.scale && a.zero_point == b.zero_point; };

  std::map<const Op*, Op> fused;
  std::set<const Op*> absorbed;
  for (const auto& op : p.ops) {
    if (!has_int8_form(p, op)) continue;
    const size_t activations = op.is<fb::BinaryT>() ? 2 : 1;
    std::vector<std::string> int8_inputs;
    for (size_t i = 0; i < activations; ++i) {
      auto it = producer.find(op.inputs[i]);
      if (it != producer.end() && it->second->is<fb::DequantizeT>()) int8_inputs.push_back(it->second->inputs[0]);
    }
    const auto& out_readers = readers[op.output];
    if (int8_inputs.size() != activations || outputs.count(op.output) || out_readers.size() != 1 ||
        !out_readers[0]->is<fb::QuantizeT>())
      continue;
    const Op& quantize = *out_readers[0];
    if (op.is<fb::Pool2DT>() && !same(p.int8_values.at(int8_inputs[0]), p.int8_values.at(quantize.output)))
      continue;
    fused.emplace(&op, int8_op(p, op, int8_inputs, quantize.output));
    absorbed.insert(&quantize);
  }
  if (fused.empty()) return;

  std::vector<Op> ops;
  for (const auto& op : p.ops) {
    if (absorbed.count(&op)) continue;
    auto it = fused.find(&op);
    ops.push_back(it != fused.end() ? it->second : op);
  }
  // Dequantize ops that only the fused ops read are gone with them.
  std::map<std::string, size_t> uses;
  for (const auto& op : ops)
    for (const auto& in : op.inputs) ++uses[in];
  std::erase_if(ops, [&](const Op& op) {
    return op.is<fb::DequantizeT>() && !uses[op.output] && !outputs.count(op.output);
  });
  p.ops = std::move(ops);
}

}  // namespace vkbnn::convert::detail
