"""Writes small ONNX classifiers in the styles of other exporters, with NumPy references.

Each graph is built node by node with onnx.helper, as the named exporter writes it (not as
PyTorch does), with random weights and input:

  tf2onnx_opset11, tf2onnx_opset13: an NHWC input with a dynamic batch, a Transpose to NCHW
      before each Conv and back after it, biases added and activations applied in NHWC,
      explicit asymmetric Conv pads, global pooling as ReduceMean over the NHWC spatial axes,
      Squeeze/Unsqueeze with axes as attributes (opset 11) or inputs (13), the pooled axes kept
      (13) or dropped (11).
  paddle2onnx_opset9, paddle2onnx_opset11: dynamic dimensions named p2o.DynamicDimension.N, the
      flatten size computed in INT32 (Shape, Cast, Gather/Slice, Mul, Concat, Cast back for
      Reshape), Clip bounds and Pad pads as attributes (9) or inputs (11), Split sizes as an
      attribute, a 2x Upsample (nearest, 9) or Resize (bilinear with aligned corners, 11).
  onnx_opset7, onnx_opset17: the same ops in ONNX's oldest spelling vkbnn reads and the newest
      that Debian's ONNX (1.12) checks: Clip bounds and Pad pads as attributes in 7, inputs in 17;
      Squeeze axes and Split sizes as inputs in 17; Softmax over everything from the axis on in 7,
      over the axis alone in 17.

Writes <name>.onnx, <name>.input.npy (the input as the vkbnn model takes it: NCHW) and
<name>.expected.npy to --out-dir, and prints one line per model: its name, then the
vkbnn-convert arguments it needs.
"""

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import case_files


def conv2d(x, w, b, stride, pads):
    """x [N, C, H, W], w [M, C, k, k], pads (top, left, bottom, right); float64."""
    x = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    n, c, h, wd = x.shape
    m, _, k, _ = w.shape
    oh, ow = (h - k) // stride + 1, (wd - k) // stride + 1
    y = np.zeros((n, m, oh, ow))
    for i in range(k):
        for j in range(k):
            patch = x[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride]
            y += np.einsum("nchw,mc->nmhw", patch, w[:, :, i, j])
    return y + b.reshape(1, -1, 1, 1)


def bilinear_align_corners(x, factor):
    """Resize of H and W by an integer factor, corners aligned: output i samples (i * (n - 1) / (m - 1))."""
    for axis in (2, 3):
        n = x.shape[axis]
        m = n * factor
        pos = np.arange(m) * (n - 1) / (m - 1)
        lo = np.floor(pos).astype(int)
        hi = np.minimum(lo + 1, n - 1)
        w = (pos - lo).reshape([-1 if a == axis else 1 for a in range(4)])
        x = np.take(x, lo, axis=axis) * (1 - w) + np.take(x, hi, axis=axis) * w
    return x


def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


class Graph:
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits = [], []

    def weight(self, name, shape, scale=0.5):
        value = (self.rng.standard_normal(shape) * scale).astype(np.float32)
        self.inits.append(numpy_helper.from_array(value, name))
        return value

    def const(self, name, value):
        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def node(self, op, inputs, outputs, **attrs):
        self.nodes.append(helper.make_node(op, inputs, outputs, **attrs))
        return outputs[0]

    def model(self, name, inputs, outputs, opset, value_info=()):
        if opset < 9:  # IR version 3 lists every initializer as a graph input too
            inputs = inputs + [helper.make_tensor_value_info(t.name, t.data_type, t.dims) for t in self.inits]
        graph = helper.make_graph(self.nodes, name, inputs, outputs, self.inits, value_info=list(value_info))
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                                  producer_name=name.split("_")[0])
        model.ir_version = 7 if opset >= 13 else 6 if opset >= 11 else 4 if opset >= 9 else 3
        onnx.checker.check_model(model)
        return model


