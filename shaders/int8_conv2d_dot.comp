#version 450
#extension GL_GOOGLE_include_directive : require
// int8 convolution on packed 4x8-bit dot products: see int8_conv2d.glsl.
#define INT8_DOT_PRODUCT
#include "int8_conv2d.glsl"
