#pragma once

// Codes of the engine's own (not the schema's) that shaders compare: shaders/generator writes
// them into schema_enums.glsl next to the schema's enums, so GLSL never restates a value.

#include <cstdint>

namespace vkbnn::detail {

// How binary_elementwise finds a vec4 of A's broadcast operand B (GLSL BCAST_*).
enum class BroadcastFetch : uint32_t {
  Splat = 0,   // all four share one value
  Vec4 = 1,    // four consecutive, aligned values
  Gather = 2,  // anything else
  // One plane of B_INNER elements per row of workgroups (gl_WorkGroupID.y), so the plane's
  // value has a uniform address and is read once per workgroup.
  Plane = 3,
};

// Rows of the binary epilogue's per-channel parameter table (GLSL PARAM_*).
namespace epilogue {
enum ParamRow : uint32_t { Scale, Shift, Gamma, Slope, ShiftIn, ShiftOut, Threshold, kParamRows };
}  // namespace epilogue

}  // namespace vkbnn::detail