def tf2onnx(opset):
    g = Graph(100 + opset)
    x = g.rng.standard_normal((1, 12, 12, 3)).astype(np.float32)
    w1, b1 = g.weight("conv1/kernel", (8, 3, 3, 3)), g.weight("conv1/bias", (8,))
    w2, b2 = g.weight("conv2/kernel", (8, 8, 3, 3)), g.weight("conv2/bias", (8,))
    w3, b3 = g.weight("dense/kernel", (8, 5)), g.weight("dense/bias", (5,))
    g.node("Transpose", ["input_1:0"], ["t0"], perm=[0, 3, 1, 2])
    g.node("Conv", ["t0", "conv1/kernel"], ["c1"], pads=[1, 1, 1, 1], strides=[1, 1], kernel_shape=[3, 3])
    g.node("Transpose", ["c1"], ["c1_nhwc"], perm=[0, 2, 3, 1])
    g.node("Add", ["c1_nhwc", "conv1/bias"], ["a1"])
    g.node("Relu", ["a1"], ["r1"])
    g.node("Transpose", ["r1"], ["t1"], perm=[0, 3, 1, 2])
    # TensorFlow's SAME padding for stride 2 on an even size: nothing before, one after.
    g.node("Conv", ["t1", "conv2/kernel"], ["c2"], pads=[0, 0, 1, 1], strides=[2, 2], kernel_shape=[3, 3])
    g.node("Transpose", ["c2"], ["c2_nhwc"], perm=[0, 2, 3, 1])
    g.node("Add", ["c2_nhwc", "conv2/bias"], ["a2"])
    g.const("relu6/min", np.float32(0))
    g.const("relu6/max", np.float32(6))
    g.node("Clip", ["a2", "relu6/min", "relu6/max"], ["r2"])
    if opset >= 13:
        g.node("ReduceMean", ["r2"], ["gap"], axes=[1, 2], keepdims=1)
        g.const("squeeze_axes", np.array([1, 2], np.int64))
        g.node("Squeeze", ["gap", "squeeze_axes"], ["flat"])
    else:
        g.node("ReduceMean", ["r2"], ["flat"], axes=[1, 2], keepdims=0)
    g.node("MatMul", ["flat", "dense/kernel"], ["mm"])
    g.node("Add", ["mm", "dense/bias"], ["logits"])
    if opset >= 13:
        g.const("unsqueeze_axes", np.array([1], np.int64))
        g.node("Unsqueeze", ["logits", "unsqueeze_axes"], ["logits3"])
    else:
        g.node("Unsqueeze", ["logits"], ["logits3"], axes=[1])
    g.node("Softmax", ["logits3"], ["probs3"], axis=2)
    if opset >= 13:
        g.node("Squeeze", ["probs3", "unsqueeze_axes"], ["probs"])
    else:
        g.node("Squeeze", ["probs3"], ["probs"], axes=[1])
    model = g.model(f"tf2onnx_opset{opset}",
                    [helper.make_tensor_value_info("input_1:0", TensorProto.FLOAT, ["unk__7", 12, 12, 3])],
                    [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["unk__8", 5])], opset)

    nchw = x.transpose(0, 3, 1, 2).astype(np.float64)
    y = np.maximum(conv2d(nchw, w1, b1, 1, (1, 1, 1, 1)), 0)
    y = np.clip(conv2d(y, w2, b2, 2, (0, 0, 1, 1)), 0, 6)
    y = y.mean(axis=(2, 3)) @ w3 + b3
    return model, x.transpose(0, 3, 1, 2), softmax(y), []


