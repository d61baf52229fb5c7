#version 450
// target-env: vulkan1.2 (subgroupBroadcast with an unrolled loop index as the lane)
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_ballot : require
// Winograd F(2x2, 3x3) convolution, weights loaded once per subgroup: see conv2d_winograd.glsl.
#define SUBGROUP_WEIGHTS
#include "conv2d_winograd.glsl"
