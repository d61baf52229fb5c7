// The BinaryEpilogue's activation and Elastic-Link input (see the model schema), shared by the
// binary convolutions. The including shader declares ACT_KIND, M and the LINK_* specialization
// constants first.

// ACT_KIND is an fb::BinaryActivationKind (BACT_*), LINK_CHANNELS an fb::LinkChannels (LINK_*);
// the per-channel parameter table's rows are PARAM_* (all from schema_enums.glsl).

float binary_activate(float y, float slope, float shift_in, float shift_out) {
  if (ACT_KIND == BACT_PRELU) return y >= 0.0 ? y : y * slope;
  if (ACT_KIND == BACT_RPRELU) {
    const float x = y - shift_in;
    return (x >= 0.0 ? x : x * slope) + shift_out;
  }
  return y;
}

// R(X_real) at output (n, oc, oy, ox): the pool window's mean over the input pixels inside it,
// of the channel (or the Squeeze group of channels) that output channel oc is matched with.
// Every loop bound is a specialization constant, so the loops unroll into masked fetches.
const uint LINK_GROUP = LINK_CHANNELS == LINK_SQUEEZE ? LINK_C / M : 1;

float link_value(uint n, uint oc, uint oy, uint ox) {
  uint first = oc, step = 1;
  if (LINK_CHANNELS == LINK_EXPAND) first = LINK_STRIDED ? oc % LINK_C : oc / (M / LINK_C);
  if (LINK_CHANNELS == LINK_SQUEEZE) {
    first = LINK_STRIDED ? oc : oc * LINK_GROUP;
    step = LINK_STRIDED ? M : 1;
  }
  const int y0 = int(oy) * LINK_POOL, x0 = int(ox) * LINK_POOL;
  float sum = 0.0;
  for (uint j = 0; j < LINK_GROUP; ++j) {
    const uint base = LINK_OFF + (n * LINK_C + first + j * step) * uint(LINK_H * LINK_W);
    [[unroll]] for (int dy = 0; dy < LINK_POOL; ++dy)
      [[unroll]] for (int dx = 0; dx < LINK_POOL; ++dx) {
        const int y = min(y0 + dy, LINK_H - 1), x = min(x0 + dx, LINK_W - 1);
        const float v = texelFetch(act_texels, int(base + uint(y * LINK_W + x))).x;
        sum += y0 + dy < LINK_H && x0 + dx < LINK_W ? v : 0.0;
      }
  }
  float divisor = float((min(y0 + LINK_POOL, LINK_H) - y0) * (min(x0 + LINK_POOL, LINK_W) - x0));
  if (LINK_CHANNELS == LINK_SQUEEZE && LINK_MEAN) divisor *= float(LINK_GROUP);
  return sum / divisor;
}
