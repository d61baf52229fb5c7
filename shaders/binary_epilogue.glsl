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

// The same for four neighbouring outputs of one channel.
vec4 binary_activate(vec4 y, float slope, float shift_in, float shift_out) {
  if (ACT_KIND == BACT_PRELU) return mix(y * slope, y, greaterThanEqual(y, vec4(0.0)));
  if (ACT_KIND == BACT_RPRELU) {
    const vec4 x = y - shift_in;
    return mix(x * slope, x, greaterThanEqual(x, vec4(0.0))) + shift_out;
  }
  return y;
}

// R(X_real) at output (n, oc, oy, ox): the pool window's mean over the input pixels inside it,
// of the channel (or the Squeeze group of channels) that output channel oc is matched with.
// Every loop bound is a specialization constant, so the loops unroll into masked fetches.
const uint LINK_GROUP = LINK_CHANNELS == LINK_SQUEEZE ? LINK_C / M : 1;
const uint LINK_PLANE = uint(LINK_H * LINK_W);

// The first X_real channel matched with output channel oc, and the step to the next of its group.
uvec2 link_channels(uint oc) {
  if (LINK_CHANNELS == LINK_EXPAND) return uvec2(LINK_STRIDED ? oc % LINK_C : oc / (M / LINK_C), 1);
  if (LINK_CHANNELS == LINK_SQUEEZE) return LINK_STRIDED ? uvec2(oc, M) : uvec2(oc * LINK_GROUP, 1);
  return uvec2(oc, 1);
}

float link_value(uint n, uint oc, uint oy, uint ox) {
  const uvec2 ch = link_channels(oc);
  // Without pooling the window is the one pixel, always inside: no clamps, no divisor.
  if (LINK_POOL == 1) {
    float sum = 0.0;
    for (uint j = 0; j < LINK_GROUP; ++j)
      sum += texelFetch(in_texels[1], int(LINK_OFF + (n * LINK_C + ch.x + j * ch.y) * LINK_PLANE + oy * LINK_W + ox)).x;
    return LINK_CHANNELS == LINK_SQUEEZE && LINK_MEAN ? sum / float(LINK_GROUP) : sum;
  }
  const int y0 = int(oy) * LINK_POOL, x0 = int(ox) * LINK_POOL;
  float sum = 0.0;
  for (uint j = 0; j < LINK_GROUP; ++j) {
    const uint base = LINK_OFF + (n * LINK_C + ch.x + j * ch.y) * LINK_PLANE;
    [[unroll]] for (int dy = 0; dy < LINK_POOL; ++dy)
      [[unroll]] for (int dx = 0; dx < LINK_POOL; ++dx) {
        const int y = min(y0 + dy, LINK_H - 1), x = min(x0 + dx, LINK_W - 1);
        const float v = texelFetch(in_texels[1], int(base + uint(y * LINK_W + x))).x;
        sum += y0 + dy < LINK_H && x0 + dx < LINK_W ? v : 0.0;
      }
  }
  float divisor = float((min(y0 + LINK_POOL, LINK_H) - y0) * (min(x0 + LINK_POOL, LINK_W) - x0));
  if (LINK_CHANNELS == LINK_SQUEEZE && LINK_MEAN) divisor *= float(LINK_GROUP);
  return sum / divisor;
}

// The same without pooling for the four neighbouring outputs (oy, ox..ox+3), one RGBA texel per
// channel: the including shader ensures LINK_POOL == 1 and that ox and LINK_W are multiples of 4
// (the link tensor is bound from its start).
vec4 link_value4(uint n, uint oc, uint oy, uint ox) {
  const uvec2 ch = link_channels(oc);
  vec4 sum = vec4(0.0);
  for (uint j = 0; j < LINK_GROUP; ++j)
    sum += texelFetch(in4_texels[1], int((LINK_OFF + (n * LINK_C + ch.x + j * ch.y) * LINK_PLANE + oy * LINK_W + ox) / 4));
  return LINK_CHANNELS == LINK_SQUEEZE && LINK_MEAN ? sum / float(LINK_GROUP) : sum;
}
