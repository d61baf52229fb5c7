// Layer normalization as exporters decompose it (PyTorch before opset 17: ReduceMean, Sub,
// Pow 2, ReduceMean, Add eps, Sqrt, Div, Mul, Add) becomes one LayerNormalization node. A
// candidate is any closed subgraph of element-wise ops and mean reductions from a ReduceMean
// over trailing axes of x to a value of x's shape; it is fused when evaluating it shows that it
// computes (x - mean) / sqrt(var + eps) * scale + bias: scale, bias and eps are solved for from
// probe inputs and then checked on random ones, whatever the spelling.

#include <algorithm>
#include <cmath>
#include <random>

#include "ir.hpp"

namespace vkbnn::convert::detail {
namespace {

constexpr size_t kMaxRegion = 16;
constexpr int kLookAhead = 48;
const std::set<std::string> kRegionOps = {"ReduceMean", "Sub", "Add",  "Mul",        "Div",
                                          "Pow",        "Sqrt", "Neg", "Reciprocal"};

struct Fit {
  std::vector<float> scale, bias;
  double epsilon = 0;
};

class Fuser {
 public:
  Fuser(onnx::GraphProto& g, const std::map<std::string, Shape>& shapes, std::map<std::string, Constant>& constants,
        int64_t opset, const std::set<std::string>& outputs)
      : g_(g), shapes_(shapes), constants_(constants), opset_(opset), outputs_(outputs) {}

  void run() {
    for (int i = 0; i < g_.node_size(); ++i)
      if (g_.node(i).op_type() == "ReduceMean") try_at(i);
  }

 private:
  std::vector<int64_t> trailing_axes(const onnx::NodeProto& node, int64_t rank) const {
    std::vector<int64_t> axes = attr_ints(node, "axes");
    if (node.input_size() > 1 && !node.input(1).empty()) {
      auto it = constants_.find(node.input(1));
      if (it == constants_.end()) return {};
      axes = it->second.ints();
    }
    for (auto& a : axes) {
      if (a < -rank || a >= rank) return {};
      if (a < 0) a += rank;
    }
    std::sort(axes.begin(), axes.end());
    for (size_t k = 0; k < axes.size(); ++k)
      if (axes[k] != rank - static_cast<int64_t>(axes.size() - k)) return {};
    return axes;
  }

  void try_at(int first) {
    const onnx::NodeProto& mean = g_.node(first);
    const std::string x = mean.input(0);
    auto xs = shapes_.find(x);
    if (xs == shapes_.end() || constants_.count(x) || attr_int(mean, "keepdims", 1) == 0) return;
    const Shape& shape = xs->second;
    const auto axes = trailing_axes(mean, static_cast<int64_t>(shape.size()));
    if (axes.empty()) return;
    // The region: nodes after the ReduceMean computing from x, its values and constants only.
    std::set<std::string> values{x};
    std::vector<int> region{first};
    for (const auto& out : mean.output()) values.insert(out);
    for (int j = first + 1; j < g_.node_size() && j <= first + kLookAhead && region.size() < kMaxRegion; ++j) {
      const onnx::NodeProto& node = g_.node(j);
      if (!kRegionOps.count(node.op_type())) continue;
      bool reads_region = false, closed = true;
      for (const auto& in : node.input()) {
        if (in.empty()) continue;
        if (values.count(in)) reads_region = true;
        else if (!constants_.count(in)) closed = false;
      }
      if (!reads_region || !closed) continue;
      region.push_back(j);
      for (const auto& out : node.output()) values.insert(out);
    }
    for (size_t k = region.size(); k-- > 1;) {
      const std::string& v = g_.node(region[k]).output(0);
      if (shapes_.count(v) == 0 || shapes_.at(v) != shape) continue;
      const std::vector<int> sub = ancestors(region, k, x);
      // A variance needs a second mean, of a function of x that is not linear.
      const auto means = std::count_if(sub.begin(), sub.end(), [&](int i) { return g_.node(i).op_type() == "ReduceMean"; });
      if (sub.empty() || sub.front() != first || means < 2 || !closed_under_use(sub)) continue;
      if (auto fit = solve(sub, x, v, shape, static_cast<size_t>(axes.front()))) {
        replace(sub, x, v, static_cast<int64_t>(axes.front()), *fit);
        return;
      }
    }
  }

  // The region's nodes that `region[last]` depends on, in graph order.
  std::vector<int> ancestors(const std::vector<int>& region, size_t last, const std::string& x) const {
    std::map<std::string, int> producer;
    for (int i : region)
      for (const auto& out : g_.node(i).output()) producer[out] = i;
    std::set<int> keep{region[last]};
    std::vector<int> pending{region[last]};
    while (!pending.empty()) {
      const int i = pending.back();
      pending.pop_back();
      for (const auto& in : g_.node(i).input()) {
        if (in == x) continue;
        auto it = producer.find(in);
        if (it != producer.end() && keep.insert(it->second).second) pending.push_back(it->second);
      }
    }
    return {keep.begin(), keep.end()};
  }

