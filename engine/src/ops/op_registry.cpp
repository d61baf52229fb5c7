#include <stdexcept>

#include "ops/op.hpp"

namespace vkbnn::detail {

const OpKind& op_kind(fb::OpParams type) {
  static const OpKind conv{"Conv2D", check_conv2d, lower_conv2d};
  static const OpKind fc{"FullyConnected", check_fully_connected, lower_fully_connected};
  static const OpKind affine{"ChannelAffine", check_channel_affine, lower_channel_affine};
  static const OpKind activation{"Activation", check_activation, lower_activation};
  static const OpKind prelu{"PRelu", check_prelu, lower_prelu};
  static const OpKind pool{"Pool2D", check_pool2d, lower_pool2d, false, true};
  static const OpKind global_pool{"GlobalPool", check_global_pool, lower_global_pool};
  static const OpKind binary{"Binary", check_binary, lower_binary};
  static const OpKind concat{"Concat", check_concat, lower_concat};
  static const OpKind reshape{"Reshape", check_reshape, nullptr, true};
  static const OpKind softmax{"Softmax", check_softmax, lower_softmax};
  static const OpKind pad{"Pad", check_pad, lower_pad};
  static const OpKind binarize{"Binarize", check_binarize, lower_binarize, false, true};
  static const OpKind binary_conv{"BinaryConv2D", check_binary_conv2d, lower_binary_conv2d, false, true};
  static const OpKind binary_fc{"BinaryFullyConnected", check_binary_fully_connected,
                                lower_binary_fully_connected, false, true};
  static const OpKind quantize{"Quantize", check_quantize, lower_quantize, false, true};
  static const OpKind dequantize{"Dequantize", check_dequantize, lower_dequantize, false, true};
  static const OpKind int8_conv{"Int8Conv2D", check_int8_conv2d, lower_int8_conv2d, false, true};
  static const OpKind int8_fc{"Int8FullyConnected", check_int8_fully_connected, lower_int8_fully_connected, false,
                              true};
  static const OpKind int8_add{"Int8Add", check_int8_add, lower_int8_add, false, true};
  static const OpKind int8_global_pool{"Int8GlobalAveragePool", check_int8_global_average_pool,
                                       lower_int8_global_average_pool, false, true};
  static const OpKind transpose{"Transpose", check_transpose, lower_transpose};
  static const OpKind resize{"Resize", check_resize, lower_resize};
  static const OpKind slice{"Slice", check_slice, lower_slice};
  switch (type) {
    case fb::OpParams::Conv2D: return conv;
    case fb::OpParams::FullyConnected: return fc;
    case fb::OpParams::ChannelAffine: return affine;
    case fb::OpParams::ActivationOp: return activation;
    case fb::OpParams::PRelu: return prelu;
    case fb::OpParams::Pool2D: return pool;
    case fb::OpParams::GlobalPool: return global_pool;
    case fb::OpParams::Binary: return binary;
    case fb::OpParams::Concat: return concat;
    case fb::OpParams::Reshape: return reshape;
    case fb::OpParams::Softmax: return softmax;
    case fb::OpParams::Pad: return pad;
    case fb::OpParams::Binarize: return binarize;
    case fb::OpParams::BinaryConv2D: return binary_conv;
    case fb::OpParams::BinaryFullyConnected: return binary_fc;
    case fb::OpParams::Quantize: return quantize;
    case fb::OpParams::Dequantize: return dequantize;
    case fb::OpParams::Int8Conv2D: return int8_conv;
    case fb::OpParams::Int8FullyConnected: return int8_fc;
    case fb::OpParams::Int8Add: return int8_add;
    case fb::OpParams::Int8GlobalAveragePool: return int8_global_pool;
    case fb::OpParams::Transpose: return transpose;
    case fb::OpParams::Resize: return resize;
    case fb::OpParams::Slice: return slice;
    case fb::OpParams::NONE: break;
  }
  throw ModelError("unknown op type " + std::to_string(static_cast<int>(type)));
}

}  // namespace vkbnn::detail
