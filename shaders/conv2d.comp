#version 450
#extension GL_GOOGLE_include_directive : require
// Grouped 2-D convolution, every lane loading its own weights: see conv2d.glsl.
#include "conv2d.glsl"
