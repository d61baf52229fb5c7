// FullyConnected: Y[N, M] = X[N, K] * W^T + B; an input of higher rank is read as [N, K] rows.

#include <algorithm>

#include "ops/elementwise.hpp"

namespace vkbnn::detail {

namespace {

void check_fully_connected(const NodeDesc& desc) {
  check_data_weights_bias(desc);
  const Shape& x = desc.inputs[0];
  const Shape& w = desc.inputs[1];
  desc.require(x.size() >= 2, "input must be [N, K] or [N, ...] with trailing dims multiplying to K, has " +
                                  shape_string(x));
  desc.require(w.size() == 2, "weights must be [M, K], have " + shape_string(w));
  const int64_t n = x[0];
  const int64_t k = n > 0 ? static_cast<int64_t>(element_count(x)) / n : 0;
  desc.require(n > 0 && k == w[1], "input " + shape_string(x) + " has " + std::to_string(k) +
                                       " features per row, weights " + shape_string(w) + " expect " +
                                       std::to_string(w[1]));
  const Shape expected{n, w[0]};
  desc.require(desc.outputs[0] == expected,
               "output shape " + shape_string(desc.outputs[0]) + " should be " + shape_string(expected));
  if (desc.inputs.size() == 3) {
    desc.require(desc.inputs[2] == Shape{w[0]},
                 "bias " + shape_string(desc.inputs[2]) + " should be " + std::to_string(w[0]));
  }
  check_activation_params(desc, desc.node.params_as_FullyConnected()->activation());
  desc.require(static_cast<int64_t>(element_count(x)) <= kMaxTensorElements &&
                   static_cast<int64_t>(element_count(w)) <= kMaxTensorElements && n * w[0] <= kMaxTensorElements,
               "tensors of more than 2^31 - 1 elements are not supported");
  desc.require(n <= kMaxGroups && (w[0] + 7) / 8 <= kMaxGroups,
               "the output " + shape_string(expected) + " is too large for one dispatch");
}

std::vector<Dispatch> lower_fully_connected(const NodeLowering& l) {
  const int64_t n = l.inputs[0].shape[0];
  const int64_t m = l.inputs[1].shape[0], k = l.inputs[1].shape[1];
  const int64_t k4 = (k + 3) / 4;
  const std::span<const float> weights = *l.constants[1];
  const bool has_bias = l.constants.size() > 2;
  const auto act = activation_spec(l.node.params_as_FullyConnected()->activation());
  const uint32_t in = l.inputs[0].offset;
  // Weight rows (and their biases) go to the shader in runs that fit one weight page each:
  // all of them at once unless they exceed one buffer binding.
  auto words_for = [&](int64_t rows) {
    const auto r = static_cast<uint64_t>(rows);
    return WeightPacker::footprint(r * static_cast<uint64_t>(k4) * 4) + (has_bias ? WeightPacker::footprint(r) : 0);
  };
  int64_t rows = m;
  if (words_for(m) > l.weights.page_words()) {
    rows = static_cast<int64_t>(l.weights.page_words() / static_cast<uint64_t>(k4 * 4 + 1));
    while (rows > 0 && words_for(rows) > l.weights.page_words()) --rows;
    if (rows == 0)
      throw MemoryLimitError("one row of its weights takes " + std::to_string(words_for(1) * 4) +
                             " bytes, more than one buffer binding may span");
  }
  std::vector<Dispatch> dispatches;
  for (int64_t first = 0; first < m; first += rows) {
    const int64_t count = std::min(rows, m - first);
    const uint32_t page = l.weights.reserve(words_for(count));
    std::vector<float> packed(static_cast<size_t>(count * k4 * 4), 0.0f);
    for (int64_t row = 0; row < count; ++row)
      std::copy_n(weights.begin() + (first + row) * k, k, packed.begin() + row * k4 * 4);
    const uint32_t weight_offset = l.weights.add(packed);
    const uint32_t bias_offset =
        has_bias ? l.weights.add(l.constants[2]->subspan(static_cast<size_t>(first), static_cast<size_t>(count))) : 0;
    const uint32_t local = static_cast<uint32_t>(std::clamp<int64_t>((count + 7) / 8 * 8, 8, 64));
    // The runs write disjoint features of Y, each bound alone: no barrier between them where the
    // rows of a batch do not interleave them (batch 1).
    const uint64_t begin = l.outputs[0].offset + static_cast<uint64_t>(first);
    const WordRange part = output_part(l, begin, begin + static_cast<uint64_t>((n - 1) * m + count));
    dispatches.push_back(make_dispatch<shader::fully_connected>(
        {.local_size_x = local,
         .HAS_BIAS = has_bias,
         .K = static_cast<uint32_t>(k),
         .M = static_cast<uint32_t>(count),
         .X_VEC4 = k % 4 == 0 && vec4_aligned({in}),
         .ACT_KIND = act.kind,
         .ACT_ALPHA = act.alpha,
         .ACT_BETA = act.beta,
         .Y_STRIDE = static_cast<uint32_t>(m)},
        {.IN_OFF = in,
         .OUT_OFF = static_cast<uint32_t>(begin - part.begin),
         .WT_OFF = weight_offset,
         .BIAS_OFF = bias_offset},
        {static_cast<uint32_t>((count + local - 1) / local), static_cast<uint32_t>(n), 1}));
    dispatches.back().weight_page = page;
    dispatches.back().written = part;
  }
  return dispatches;
}

}  // namespace

template <>
const OpKind& op_kind_of<fb::OpParams::FullyConnected>() {
  static const OpKind kind{.check = check_fully_connected,
                           .lower = lower_fully_connected, .inputs = kDataWeightsBias,
                           .macs = macs_per_weight_row,
                           .shapes = fully_connected_shapes};
  return kind;
}

}  // namespace vkbnn::detail
