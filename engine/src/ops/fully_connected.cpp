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

// The tile of Y one invocation of fully_connected.comp computes: r rows x f features.
struct FcTile {
  int64_t r, f;
};

// On a CPU device (lavapipe) each fetch is a loop over the lanes while the tile's accumulators
// spill to the stack cheaply, so large tiles win, best at about 4 x the vector registers in
// accumulators. Measured on lavapipe (2 cores, AVX2, 16 registers; median GPU time of one
// layer under load): 197 x 768 -> 3072 took 919 ms with one feature per invocation (the shader before the tiles), 219 ms at
// 4x4, 185 ms at 8x4, 135 ms at 8x8, 112-127 ms at 8x16, 159 ms at 16x16, 179 ms at 8x32; at
// 17 rows 8 to 17 rows by 8 to 16 features were alike. A one-row layer (a classifier at batch 1)
// reads each weight once whatever the tile, and 4 features per invocation, reading the input
// once for 4 of them, took 1 x 4096 -> 4096 from 34 ms to 16-22 ms (8: the same, 16: slower).
// A GPU thread keeps a 4x4 tile in registers; one feature per invocation at one row keeps
// enough invocations to fill it.
FcTile fc_tile(int64_t n, int64_t m, const DeviceInfo& device) {
  int64_t rmax = 4, fmax = n == 1 ? 1 : 4;
  if (device.cpu_vector_registers) {
    rmax = 8;
    fmax = n == 1 ? 4 : std::max<int64_t>(4 * device.cpu_vector_registers / rmax, 4);
  }
  return {ceil_div(n, ceil_div(n, rmax)), std::min(fmax, m)};
}

std::vector<Dispatch> lower_fully_connected(const NodeLowering& l) {
  const int64_t n = l.inputs[0].shape[0];
  const int64_t m = l.inputs[1].shape[0], k = l.inputs[1].shape[1];
  const int64_t k4 = (k + 3) / 4;
  const std::span<const float> weights = *l.constants[1];
  const bool has_bias = l.constants.size() > 2;
  const auto act = activation_spec(l.node.params_as_FullyConnected()->activation());
  const uint32_t in = l.inputs[0].offset;
  const FcTile tile = fc_tile(n, m, l.device);
  int64_t f = tile.f;
  // Weight rows (and their biases) go to the shader in runs of whole tiles that fit one weight
  // page each: all of them at once unless they exceed one buffer binding.
  auto words_for = [&](int64_t rows) {
    const auto r = static_cast<uint64_t>(rows);
    return WeightPacker::footprint(static_cast<uint64_t>(ceil_div(rows, f) * f * k4 * 4)) +
           (has_bias ? WeightPacker::footprint(r) : 0);
  };
  // Pages too small for a tile of weight rows take one row per invocation.
  if (words_for(f) > l.weights.page_words()) f = 1;
  int64_t rows = m;
  if (words_for(m) > l.weights.page_words()) {
    rows = static_cast<int64_t>(l.weights.page_words() / static_cast<uint64_t>(f * (k4 * 4 + 1))) * f;
    while (rows > 0 && words_for(rows) > l.weights.page_words()) rows -= f;
    if (rows == 0)
      throw MemoryLimitError("one row of its weights takes " + std::to_string(words_for(1) * 4) +
                             " bytes, more than one buffer binding may span");
  }
  std::vector<Dispatch> dispatches;
  for (int64_t first = 0; first < m; first += rows) {
    const int64_t count = std::min(rows, m - first);
    const int64_t tiles = ceil_div(count, f);
    const uint32_t page = l.weights.reserve(words_for(count));
    // vec4 (t, k4, j) holds feature first + t * f + j at k4 * 4 .. k4 * 4 + 3.
    std::vector<float> packed(static_cast<size_t>(tiles * f * k4 * 4), 0.0f);
    for (int64_t row = 0; row < count; ++row) {
      const int64_t t = row / f, j = row % f;
      const float* src = weights.data() + (first + row) * k;
      for (int64_t c = 0; c < k; ++c)
        packed[static_cast<size_t>(((t * k4 + c / 4) * f + j) * 4 + c % 4)] = src[c];
    }
    const uint32_t weight_offset = l.weights.add(packed);
    const uint32_t bias_offset =
        has_bias ? l.weights.add(l.constants[2]->subspan(static_cast<size_t>(first), static_cast<size_t>(count))) : 0;
    const uint32_t local = static_cast<uint32_t>(std::clamp<int64_t>((tiles + 7) / 8 * 8, 8, kMaxLocalSize));
    // The runs write disjoint features of Y, each bound alone: no barrier between them where the
    // rows of a batch do not interleave them (batch 1).
    const uint64_t begin = l.outputs[0].offset + static_cast<uint64_t>(first);
    const WordRange part = output_part(l, begin, begin + static_cast<uint64_t>((n - 1) * m + count));
    dispatches.push_back(make_dispatch<shader::fully_connected>(
        {.local_size_x = local,
         .HAS_BIAS = has_bias,
         .K = u32(k),
         .M = u32(count),
         .X_VEC4 = k % 4 == 0 && vec4_aligned({in}),
         .ACT_KIND = act.kind,
         .ACT_ALPHA = act.alpha,
         .ACT_BETA = act.beta,
         .Y_STRIDE = u32(m),
         .N = u32(n),
         .R = u32(tile.r),
         .F = u32(f)},
        {.IN_OFF = in,
         .OUT_OFF = static_cast<uint32_t>(begin - part.begin),
         .WT_OFF = weight_offset,
         .BIAS_OFF = bias_offset},
        {u32(ceil_div(tiles, local)), u32(ceil_div(n, tile.r)), 1}));
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
