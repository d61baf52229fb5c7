// Helpers of the int8 shaders (include after common.glsl). Int8 tensors hold four signed bytes
// per word along the channels (fb::DataType::Int8); byte k is channel 4 * word + k.

ivec4 unpack_int8x4(uint word) {
  return ivec4(bitfieldExtract(int(word), 0, 8), bitfieldExtract(int(word), 8, 8), bitfieldExtract(int(word), 16, 8),
               bitfieldExtract(int(word), 24, 8));
}

// Lanes at and past `valid` become 0, so the bytes past the last channel stay 0 as the format says.
uint pack_int8x4(ivec4 q, uint valid) {
  uint word = 0u;
  [[unroll]] for (uint k = 0u; k < 4u; ++k)
    if (k < valid) word |= (uint(q[k]) & 0xFFu) << (8u * k);
  return word;
}

// floor((acc * multiplier + 2^(shift-1)) / 2^shift) on the exact 64-bit product, saturated to
// int32; shift in [1, 62]. imulExtended gives the product without needing shaderInt64.
int requantize(int acc, int multiplier, int shift) {
  int hi;
  int lo_signed;
  imulExtended(acc, multiplier, hi, lo_signed);
  uint lo = uint(lo_signed);
  uint carry;
  if (shift <= 32) {
    lo = uaddCarry(lo, 1u << uint(shift - 1), carry);
    hi += int(carry);
  } else {
    hi += 1 << (shift - 33);
  }
  if (shift >= 32) return hi >> (shift - 32);
  const int top = hi >> shift;  // what lies above the 32 result bits: all sign if it fits
  const int result = int((lo >> uint(shift)) | (uint(hi) << uint(32 - shift)));
  if (top != (result >> 31)) return hi < 0 ? -2147483647 - 1 : 2147483647;
  return result;
}

// The int8 layers' epilogue for one output word: four channels' int32 accumulators plus their
// bias (epi[k].x), requantized with their multiplier (.y) and shift (.z) to the output zero
// point, clamped (the fused ReLU/Clip) and packed; `valid` channels of the four exist.
uint requantize_word(ivec4 acc, ivec4 epi[4], int zero_point, int lo, int hi, uint valid) {
  ivec4 q;
  [[unroll]] for (uint k = 0u; k < 4u; ++k)
    q[k] = clamp(clamp(requantize(acc[k] + epi[k].x, epi[k].y, epi[k].z), -512, 512) + zero_point, lo, hi);
  return pack_int8x4(q, valid);
}
