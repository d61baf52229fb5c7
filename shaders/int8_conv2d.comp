#version 450
#extension GL_GOOGLE_include_directive : require
// int8 convolution, portable path: see int8_conv2d.glsl.
#include "int8_conv2d.glsl"
