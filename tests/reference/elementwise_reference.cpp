#include "reference/elementwise_reference.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <functional>

namespace vkbnn::test::ref {
namespace {

// Index into B of A's flat element i under numpy broadcasting.
size_t broadcast_index(size_t i, const Shape& a_shape, const Shape& b_shape) {
  const size_t lead = a_shape.size() - b_shape.size();
  size_t b_index = 0, b_stride = 1;
  for (size_t axis = a_shape.size(); axis-- > 0;) {
    const auto a_dim = static_cast<size_t>(a_shape[axis]);
    const size_t coord = i % a_dim;
    i /= a_dim;
    if (axis < lead) continue;
    const auto b_dim = static_cast<size_t>(b_shape[axis - lead]);
    if (b_dim != 1) b_index += coord * b_stride;
    b_stride *= b_dim;
  }
  return b_index;
}

std::vector<float> broadcast_apply(std::span<const float> a, const Shape& a_shape, std::span<const float> b,
                                   const Shape& b_shape, const std::function<double(double, double)>& op) {
  std::vector<float> y(a.size());
  for (size_t i = 0; i < a.size(); ++i)
    y[i] = static_cast<float>(op(a[i], b[broadcast_index(i, a_shape, b_shape)]));
  return y;
}

}  // namespace

double activate(double x, const Activation& act) {
  switch (act.kind) {
    case fb::ActivationKind::None: return x;
    case fb::ActivationKind::Relu: return x > 0 ? x : 0;
    case fb::ActivationKind::Clip: return std::min(std::max(x, act.alpha), act.beta);
    case fb::ActivationKind::LeakyRelu: return x >= 0 ? x : act.alpha * x;
    case fb::ActivationKind::Sigmoid: return 1 / (1 + std::exp(-x));
    case fb::ActivationKind::HardSigmoid: return std::max(0.0, std::min(1.0, act.alpha * x + act.beta));
    case fb::ActivationKind::HardSwish: return x * std::max(0.0, std::min(1.0, x / 6 + 0.5));
    case fb::ActivationKind::Erf: return std::erf(x);
    case fb::ActivationKind::Tanh: return std::tanh(x);
    case fb::ActivationKind::Exp: return std::exp(x);
    case fb::ActivationKind::Log: return std::log(x);
    case fb::ActivationKind::Sqrt: return std::sqrt(x);
    case fb::ActivationKind::Reciprocal: return 1 / x;
    case fb::ActivationKind::Abs: return std::fabs(x);
    case fb::ActivationKind::Softplus: return std::log1p(std::exp(x));
    case fb::ActivationKind::Mish: return x * std::tanh(std::log1p(std::exp(x)));
    case fb::ActivationKind::Silu: return x / (1 + std::exp(-x));
    case fb::ActivationKind::Gelu: return x * 0.5 * std::erfc(-x / std::numbers::sqrt2);
    case fb::ActivationKind::Floor: return std::floor(x);
    case fb::ActivationKind::Ceil: return std::ceil(x);
    case fb::ActivationKind::Round: {
      // Halves to the even neighbour.
      const double down = std::floor(x), frac = x - down;
      if (frac != 0.5) return frac < 0.5 ? down : down + 1;
      return std::fmod(down, 2.0) == 0 ? down : down + 1;
    }
    case fb::ActivationKind::Trunc: return x < 0 ? std::ceil(x) : std::floor(x);
    // ONNX Not of a boolean; any nonzero value counts as true.
    case fb::ActivationKind::Not: return x == 0 ? 1 : 0;
    case fb::ActivationKind::Sign: return x > 0 ? 1 : x < 0 ? -1 : 0;
  }
  return x;
}

std::vector<float> activation(std::span<const float> x, const Activation& act) {
  std::vector<float> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = static_cast<float>(activate(x[i], act));
  return y;
}

std::vector<float> channel_affine(std::span<const float> x, const Shape& shape, std::span<const float> scale,
                                  std::span<const float> shift, const Activation& act) {
  size_t inner = 1;
  for (size_t axis = 2; axis < shape.size(); ++axis) inner *= static_cast<size_t>(shape[axis]);
  const auto channels = static_cast<size_t>(shape[1]);
  std::vector<float> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const size_t c = i / inner % channels;
    y[i] = static_cast<float>(activate(double(x[i]) * scale[c] + shift[c], act));
  }
  return y;
}

std::vector<float> binary(fb::BinaryKind kind, std::span<const float> a, const Shape& a_shape,
                          std::span<const float> b, const Shape& b_shape, const Activation& act) {
  return broadcast_apply(a, a_shape, b, b_shape, [&](double u, double v) {
    double r = 0;
    switch (kind) {
      case fb::BinaryKind::Add: r = u + v; break;
      case fb::BinaryKind::Mul: r = u * v; break;
      case fb::BinaryKind::Sub: r = u - v; break;
      case fb::BinaryKind::Div: r = u / v; break;
      case fb::BinaryKind::Min: r = std::min(u, v); break;
      case fb::BinaryKind::Max: r = std::max(u, v); break;
      case fb::BinaryKind::Pow: r = std::pow(u, v); break;
      // The integer kinds on the operands' int64 values; a zero divisor gives 0.
      case fb::BinaryKind::TruncDiv:
      case fb::BinaryKind::Mod:
      case fb::BinaryKind::Fmod: {
        const auto x = static_cast<int64_t>(u), y = static_cast<int64_t>(v);
        if (kind == fb::BinaryKind::Fmod && (double(x) != u || double(y) != v)) {
          r = v == 0 ? 0 : std::fmod(u, v);
          break;
        }
        if (y == 0) break;
        if (kind == fb::BinaryKind::TruncDiv) r = double(x / y);
        // x - y * floor(x / y), the floored quotient found without division of negatives.
        else if (kind == fb::BinaryKind::Mod) r = double(x - y * static_cast<int64_t>(std::floor(double(x) / double(y))));
        else r = double(x % y);
        break;
      }
      case fb::BinaryKind::Equal: r = u == v ? 1 : 0; break;
      case fb::BinaryKind::Greater: r = u > v ? 1 : 0; break;
      case fb::BinaryKind::GreaterOrEqual: r = u >= v ? 1 : 0; break;
      case fb::BinaryKind::Less: r = u < v ? 1 : 0; break;
      case fb::BinaryKind::LessOrEqual: r = u <= v ? 1 : 0; break;
      // The operands' truth: nonzero is true.
      case fb::BinaryKind::And: r = (u != 0) && (v != 0) ? 1 : 0; break;
      case fb::BinaryKind::Or: r = (u != 0) || (v != 0) ? 1 : 0; break;
      case fb::BinaryKind::Xor: r = (u != 0) != (v != 0) ? 1 : 0; break;
    }
    return activate(r, act);
  });
}

std::vector<float> prelu(std::span<const float> x, const Shape& shape, std::span<const float> slope,
                         const Shape& slope_shape) {
  return broadcast_apply(x, shape, slope, slope_shape, [](double u, double s) { return u >= 0 ? u : u * s; });
}

}  // namespace vkbnn::test::ref
