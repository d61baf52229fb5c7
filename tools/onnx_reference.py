#!/usr/bin/python3
"""The reference side of vkbnn-compare: evaluates an ONNX graph node by node and writes every
floating-point value it computes, so that the engine's tensors can be compared one by one.

Written for the tool, independently of the engine and the converter: ONNX's operator
definitions evaluated with NumPy, and with PyTorch's CPU kernels for convolutions and pooling.
Values are computed in float64 (int8 ops in integers), so that the reference's own rounding
stays far below any tolerance worth setting.

Usage: onnx_reference.py MODEL.onnx OUT_DIR --input NAME=FILE.npy ...
Writes OUT_DIR/manifest.json: {"values": [{"name", "node", "op", "file", "shape"}, ...]} in graph
order (the graph inputs first), each value as OUT_DIR/<file> (.npy, float32, C order).
Exit status 1 with one line on stderr for anything it cannot evaluate.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper
import torch
import torch.nn.functional as F


class ReferenceError(Exception):
    pass


def attributes(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def as_torch(x):
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))


def spatial_pads(pads, rank):
    # ONNX lists all begins then all ends; F.pad wants (last_begin, last_end, ..., first_begin, first_end).
    out = []
    for axis in reversed(range(rank)):
        out += [pads[axis], pads[axis + rank]]
    return out


def auto_pads(attrs, in_shape, kernel, strides, dilations):
    mode = attrs.get("auto_pad", b"NOTSET")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    rank = len(kernel)
    if mode in ("NOTSET", ""):
        return list(attrs.get("pads", [0] * (2 * rank)))
    if mode == "VALID":
        return [0] * (2 * rank)
    begins, ends = [], []
    for size, k, s, d in zip(in_shape, kernel, strides, dilations):
        out = -(-size // s)
        total = max(0, (out - 1) * s + (k - 1) * d + 1 - size)
        small, large = total // 2, total - total // 2
        begins.append(large if mode == "SAME_LOWER" else small)
        ends.append(small if mode == "SAME_LOWER" else large)
    return begins + ends


def conv(x, w, b, attrs):
    rank = w.ndim - 2
    if rank != 2:
        raise ReferenceError(f"Conv over {rank} spatial axes is not supported")
    kernel = list(attrs.get("kernel_shape", w.shape[2:]))
    strides = list(attrs.get("strides", [1] * rank))
    dilations = list(attrs.get("dilations", [1] * rank))
    pads = auto_pads(attrs, x.shape[2:], kernel, strides, dilations)
    xt = F.pad(as_torch(x), spatial_pads(pads, rank))
    y = F.conv2d(xt, as_torch(w), None if b is None else as_torch(b), strides, 0, dilations, attrs.get("group", 1))
    return y.numpy()


def conv_transpose(x, w, b, attrs):
    rank = w.ndim - 2
    if rank != 2:
        raise ReferenceError(f"ConvTranspose over {rank} spatial axes is not supported")
    auto_pad = attrs.get("auto_pad", b"NOTSET")
    if "output_shape" in attrs or (auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad) != "NOTSET":
        raise ReferenceError("ConvTranspose with output_shape or auto_pad is not supported")
    strides = list(attrs.get("strides", [1] * rank))
    dilations = list(attrs.get("dilations", [1] * rank))
    pads = list(attrs.get("pads", [0] * (2 * rank)))
    extra = list(attrs.get("output_padding", [0] * rank))
    # The full transposed convolution, then ONNX's crop by the pads and extension by output_padding.
    y = F.conv_transpose2d(as_torch(x), as_torch(w), None, strides, 0, 0, attrs.get("group", 1), dilations)
    y = F.pad(y, [0, extra[1], 0, extra[0]])
    y = y[:, :, pads[0]:y.shape[2] - pads[2], pads[1]:y.shape[3] - pads[3]]
    if b is not None:
        y = y + as_torch(b).reshape(1, -1, 1, 1)
    return y.numpy()


def depth_to_space(x, attrs, op):
    n, c, h, w = x.shape
    b = attrs["blocksize"]
    if op == "SpaceToDepth":
        y = x.reshape(n, c, h // b, b, w // b, b).transpose(0, 3, 5, 1, 2, 4)
        return y.reshape(n, c * b * b, h // b, w // b)
    mode = attrs.get("mode", b"DCR")
    if (mode.decode() if isinstance(mode, bytes) else mode) == "CRD":
        y = x.reshape(n, c // (b * b), b, b, h, w).transpose(0, 1, 4, 2, 5, 3)
    else:
        y = x.reshape(n, b, b, c // (b * b), h, w).transpose(0, 3, 4, 1, 5, 2)
    return y.reshape(n, c // (b * b), h * b, w * b)


def pool(x, attrs, kind):
    kernel = list(attrs["kernel_shape"])
    rank = len(kernel)
    if rank != 2:
        raise ReferenceError(f"pooling over {rank} spatial axes is not supported")
    strides = list(attrs.get("strides", [1] * rank))
    dilations = list(attrs.get("dilations", [1] * rank))
    pads = auto_pads(attrs, x.shape[2:], kernel, strides, dilations)
    ceil = bool(attrs.get("ceil_mode", 0))
    xt = as_torch(x)
    if kind == "max":
        xt = F.pad(xt, spatial_pads(pads, rank), value=-np.inf)
        return F.max_pool2d(xt, kernel, strides, 0, dilations, ceil_mode=ceil).numpy()
    if dilations != [1] * rank:
        raise ReferenceError("dilated AveragePool is not supported")
    include = bool(attrs.get("count_include_pad", 0))
    padded = F.pad(xt, spatial_pads(pads, rank))
    total = F.avg_pool2d(padded, kernel, strides, 0, ceil_mode=ceil, count_include_pad=False, divisor_override=1)
    # The divisor: how many of the window's cells lie inside the input (or the padded input).
    counted = torch.ones_like(padded[:1, :1]) if include else F.pad(torch.ones_like(xt[:1, :1]), spatial_pads(pads, rank))
    count = F.avg_pool2d(counted, kernel, strides, 0, ceil_mode=ceil, count_include_pad=False, divisor_override=1)
    return (total / count).numpy()


def gemm(a, b, c, attrs):
    if attrs.get("transA", 0):
        a = a.T
    if attrs.get("transB", 0):
        b = b.T
    y = attrs.get("alpha", 1.0) * (a @ b)
    if c is not None:
        y = y + attrs.get("beta", 1.0) * c
    return y


def pad(x, pads, value, attrs):
    mode = attrs.get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    rank = x.ndim
    width = [(int(pads[i]), int(pads[i + rank])) for i in range(rank)]
    if any(p < 0 for pair in width for p in pair):
        slices = tuple(slice(-b if b < 0 else None, e if e < 0 else None) for b, e in width)
        x = x[slices]
        width = [(max(b, 0), max(e, 0)) for b, e in width]
    if mode == "constant":
        return np.pad(x, width, mode="constant", constant_values=value)
    return np.pad(x, width, mode={"reflect": "reflect", "edge": "edge"}[mode])


def softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def reduce(x, axes, attrs, fn):
    keep = bool(attrs.get("keepdims", 1))
    if axes is None or len(axes) == 0:
        if attrs.get("noop_with_empty_axes", 0):
            return x
        axes = None
    else:
        axes = tuple(int(a) for a in axes)
    return fn(x, axis=axes, keepdims=keep)


def slice_(x, starts, ends, axes, steps):
    axes = list(range(len(starts))) if axes is None else [int(a) for a in axes]
    steps = [1] * len(starts) if steps is None else [int(s) for s in steps]
    index = [slice(None)] * x.ndim
    for start, end, axis, step in zip(starts, ends, axes, steps):
        size = x.shape[axis]
        start, end = int(np.clip(start, -size - 1, size)), int(np.clip(end, -size - 1, size))
        index[axis] = slice(start, end, step)
    return x[tuple(index)]


def saturate(q, dtype):
    info = np.iinfo(dtype)
    return np.clip(q, info.min, info.max).astype(dtype)


def quantize(x, scale, zero_point, axis):
    zp = np.zeros((), np.uint8) if zero_point is None else zero_point
    shape = [1] * x.ndim
    if np.ndim(scale) == 1 and x.ndim > 1:
        shape[axis] = -1
    s, z = np.reshape(scale, shape) if np.ndim(scale) else scale, np.reshape(zp, shape) if np.ndim(zp) else zp
    return saturate(np.rint(x / s) + z.astype(np.int64), zp.dtype)


def dequantize(q, scale, zero_point, axis):
    shape = [1] * q.ndim
    if np.ndim(scale) == 1 and q.ndim > 1:
        shape[axis] = -1
    s = np.reshape(scale, shape) if np.ndim(scale) else scale
    z = 0 if zero_point is None else (np.reshape(zero_point, shape) if np.ndim(zero_point) else zero_point)
    return (q.astype(np.float64) - np.asarray(z, np.float64)) * np.asarray(s, np.float64)


def dynamic_quantize(x):
    lo, hi = min(0.0, float(x.min())), max(0.0, float(x.max()))
    scale = (hi - lo) / 255.0 if hi > lo else 1.0
    zp = np.uint8(np.clip(np.rint(-lo / scale), 0, 255))
    return saturate(np.rint(x / scale) + int(zp), np.uint8), np.float32(scale), zp


def integer_conv(x, w, x_zp, w_zp, attrs):
    xs = x.astype(np.int64) - (0 if x_zp is None else np.int64(x_zp))
    ws = w.astype(np.int64)
    if w_zp is not None:
        ws = ws - (np.reshape(w_zp, (-1, 1, 1, 1)) if np.ndim(w_zp) else np.int64(w_zp))
    # Integer products summed in float64 are exact far beyond any int8 network's accumulators.
    return np.rint(conv(xs.astype(np.float64), ws.astype(np.float64), None, attrs)).astype(np.int64)


def integer_matmul(a, b, a_zp, b_zp):
    av = a.astype(np.int64) - (0 if a_zp is None else np.int64(a_zp))
    bv = b.astype(np.int64) - (0 if b_zp is None else np.asarray(b_zp, np.int64))
    return av @ bv


def requantize(acc, scale, zp):
    return saturate(np.rint(acc) + np.int64(zp), np.asarray(zp).dtype)


ONNX_TO_NUMPY = {
    onnx.TensorProto.FLOAT: np.float32, onnx.TensorProto.DOUBLE: np.float64, onnx.TensorProto.FLOAT16: np.float16,
    onnx.TensorProto.INT8: np.int8, onnx.TensorProto.UINT8: np.uint8, onnx.TensorProto.INT16: np.int16,
    onnx.TensorProto.INT32: np.int32, onnx.TensorProto.INT64: np.int64, onnx.TensorProto.BOOL: np.bool_,
}


def cast(x, to):
    if to not in ONNX_TO_NUMPY:
        raise ReferenceError(f"Cast to ONNX type {to} is not supported")
    dtype = ONNX_TO_NUMPY[to]
    # Floats stay float64 here so that a cast to float32 does not round the reference.
    return x.astype(np.float64) if np.issubdtype(dtype, np.floating) else x.astype(dtype)


def elementwise(fn):
    return lambda ins, attrs: [fn(*ins)]


def evaluate(node, ins, opset):
    op = node.op_type
    attrs = attributes(node)
    x = ins[0] if ins else None
    get = lambda i: ins[i] if len(ins) > i else None  # noqa: E731
    simple = {
        "Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Neg": np.negative, "Abs": np.abs,
        "Sqrt": np.sqrt, "Reciprocal": np.reciprocal, "Floor": np.floor, "Ceil": np.ceil, "Pow": np.power,
        "Sign": np.sign, "Equal": np.equal, "Greater": np.greater, "GreaterOrEqual": np.greater_equal,
        "Less": np.less, "LessOrEqual": np.less_equal, "Not": np.logical_not, "And": np.logical_and,
        "Or": np.logical_or, "Where": np.where, "Exp": np.exp, "Tanh": np.tanh, "Round": np.rint,
    }
    if op in simple:
        return [simple[op](*ins)]
    if op == "Div":
        a, b = ins
        if np.issubdtype(np.asarray(a).dtype, np.integer) and np.issubdtype(np.asarray(b).dtype, np.integer):
            return [np.trunc(a / b).astype(np.result_type(a, b))]
        return [a / b]
    if op in ("Max", "Min"):
        fn = np.maximum if op == "Max" else np.minimum
        out = ins[0]
        for other in ins[1:]:
            out = fn(out, other)
        return [out]
    if op in ("Identity", "Dropout"):
        return [x] + ([np.ones(x.shape, np.bool_)] if len(node.output) > 1 else [])
    if op == "Relu":
        return [np.maximum(x, 0)]
    if op == "LeakyRelu":
        return [np.where(x >= 0, x, attrs.get("alpha", 0.01) * x)]
    if op == "PRelu":
        return [np.where(x >= 0, x, ins[1] * x)]
    if op == "Clip":
        lo = attrs.get("min", -np.inf) if opset < 11 else (get(1) if get(1) is not None else -np.inf)
        hi = attrs.get("max", np.inf) if opset < 11 else (get(2) if get(2) is not None else np.inf)
        return [np.clip(x, lo, hi)]
    if op == "Sigmoid":
        return [1.0 / (1.0 + np.exp(-x))]
    if op == "HardSigmoid":
        return [np.clip(attrs.get("alpha", 0.2) * x + attrs.get("beta", 0.5), 0, 1)]
    if op == "HardSwish":
        return [x * np.clip(x / 6.0 + 0.5, 0, 1)]
    if op == "Conv":
        return [conv(x, ins[1], get(2), attrs)]
    if op == "ConvTranspose":
        return [conv_transpose(x, ins[1], get(2), attrs)]
    if op in ("DepthToSpace", "SpaceToDepth"):
        return [depth_to_space(x, attrs, op)]
    if op == "MaxPool":
        if len(node.output) > 1 and node.output[1]:
            raise ReferenceError("MaxPool with an Indices output is not supported")
        return [pool(x, attrs, "max")]
    if op == "AveragePool":
        return [pool(x, attrs, "average")]
    if op == "GlobalAveragePool":
        return [x.mean(axis=tuple(range(2, x.ndim)), keepdims=True)]
    if op == "GlobalMaxPool":
        return [x.max(axis=tuple(range(2, x.ndim)), keepdims=True)]
    if op == "BatchNormalization":
        scale, bias, mean, var = ins[1:5]
        shape = (1, -1) + (1,) * (x.ndim - 2)
        inv = scale / np.sqrt(var + attrs.get("epsilon", 1e-5))
        return [(x - mean.reshape(shape)) * inv.reshape(shape) + bias.reshape(shape)]
    if op == "Gemm":
        return [gemm(x, ins[1], get(2), attrs)]
    if op == "MatMul":
        return [np.matmul(x, ins[1])]
    if op == "Concat":
        return [np.concatenate(ins, axis=attrs["axis"])]
    if op == "Reshape":
        shape = [int(s) for s in ins[1]]
        if not attrs.get("allowzero", 0):
            shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
        return [np.reshape(x, shape)]
    if op == "Flatten":
        axis = attrs.get("axis", 1)
        axis = axis + x.ndim if axis < 0 else axis
        return [np.reshape(x, (int(np.prod(x.shape[:axis])), -1))]
    if op == "Transpose":
        return [np.transpose(x, attrs.get("perm"))]
    if op == "Softmax":
        axis = attrs.get("axis", -1 if opset >= 13 else 1)
        if opset < 13:
            # Before opset 13 Softmax flattens to 2-D at `axis`.
            flat = x.reshape(int(np.prod(x.shape[:axis % x.ndim])), -1)
            return [softmax(flat, 1).reshape(x.shape)]
        return [softmax(x, axis)]
    if op == "Pad":
        if opset < 11:
            return [pad(x, attrs["pads"], attrs.get("value", 0.0), attrs)]
        value = get(2)
        return [pad(x, ins[1], 0.0 if value is None or value.size == 0 else value.item(), attrs)]
    if op == "Constant":
        if "value" in attrs:
            return [numpy_helper.to_array(attrs["value"])]
        for key in ("value_float", "value_int"):
            if key in attrs:
                return [np.array(attrs[key])]
        for key in ("value_floats", "value_ints"):
            if key in attrs:
                return [np.array(attrs[key])]
        raise ReferenceError("Constant without a value")
    if op == "ConstantOfShape":
        value = numpy_helper.to_array(attrs["value"]) if "value" in attrs else np.zeros(1, np.float32)
        return [np.full([int(s) for s in x], value.reshape(-1)[0], value.dtype)]
    if op == "Shape":
        return [np.array(x.shape, np.int64)]
    if op == "Gather":
        return [np.take(x, ins[1].astype(np.int64), axis=attrs.get("axis", 0))]
    if op == "Unsqueeze":
        axes = attrs["axes"] if opset < 13 else [int(a) for a in ins[1]]
        rank = x.ndim + len(axes)
        for axis in sorted(a % rank for a in axes):
            x = np.expand_dims(x, axis)
        return [x]
    if op == "Squeeze":
        axes = attrs.get("axes") if opset < 13 else (None if get(1) is None else [int(a) for a in ins[1]])
        return [np.squeeze(x) if axes is None else np.squeeze(x, axis=tuple(a % x.ndim for a in axes))]
    if op == "Cast":
        return [cast(x, attrs["to"])]
    if op == "Range":
        return [np.arange(ins[0], ins[1], ins[2])]
    if op == "Tile":
        return [np.tile(x, [int(r) for r in ins[1]])]
    if op == "Expand":
        shape = [int(s) for s in ins[1]]
        return [x * np.ones(shape, x.dtype)]
    if op == "Slice":
        if opset < 10:
            return [slice_(x, attrs["starts"], attrs["ends"], attrs.get("axes"), None)]
        return [slice_(x, ins[1], ins[2], get(3), get(4))]
    if op == "Split":
        axis = attrs.get("axis", 0)
        sizes = attrs.get("split") if opset < 13 else (None if get(1) is None else [int(s) for s in ins[1]])
        if sizes is None:
            sizes = [x.shape[axis] // len(node.output)] * len(node.output)
        return list(np.split(x, np.cumsum(sizes)[:-1], axis=axis))
    if op in ("ReduceMean", "ReduceSum", "ReduceMax"):
        fn = {"ReduceMean": np.mean, "ReduceSum": np.sum, "ReduceMax": np.max}[op]
        axes_from_input = op == "ReduceSum" and opset >= 13 or opset >= 18
        axes = (get(1) if axes_from_input else attrs.get("axes"))
        return [reduce(x, axes, attrs, fn)]
    if op == "QuantizeLinear":
        return [quantize(x, ins[1], get(2), attrs.get("axis", 1))]
    if op == "DequantizeLinear":
        return [dequantize(x, ins[1], get(2), attrs.get("axis", 1))]
    if op == "DynamicQuantizeLinear":
        return list(dynamic_quantize(x))
    if op == "ConvInteger":
        return [integer_conv(x, ins[1], get(2), get(3), attrs).astype(np.int32)]
    if op == "MatMulInteger":
        return [integer_matmul(x, ins[1], get(2), get(3)).astype(np.int32)]
    if op == "QLinearConv":
        xq, xs, xz, wq, ws, wz, ys, yz = ins[:8]
        acc = integer_conv(xq, wq, xz, wz, attrs).astype(np.float64)
        if get(8) is not None:
            acc = acc + ins[8].reshape(1, -1, 1, 1)
        multiplier = (np.asarray(xs, np.float64) * np.asarray(ws, np.float64)).reshape(
            (1, -1, 1, 1) if np.ndim(ws) else ()) / np.float64(ys)
        return [requantize(acc * multiplier, ys, yz)]
    if op == "QLinearMatMul":
        aq, as_, az, bq, bs, bz, ys, yz = ins
        acc = integer_matmul(aq, bq, az, bz).astype(np.float64)
        return [requantize(acc * np.float64(as_) * np.asarray(bs, np.float64) / np.float64(ys), ys, yz)]
    raise ReferenceError(f"op '{op}' (node '{node.name}') is not supported by the reference")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("out_dir")
    parser.add_argument("--input", action="append", default=[], metavar="NAME=FILE.npy")
    args = parser.parse_args()
    try:
        run(args)
    except Exception as e:  # noqa: BLE001 - any failure is one line for the C++ tool to relay
        print(f"onnx_reference: error: {type(e).__name__ if not isinstance(e, ReferenceError) else ''}"
              f"{': ' if not isinstance(e, ReferenceError) else ''}{e}", file=sys.stderr)
        sys.exit(1)


def run(args):
    model = onnx.load(args.model)
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 13)
    graph = model.graph
    values = {i.name: numpy_helper.to_array(i).astype(np.float64)
              if numpy_helper.to_array(i).dtype.kind == "f" else numpy_helper.to_array(i)
              for i in graph.initializer}
    given = {}
    for spec in args.input:
        name, sep, path = spec.partition("=")
        if not sep:
            raise ReferenceError(f"--input '{spec}' is not NAME=FILE.npy")
        given[name] = np.load(path, allow_pickle=False)

    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    manifest = []

    def record(name, node, op, value):
        if not name or np.asarray(value).dtype.kind != "f":
            return
        file = f"{len(manifest):05d}.npy"
        array = np.ascontiguousarray(value, dtype=np.float32)
        np.save(out / file, array)
        manifest.append({"name": name, "node": node, "op": op, "file": file, "shape": list(array.shape)})

    for graph_input in graph.input:
        if graph_input.name in values:
            continue
        if graph_input.name not in given:
            raise ReferenceError(f"no --input for the graph input '{graph_input.name}'")
        values[graph_input.name] = given[graph_input.name].astype(np.float64)
        record(graph_input.name, "", "Input", values[graph_input.name])

    for node in graph.node:
        if node.domain not in ("", "ai.onnx"):
            raise ReferenceError(f"node '{node.name}' is in the domain '{node.domain}', not ONNX's")
        missing = [i for i in node.input if i and i not in values]
        if missing:
            raise ReferenceError(f"node '{node.name}' reads '{missing[0]}', which nothing before it computes")
        ins = [values[i] if i else None for i in node.input]
        while ins and ins[-1] is None:
            ins.pop()
        with np.errstate(all="ignore"):
            results = evaluate(node, ins, opset)
        for name, value in zip(node.output, results):
            if name:
                values[name] = np.asarray(value)
                record(name, node.name, node.op_type, values[name])

    (out / "manifest.json").write_text(json.dumps({"values": manifest}))


if __name__ == "__main__":
    main()