  // Only the last node's output may be read outside the subgraph.
  bool closed_under_use(const std::vector<int>& sub) const {
    const std::set<int> members(sub.begin(), sub.end());
    std::set<std::string> inner;
    for (size_t k = 0; k + 1 < sub.size(); ++k)
      for (const auto& out : g_.node(sub[k]).output()) inner.insert(out);
    for (const auto& out : inner)
      if (outputs_.count(out)) return false;
    for (int i = 0; i < g_.node_size(); ++i) {
      if (members.count(i)) continue;
      for (const auto& in : g_.node(i).input())
        if (inner.count(in)) return false;
    }
    return true;
  }

  std::optional<std::vector<float>> evaluate(const std::vector<int>& sub, const std::string& x, const std::string& v,
                                             const Shape& shape, std::vector<float> input) const {
    std::map<std::string, Constant> values;
    std::vector<const onnx::NodeProto*> nodes;
    for (int i : sub) {
      nodes.push_back(&g_.node(i));
      for (const auto& in : g_.node(i).input())
        if (auto it = constants_.find(in); it != constants_.end()) values[in] = it->second;
    }
    Constant& xc = values[x];
    xc.dims = shape;
    xc.f = std::move(input);
    const auto budget = static_cast<int64_t>(xc.f.size() * (sub.size() + 2));
    auto result = evaluate_nodes(nodes, std::move(values), opset_, budget);
    if (!result) return std::nullopt;
    auto it = result->find(v);
    if (it == result->end() || !it->second.is_float || it->second.f.size() != xc.f.size()) return std::nullopt;
    return std::move(it->second.f);
  }

  // Every row set to `row`.
  static std::vector<float> tiled(const std::vector<float>& row, size_t rows) {
    std::vector<float> out;
    out.reserve(row.size() * rows);
    for (size_t r = 0; r < rows; ++r) out.insert(out.end(), row.begin(), row.end());
    return out;
  }

  // A random row of mean ~0 and variance ~1; also returns its exact variance.
  static std::vector<float> standard_row(size_t len, std::mt19937& rng, double& variance) {
    std::uniform_real_distribution<double> dist(-1.0, 1.0);
    std::vector<double> v(len);
    for (auto& e : v) e = dist(rng);
    double mean = 0, var = 0;
    for (double e : v) mean += e;
    mean /= static_cast<double>(len);
    for (double e : v) var += (e - mean) * (e - mean);
    const double sd = std::sqrt(var / static_cast<double>(len));
    std::vector<float> row(len);
    for (size_t k = 0; k < len; ++k) row[k] = static_cast<float>((v[k] - mean) / sd);
    double m = 0;
    variance = 0;
    for (float e : row) m += e;
    m /= static_cast<double>(len);
    for (float e : row) variance += (e - m) * (e - m);
    variance /= static_cast<double>(len);
    return row;
  }

  std::optional<Fit> solve(const std::vector<int>& sub, const std::string& x, const std::string& v, const Shape& shape,
                           size_t axis) const {
    size_t len = 1;
    for (size_t d = axis; d < shape.size(); ++d) len *= static_cast<size_t>(shape[d]);
    if (len < 2) return std::nullopt;
    const size_t rows = static_cast<size_t>(element_count(shape)) / len;
    std::mt19937 rng(20261201);
    double var_u = 0, var_w = 0;
    const auto u = standard_row(len, rng, var_u), w = standard_row(len, rng, var_w);
    std::vector<float> minus_u(len);
    for (size_t k = 0; k < len; ++k) minus_u[k] = -u[k];
    auto run = [&](const std::vector<float>& row) { return evaluate(sub, x, v, shape, tiled(row, rows)); };
    const auto ya = run(u), yc = run(minus_u);
    if (!ya || !yc) return std::nullopt;
    // y(u) = s u / sqrt(var_u + eps) + b is odd around b; ratio * sqrt(var + eps) is s, with the
    // variance of the row it was read from (w where u is small: w rarely is small there too, and
    // the check below rejects the fit when it is).
    std::vector<double> b(len), ratio(len), var_of(len, var_u);
    for (size_t k = 0; k < len; ++k) b[k] = 0.5 * ((*ya)[k] + (*yc)[k]);
    std::optional<std::vector<float>> yb;
    for (size_t k = 0; k < len; ++k) {
      if (std::abs(u[k]) >= 0.25f) {
        ratio[k] = ((*ya)[k] - b[k]) / u[k];
        continue;
      }
      if (!yb) yb = run(w);
      if (!yb) return std::nullopt;
      ratio[k] = ((*yb)[k] - b[k]) / w[k];
      var_of[k] = var_w;
    }
    size_t pivot = 0;
    for (size_t k = 0; k < len; ++k)
      if (std::abs(((*ya)[k] - b[k])) > std::abs(((*ya)[pivot] - b[pivot]))) pivot = k;
    if (std::abs((*ya)[pivot] - b[pivot]) < 1e-3) return std::nullopt;
    // A row t * u: its deviation relative to that of u gives eps.
    double epsilon = 0;
    for (double t : {1e-2, 1e-4}) {
      std::vector<float> small(len);
      for (size_t k = 0; k < len; ++k) small[k] = static_cast<float>(t * u[k]);
      const auto yd = run(small);
      if (!yd) return std::nullopt;
      const double r = ((*yd)[pivot] - b[pivot]) / ((*ya)[pivot] - b[pivot]);
      if (!(r > t)) return std::nullopt;
      epsilon = std::max(0.0, t * t * var_u * (1 - r * r) / (r * r - t * t));
      if (epsilon >= 1e-6) break;
    }
    Fit fit;
    fit.epsilon = epsilon;
    fit.scale.resize(len);
    fit.bias.resize(len);
    for (size_t k = 0; k < len; ++k) {
      fit.scale[k] = static_cast<float>(ratio[k] * std::sqrt(var_of[k] + epsilon));
      fit.bias[k] = static_cast<float>(b[k]);
    }
    if (!verify(sub, x, v, shape, len, rows, fit, rng)) return std::nullopt;
    return fit;
  }

