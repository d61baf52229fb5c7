"""Writes single-node ONNX graphs of 1-D ConvTranspose, Conv, MaxPool and AveragePool (inputs
[N, C, L]) with every attribute the converter reads (strides, pads, output_padding, groups,
dilations, auto_pad, output_shape, ceil_mode, count_include_pad), built with onnx.helper, with
random weights and input and a naive NumPy reference of ONNX's definition of each op.

Writes <name>.onnx, <name>.input.npy and <name>.expected.npy to --out-dir and prints the names.
"""

import math

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import case_files

RNG = np.random.default_rng(11)


def conv_transpose_1d(x, w, b, stride, pads, output_padding, group, dilation):
    """ONNX ConvTranspose on [N, C, L] with w [C, M/group, K]: every input element adds x * w to
    output position l * stride + k * dilation - pads[0] of its group's channels."""
    n, c, length = x.shape
    ocg, k = w.shape[1], w.shape[2]
    m = ocg * group
    out_len = stride * (length - 1) + output_padding + (k - 1) * dilation + 1 - pads[0] - pads[1]
    y = np.zeros((n, m, out_len))
    icg = c // group
    for b_ in range(n):
        for ch in range(c):
            g = ch // icg
            for oc in range(ocg):
                for i in range(length):
                    for t in range(k):
                        pos = i * stride + t * dilation - pads[0]
                        if 0 <= pos < out_len:
                            y[b_, g * ocg + oc, pos] += x[b_, ch, i] * w[ch, oc, t]
    if b is not None:
        y += b.reshape(1, -1, 1)
    return y


def transpose_pads(length, k, stride, dilation, output_padding, auto_pad, output_shape):
    """The pads ONNX's ConvTranspose resolves from auto_pad or output_shape."""
    full = stride * (length - 1) + output_padding + (k - 1) * dilation + 1
    target = output_shape if output_shape is not None else length * stride
    total = full - target
    if auto_pad == "SAME_UPPER":
        return [total // 2, total - total // 2]
    return [total - total // 2, total // 2]


def conv_1d(x, w, b, stride, pads, group, dilation):
    n, c, length = x.shape
    m, icg, k = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[1])))
    out_len = (length + pads[0] + pads[1] - (k - 1) * dilation - 1) // stride + 1
    y = np.zeros((n, m, out_len))
    ocg = m // group
    for oc in range(m):
        g = oc // ocg
        for o in range(out_len):
            for t in range(k):
                y[:, oc, o] += xp[:, g * icg:(g + 1) * icg, o * stride + t * dilation] @ w[oc, :, t]
    return y + b.reshape(1, -1, 1)


def pool_1d(x, kind, k, stride, pads, dilation, ceil_mode, count_include_pad):
    n, c, length = x.shape
    span = (k - 1) * dilation + 1
    rounding = math.ceil if ceil_mode else math.floor
    out_len = int(rounding((length + pads[0] + pads[1] - span) / stride)) + 1
    # A window that would start in the end padding is dropped (ONNX and PyTorch).
    if ceil_mode and (out_len - 1) * stride >= length + pads[0]:
        out_len -= 1
    y = np.zeros((n, c, out_len))
    for o in range(out_len):
        taps = [o * stride + t * dilation - pads[0] for t in range(k)]
        inside = [p for p in taps if 0 <= p < length]
        if kind == "MaxPool":
            y[:, :, o] = np.max(x[:, :, inside], axis=2)
        else:
            padded = [p for p in taps if p < length + pads[1]]
            count = len(padded) if count_include_pad else len(inside)
            y[:, :, o] = np.sum(x[:, :, inside], axis=2) / count
    return y