def paddle2onnx(opset):
    g = Graph(200 + opset)
    x = g.rng.standard_normal((1, 3, 10, 10)).astype(np.float32)
    w1, b1 = g.weight("conv2d_0.w_0", (6, 3, 3, 3)), g.weight("conv2d_0.b_0", (6,))
    gamma = g.rng.uniform(0.5, 2.0, 6).astype(np.float32)
    var = g.rng.uniform(0.5, 2.0, 6).astype(np.float32)
    g.const("bn.w", gamma)
    beta, mean = g.weight("bn.b", (6,)), g.weight("bn.mean", (6,))
    g.const("bn.var", var)
    w2, b2 = g.weight("linear_0.w_0", (6 * 5 * 5, 4), 0.1), g.weight("linear_0.b_0", (4,))
    if opset >= 11:
        g.const("pad.pads", np.array([0, 0, 1, 0, 0, 0, 1, 2], np.int64))
        g.node("Pad", ["x", "pad.pads"], ["padded"], mode="constant")
    else:
        g.node("Pad", ["x"], ["padded"], mode="constant", pads=[0, 0, 1, 0, 0, 0, 1, 2], value=0.0)
    g.node("Conv", ["padded", "conv2d_0.w_0", "conv2d_0.b_0"], ["conv"], pads=[0, 0, 0, 0], strides=[1, 1])
    g.node("BatchNormalization", ["conv", "bn.w", "bn.b", "bn.mean", "bn.var"], ["bn"], epsilon=1e-5)
    if opset >= 11:
        g.const("clip.min", np.float32(-0.5))
        g.const("clip.max", np.float32(2.5))
        g.node("Clip", ["bn", "clip.min", "clip.max"], ["act"])
    else:
        g.node("Clip", ["bn"], ["act"], min=-0.5, max=2.5)
    # Upsampled 2x as paddle2onnx exports it: Upsample (nearest) in opset 9, Resize (bilinear,
    # align_corners, scales with an empty roi) in 11; pooled back by 4.
    g.const("up.scales", np.array([1, 1, 2, 2], np.float32))
    if opset >= 11:
        g.const("up.roi", np.zeros(0, np.float32))
        g.node("Resize", ["act", "up.roi", "up.scales"], ["up"], mode="linear",
               coordinate_transformation_mode="align_corners")
    else:
        g.node("Upsample", ["act", "up.scales"], ["up"], mode="nearest")
    g.node("MaxPool", ["up"], ["pool"], kernel_shape=[4, 4], strides=[4, 4])
    # Flatten as paddle2onnx spells it: the shape in INT32, C * H * W multiplied out.
    g.node("Shape", ["pool"], ["shape64"])
    g.node("Cast", ["shape64"], ["shape"], to=TensorProto.INT32)
    g.node("Split", ["shape"], ["nc", "hw"], axis=0, split=[2, 2])
    if opset < 10:
        g.node("Slice", ["nc"], ["batch"], starts=[0], ends=[1], axes=[0])
    else:
        g.const("s.starts", np.array([0], np.int32))
        g.const("s.ends", np.array([1], np.int32))
        g.node("Slice", ["nc", "s.starts", "s.ends"], ["batch"])
    g.const("g.one", np.array(1, np.int64))
    g.const("g.zero", np.array(0, np.int64))
    g.node("Gather", ["nc", "g.one"], ["c"], axis=0)
    g.node("Gather", ["hw", "g.zero"], ["h"], axis=0)
    g.node("Gather", ["hw", "g.one"], ["w"], axis=0)
    g.node("Mul", ["c", "h"], ["ch"])
    g.node("Mul", ["ch", "w"], ["chw"])
    g.node("Unsqueeze", ["chw"], ["chw1"], axes=[0])
    g.node("Concat", ["batch", "chw1"], ["target32"], axis=0)
    g.node("Cast", ["target32"], ["target"], to=TensorProto.INT64)
    g.node("Reshape", ["pool", "target"], ["flat"])
    g.node("MatMul", ["flat", "linear_0.w_0"], ["mm"])
    g.node("Add", ["mm", "linear_0.b_0"], ["y"])
    # paddle2onnx declares the INT32 shape values it computes; one declaration is stale.
    value_info = [helper.make_tensor_value_info("shape", TensorProto.INT32, [4]),
                  helper.make_tensor_value_info("shape64", TensorProto.INT32, [4])]
    dyn = [f"p2o.DynamicDimension.{k}" for k in range(3)]
    model = g.model(f"paddle2onnx_opset{opset}",
                    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [dyn[0], 3, dyn[1], dyn[2]])],
                    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [dyn[0], 4])], opset, value_info)

    y = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (1, 1), (0, 2)))
    y = conv2d(y, w1, b1, 1, (0, 0, 0, 0))
    y = (y - mean.reshape(1, -1, 1, 1)) / np.sqrt(var.reshape(1, -1, 1, 1) + 1e-5) * gamma.reshape(1, -1, 1, 1) \
        + beta.reshape(1, -1, 1, 1)
    y = np.clip(y, -0.5, 2.5)
    y = bilinear_align_corners(y, 2) if opset >= 11 else y.repeat(2, axis=2).repeat(2, axis=3)
    y = y.reshape(1, 6, 5, 4, 5, 4).max(axis=(3, 5))
    y = y.reshape(1, -1) @ w2 + b2
    return model, x, y, ["--input-size", "10x10"]