  // Rows of random offsets and of spreads from 1e-3 to 10 against the fitted normalization.
  bool verify(const std::vector<int>& sub, const std::string& x, const std::string& v, const Shape& shape, size_t len,
              size_t rows, const Fit& fit, std::mt19937& rng) const {
    std::uniform_real_distribution<double> unit(-1.0, 1.0), log_spread(-3.0, 1.0);
    std::vector<float> input(len * rows);
    for (size_t r = 0; r < rows; ++r) {
      const double offset = 4 * unit(rng), spread = std::pow(10.0, log_spread(rng));
      for (size_t k = 0; k < len; ++k) input[r * len + k] = static_cast<float>(offset + spread * unit(rng));
    }
    const auto y = evaluate(sub, x, v, shape, input);
    if (!y) return false;
    double peak = 0;
    for (size_t k = 0; k < len; ++k) peak = std::max(peak, std::abs(double(fit.scale[k])) + std::abs(double(fit.bias[k])));
    for (size_t r = 0; r < rows; ++r) {
      double mean = 0, var = 0;
      for (size_t k = 0; k < len; ++k) mean += input[r * len + k];
      mean /= static_cast<double>(len);
      for (size_t k = 0; k < len; ++k) var += (input[r * len + k] - mean) * (input[r * len + k] - mean);
      var /= static_cast<double>(len);
      for (size_t k = 0; k < len; ++k) {
        const double expected = (input[r * len + k] - mean) / std::sqrt(var + fit.epsilon) * fit.scale[k] + fit.bias[k];
        if (!(std::abs((*y)[r * len + k] - expected) <= 1e-3 * (1 + peak))) return false;
      }
    }
    return true;
  }

  std::string fresh(const std::string& base) const {
    std::string name = base;
    for (int n = 1; constants_.count(name) || shapes_.count(name); ++n) name = base + "_" + std::to_string(n);
    return name;
  }

  void replace(const std::vector<int>& sub, const std::string& x, const std::string& v, int64_t axis, const Fit& fit) {
    const Shape norm(shapes_.at(x).begin() + axis, shapes_.at(x).end());
    const std::string scale = fresh(v + "_layer_norm_scale"), bias = fresh(v + "_layer_norm_bias");
    constants_[scale] = Constant{.dims = norm, .f = fit.scale};
    constants_[bias] = Constant{.dims = norm, .f = fit.bias};
    onnx::NodeProto fused;
    const onnx::NodeProto& last = g_.node(sub.back());
    fused.set_name(last.name().empty() ? "LayerNorm_" + v : last.name());
    fused.set_op_type("LayerNormalization");
    fused.add_input(x);
    fused.add_input(scale);
    fused.add_input(bias);
    fused.add_output(v);
    auto* a = fused.add_attribute();
    a->set_name("axis");
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(axis);
    auto* e = fused.add_attribute();
    e->set_name("epsilon");
    e->set_type(onnx::AttributeProto::FLOAT);
    e->set_f(static_cast<float>(fit.epsilon));
    const std::set<int> members(sub.begin(), sub.end());
    google::protobuf::RepeatedPtrField<onnx::NodeProto> kept;
    for (int i = 0; i < g_.node_size(); ++i) {
      if (i == sub.front()) *kept.Add() = fused;
      if (!members.count(i)) *kept.Add() = g_.node(i);
    }
    g_.mutable_node()->Swap(&kept);
  }

  onnx::GraphProto& g_;
  const std::map<std::string, Shape>& shapes_;
  std::map<std::string, Constant>& constants_;
  int64_t opset_;
  const std::set<std::string>& outputs_;
};

}  // namespace

void fuse_layer_norms(onnx::GraphProto& graph, const std::map<std::string, Shape>& shapes,
                      std::map<std::string, Constant>& constants, int64_t opset,
                      const std::set<std::string>& graph_outputs) {
  Fuser(graph, shapes, constants, opset, graph_outputs).run();
}

}  // namespace vkbnn::convert::detail