def model_of(node, x_shape, y_shape, initializers):
    graph = helper.make_graph(
        [node], node.name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(y_shape))],
        [numpy_helper.from_array(v.astype(np.float32), k) for k, v in initializers.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def deconv(name, x_shape, m, k, group=1, bias=True, stride=1, pads=None, output_padding=0, dilation=1,
           auto_pad=None, output_shape=None):
    x = RNG.standard_normal(x_shape)
    c = x_shape[1]
    w = RNG.standard_normal((c, m // group, k)) * 0.5
    b = RNG.standard_normal(m) if bias else None
    attrs = {"kernel_shape": [k], "strides": [stride], "dilations": [dilation], "group": group}
    if output_padding:
        attrs["output_padding"] = [output_padding]
    if pads is not None:
        attrs["pads"] = pads
    if auto_pad is not None:
        attrs["auto_pad"] = auto_pad
    if output_shape is not None:
        attrs["output_shape"] = [output_shape]
    if auto_pad in ("SAME_UPPER", "SAME_LOWER") or output_shape is not None:
        pads = transpose_pads(x_shape[2], k, stride, dilation, output_padding, auto_pad, output_shape)
    elif pads is None:
        pads = [0, 0]
    y = conv_transpose_1d(x, w, b, stride, pads, output_padding, group, dilation)
    inputs = ["x", "w"] + (["b"] if bias else [])
    node = helper.make_node("ConvTranspose", inputs, ["y"], name=name, **attrs)
    inits = {"w": w, **({"b": b} if bias else {})}
    return model_of(node, x.shape, y.shape, inits), x, y


def conv(name, x_shape, m, k, group=1, stride=1, pads=(0, 0), dilation=1, auto_pad=None):
    x = RNG.standard_normal(x_shape)
    w = RNG.standard_normal((m, x_shape[1] // group, k)) * 0.5
    b = RNG.standard_normal(m)
    attrs = {"kernel_shape": [k], "strides": [stride], "dilations": [dilation], "group": group}
    if auto_pad:
        attrs["auto_pad"] = auto_pad
        out = -(-x_shape[2] // stride)
        total = max(0, (out - 1) * stride + (k - 1) * dilation + 1 - x_shape[2])
        pads = (total // 2, total - total // 2) if auto_pad == "SAME_UPPER" else (total - total // 2, total // 2)
    else:
        attrs["pads"] = list(pads)
    y = conv_1d(x, w, b, stride, pads, group, dilation)
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], name=name, **attrs)
    return model_of(node, x.shape, y.shape, {"w": w, "b": b}), x, y


def pool(name, kind, x_shape, k, stride=1, pads=(0, 0), dilation=1, ceil_mode=0, count_include_pad=0):
    x = RNG.standard_normal(x_shape)
    attrs = {"kernel_shape": [k], "strides": [stride], "pads": list(pads), "ceil_mode": ceil_mode}
    if kind == "MaxPool":
        attrs["dilations"] = [dilation]
    else:
        attrs["count_include_pad"] = count_include_pad
    y = pool_1d(x, kind, k, stride, pads, dilation, ceil_mode, count_include_pad)
    node = helper.make_node(kind, ["x"], ["y"], name=name, **attrs)
    return model_of(node, x.shape, y.shape, {}), x, y


MODELS = {
    "deconv_every_attribute": lambda: deconv("deconv_every_attribute", (2, 4, 9), 6, 3, group=2, stride=2,
                                             pads=[1, 2], output_padding=1, dilation=2),
    "deconv_no_bias": lambda: deconv("deconv_no_bias", (1, 3, 5), 2, 4, bias=False, stride=3),
    "deconv_output_shape": lambda: deconv("deconv_output_shape", (1, 3, 6), 4, 3, stride=2, output_shape=13),
    "deconv_same_upper": lambda: deconv("deconv_same_upper", (1, 2, 7), 3, 4, stride=3, auto_pad="SAME_UPPER"),
    "deconv_same_lower": lambda: deconv("deconv_same_lower", (1, 2, 7), 3, 4, stride=2, auto_pad="SAME_LOWER"),
    "deconv_valid": lambda: deconv("deconv_valid", (2, 3, 4), 3, 3, stride=2, auto_pad="VALID"),
    "deconv_depthwise": lambda: deconv("deconv_depthwise", (1, 4, 8), 4, 4, group=4, stride=2, pads=[1, 1]),
    "conv_strided_dilated": lambda: conv("conv_strided_dilated", (2, 6, 23), 4, 3, group=2, stride=2, pads=(2, 1),
                                         dilation=3),
    "conv_same_lower": lambda: conv("conv_same_lower", (1, 3, 10), 5, 4, stride=3, auto_pad="SAME_LOWER"),
    "maxpool_dilated_ceil": lambda: pool("maxpool_dilated_ceil", "MaxPool", (2, 3, 17), 3, stride=2, pads=(1, 1),
                                         dilation=2, ceil_mode=1),
    "avgpool_include_pad": lambda: pool("avgpool_include_pad", "AveragePool", (1, 4, 11), 4, stride=3,
                                        pads=(2, 1), count_include_pad=1),
    "avgpool_exclude_pad_ceil": lambda: pool("avgpool_exclude_pad_ceil", "AveragePool", (1, 2, 12), 3, stride=2,
                                             pads=(1, 0), ceil_mode=1),
}


def main():
    args = case_files.arguments(__doc__)
    for name, make in MODELS.items():
        model, x, expected = make()
        onnx.checker.check_model(model)
        onnx.save(model, str(args.out_dir / f"{name}.onnx"))
        case_files.save_arrays(args.out_dir, name, x, expected)
        print(name)


if __name__ == "__main__":
    main()
