#version 450
#extension GL_GOOGLE_include_directive : require
// Winograd F(2x2, 3x3) convolution, every lane loading its own weights: see conv2d_winograd.glsl.
#include "conv2d_winograd.glsl"