def onnx_opset(opset):
    g = Graph(300 + opset)
    x = g.rng.standard_normal((2, 4, 6, 6)).astype(np.float32)
    w, b = g.weight("w", (4, 4, 3, 3)), g.weight("b", (4,))
    if opset >= 11:
        g.const("min", np.float32(-1.0))
        g.node("Clip", ["x", "min"], ["clipped"])  # no max: unbounded above
    else:
        g.node("Clip", ["x"], ["clipped"], min=-1.0)
    if opset >= 11:
        g.const("pads", np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64))
        g.node("Pad", ["clipped", "pads"], ["padded"], mode="edge")
    else:
        g.node("Pad", ["clipped"], ["padded"], mode="edge", pads=[0, 0, 1, 1, 0, 0, 1, 1])
    g.node("Conv", ["padded", "w", "b"], ["conv"])
    g.node("ReduceMean", ["conv"], ["pooled"], axes=[2, 3], keepdims=1)
    if opset >= 13:
        g.const("axes", np.array([2, 3], np.int64))
        g.node("Squeeze", ["pooled", "axes"], ["mean"])
    else:
        g.node("Squeeze", ["pooled"], ["mean"], axes=[2, 3])
    # Reshape target from a Split of the shape: sizes as an input from opset 13.
    g.node("Shape", ["mean"], ["shape"])
    if opset >= 13:
        g.const("split", np.array([1, 1], np.int64))
        g.node("Split", ["shape", "split"], ["n", "c"], axis=0)
    else:
        g.node("Split", ["shape"], ["n", "c"], axis=0, split=[1, 1])
    g.const("two", np.array([2], np.int64))
    g.node("Div", ["c", "two"], ["half"])
    g.node("Concat", ["n", "two", "half"], ["target"], axis=0)
    g.node("Reshape", ["mean", "target"], ["grouped"])
    # Softmax before opset 13 normalizes everything from the axis on, as one row.
    g.node("Softmax", ["grouped"], ["probs"], axis=1)
    model = g.model(f"onnx_opset{opset}", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4, 6, 6])],
                    [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", 2, 2])], opset)

    y = np.maximum(x.astype(np.float64), -1.0)
    y = np.pad(y, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="edge")
    y = conv2d(y, w, b, 1, (0, 0, 0, 0)).mean(axis=(2, 3)).reshape(2, 2, 2)
    y = softmax(y, axis=1) if opset >= 13 else softmax(y.reshape(2, 4), axis=1).reshape(2, 2, 2)
    return model, x, y, ["--batch", "2"]


MODELS = {
    "tf2onnx_opset11": lambda: tf2onnx(11),
    "tf2onnx_opset13": lambda: tf2onnx(13),
    "paddle2onnx_opset9": lambda: paddle2onnx(9),
    "paddle2onnx_opset11": lambda: paddle2onnx(11),
    "onnx_opset7": lambda: onnx_opset(7),
    "onnx_opset17": lambda: onnx_opset(17),
}


def main():
    args = case_files.arguments(__doc__)
    for name, make in MODELS.items():
        model, x, expected, convert_args = make()
        onnx.save(model, str(args.out_dir / f"{name}.onnx"))
        case_files.save_arrays(args.out_dir, name, x, expected)
        print(" ".join([name] + convert_args))


if __name__ == "__main__":
    main()
