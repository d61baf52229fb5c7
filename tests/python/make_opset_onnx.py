"""Writes small ONNX graphs of the ops whose signatures differ between ONNX opsets, with NumPy
references computed here from the operators' definitions (not from vkbnn's code).

Opset 18, whose nodes vkbnn-convert rewrites into opset 17 (ONNX 1.12's newest):
  reduce_opset18: ReduceMean/ReduceMax/ReduceL2 with axes as an input (an initializer, a Constant
      node, negative axes), ReduceMin with no axes and noop_with_empty_axes=1 (a copy).
  split_opset18: Split by num_outputs into uneven parts (8 channels in 3, 5 rows in 2) and into even
      ones over a negative axis; by sizes (an input, as in 13).
  resize_opset18: Resize with antialias=0 given, with axes (positive and negative) and scales or
      sizes for them alone, keep_aspect_ratio_policy=stretch, antialias=1 in nearest mode and in
      linear mode when enlarging.
  pad_opset18: Pad with an axes input (int64 with a negative axis, int32), constant value and
      reflect mode, and without axes.
  mish_opset18: the Mish op, new in 18.
  scatter_opset18: ScatterND's max and min reductions (new in 18; the schema needs no rewrite).
Older opsets, the same computation in each spelling:
  clip_opset7/11/13: min and max as attributes (7), as inputs (11, 13; max alone in one).
  pad_opset7/11: pads and the constant value as attributes (7) or inputs (11).
  split_opset7/11/13: uneven sizes as an attribute (7, 11, over a negative axis) or an input (13),
      and an even split without sizes.
  squeeze_opset11/13: Squeeze and Unsqueeze of activations, axes as attributes (11) or inputs (13).
  upsample_opset7/9: Upsample's scales as an attribute (7) or an input (9), asymmetric coordinates.
  resize_opset10/11/13: opset 10's Resize (scales only, asymmetric coordinates, nearest rounding
      down); 11's roi and empty scales with sizes; 13's omitted roi, with scales or sizes.
  reducesum_opset11/13: axes as an attribute (11) or an input (13), and no axes with
      noop_with_empty_axes=1 (13).
Every model computes several results, flattened and concatenated into one output.

Refused, each with a message: resize_antialias_opset18 (antialias=1 in linear mode, downscaling),
reduce_computed_axes_opset18 (axes the graph computes), groupnorm_opset18 (an op new in 18 that
vkbnn does not support), relu_opset19 (an opset past 18).

Writes <name>.onnx, <name>.input.npy and <name>.expected.npy to --out-dir, and prints one line per
model: its name, then rewrites=N for the opset-18 ones (how many of its nodes have schemas that
changed in 18), or "refused" for the ones vkbnn-convert must refuse (no arrays for those).
"""

import math

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import case_files


class Graph:
    def __init__(self, seed, shape):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits, self.results = [], [], []
        self.shape = shape
        self.x = self.rng.standard_normal(shape).astype(np.float32)

    def const(self, name, value):
        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def node(self, op, inputs, outputs, **attrs):
        self.nodes.append(helper.make_node(op, inputs, outputs, name=outputs[0], **attrs))
        return outputs[0]

    def result(self, name, value):
        """An output of the computation and its reference: flattened into the model's one output."""
        self.node("Flatten", [name], [name + "_flat"], axis=1)
        self.results.append((name + "_flat", np.asarray(value, np.float64).reshape(1, -1)))

    def model(self, name, opset):
        self.node("Concat", [r for r, _ in self.results], ["y"], axis=1)
        expected = np.concatenate([v for _, v in self.results], axis=1)
        graph = helper.make_graph(self.nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, self.shape)],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, expected.shape)], self.inits)
        if opset < 9:  # IR version 3 lists every initializer as a graph input too
            graph.input.extend(helper.make_tensor_value_info(t.name, t.data_type, t.dims) for t in self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="opsets")
        # The oldest IR version of each opset's ONNX release.
        releases = ((15, 8), (13, 7), (11, 6), (10, 5), (9, 4), (0, 3))
        model.ir_version = next(ir for first, ir in releases if opset >= first)
        if opset <= onnx.defs.onnx_opset_version():
            onnx.checker.check_model(model)
        return model, self.x, expected


def resize_reference(x, out_shape, scales, mode, transform, nearest="round_prefer_floor"):
    """ONNX Resize, one axis after the other; scales[a] is the given scale, or out / in for sizes."""
    y = x.astype(np.float64)
    for axis, (n, m, s) in enumerate(zip(x.shape, out_shape, scales)):
        if n == m and s == 1:
            continue
        i = np.arange(m, dtype=np.float64)
        if transform == "half_pixel":
            pos = (i + 0.5) / s - 0.5
        elif transform == "pytorch_half_pixel":
            pos = (i + 0.5) / s - 0.5 if m > 1 else np.zeros(m)
        elif transform == "align_corners":
            pos = i * (n - 1) / (m - 1) if m > 1 else np.zeros(m)
        else:
            pos = i / s
        if mode == "nearest":
            index = {"round_prefer_floor": np.ceil(pos - 0.5), "round_prefer_ceil": np.floor(pos + 0.5),
                     "floor": np.floor(pos), "ceil": np.ceil(pos)}[nearest]
            y = np.take(y, np.clip(index, 0, n - 1).astype(int), axis=axis)
        else:
            pos = np.clip(pos, 0, n - 1)
            lo = np.floor(pos).astype(int)
            hi = np.minimum(lo + 1, n - 1)
            w = (pos - lo).reshape([-1 if a == axis else 1 for a in range(x.ndim)])
            y = np.take(y, lo, axis=axis) * (1 - w) + np.take(y, hi, axis=axis) * w
    return y


def reduce_opset18():
    g = Graph(1, [1, 4, 6, 6])
    x = g.x.astype(np.float64)
    g.const("spatial", np.array([2, 3], np.int64))
    g.result(g.node("ReduceMean", ["x", "spatial"], ["mean"], keepdims=1), x.mean(axis=(2, 3), keepdims=True))
    g.node("Constant", [], ["last"], value=numpy_helper.from_array(np.array([-1], np.int64)))
    g.result(g.node("ReduceMax", ["x", "last"], ["max"], keepdims=0), x.max(axis=-1))
    g.result(g.node("ReduceMin", ["x"], ["copy"], noop_with_empty_axes=1), x)
    g.const("channels", np.array([1], np.int64))
    g.result(g.node("ReduceL2", ["x", "channels"], ["l2"]), np.sqrt((x * x).sum(axis=1, keepdims=True)))
    return g.model("reduce_opset18", 18), 4


def split_opset18():
    g = Graph(2, [1, 8, 5, 4])
    x = g.x.astype(np.float64)
    g.node("Split", ["x"], ["c0", "c1", "c2"], axis=1, num_outputs=3)  # 3, 3, 2 channels
    g.result("c2", x[:, 6:])
    g.result("c0", x[:, :3])
    g.result(g.node("Relu", ["c1"], ["c1_relu"]), np.maximum(x[:, 3:6], 0))
    g.node("Split", ["x"], ["r0", "r1"], axis=2, num_outputs=2)  # 3, 2 rows
    g.result("r1", x[:, :, 3:])
    g.result("r0", x[:, :, :3])
    g.node("Split", ["x"], ["w0", "w1"], axis=-1, num_outputs=2)  # 2, 2 columns
    g.result("w1", x[..., 2:])
    g.const("sizes", np.array([1, 7], np.int64))  # sizes as an input: as in 13
    g.node("Split", ["x", "sizes"], ["first", "others"], axis=1)
    g.result("first", x[:, :1])
    return g.model("split_opset18", 18), 3


def scatter_opset18():
    """ScatterND's max and min reductions, new in 18 and folded (its inputs are constants)."""
    g = Graph(6, [1, 3, 2, 4])
    x = g.x.astype(np.float64)
    data = g.rng.standard_normal(4).astype(np.float32)
    g.const("data", data)
    g.const("slots", np.array([[1], [3]], np.int64))
    g.const("updates", np.array([0.5, -0.5], np.float32))
    g.node("ScatterND", ["data", "slots", "updates"], ["highs"], reduction="max")
    g.node("ScatterND", ["data", "slots", "updates"], ["lows"], reduction="min")
    highs, lows = data.astype(np.float64), data.astype(np.float64)
    highs[[1, 3]] = np.maximum(highs[[1, 3]], [0.5, -0.5])
    lows[[1, 3]] = np.minimum(lows[[1, 3]], [0.5, -0.5])
    g.result(g.node("Add", ["x", "highs"], ["raised"]), x + highs)
    g.result(g.node("Mul", ["x", "lows"], ["scaled"]), x * lows)
    return g.model("scatter_opset18", 18), 0


def resize_opset18():
    g = Graph(3, [1, 3, 5, 4])
    x = g.x
    g.const("scales", np.array([1, 1, 2, 2], np.float32))
    g.result(g.node("Resize", ["x", "", "scales"], ["linear"], mode="linear", antialias=0),
             resize_reference(x, (1, 3, 10, 8), (1, 1, 2, 2), "linear", "half_pixel"))
    g.const("hw_scales", np.array([2, 3], np.float32))
    g.result(g.node("Resize", ["x", "", "hw_scales"], ["nearest"], mode="nearest", axes=[2, 3]),
             resize_reference(x, (1, 3, 10, 12), (1, 1, 2, 3), "nearest", "half_pixel"))
    g.const("hw_sizes", np.array([7, 6], np.int64))
    g.result(g.node("Resize", ["x", "", "", "hw_sizes"], ["sized"], mode="linear", axes=[-2, -1],
                    coordinate_transformation_mode="pytorch_half_pixel", keep_aspect_ratio_policy="stretch"),
             resize_reference(x, (1, 3, 7, 6), (1, 1, 7 / 5, 6 / 4), "linear", "pytorch_half_pixel"))
    g.const("w_sizes", np.array([8], np.int64))
    g.result(g.node("Resize", ["x", "", "", "w_sizes"], ["wide"], mode="nearest", axes=[3], antialias=1,
                    coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
             resize_reference(x, (1, 3, 5, 8), (1, 1, 1, 2), "nearest", "asymmetric", "floor"))
    # Antialiasing only filters downscaling: enlarging with it is enlarging without.
    g.result(g.node("Resize", ["x", "", "scales"], ["smooth"], mode="linear", antialias=1),
             resize_reference(x, (1, 3, 10, 8), (1, 1, 2, 2), "linear", "half_pixel"))
    return g.model("resize_opset18", 18), 5


def pad_opset18():
    g = Graph(4, [1, 3, 4, 5])
    x = g.x.astype(np.float64)
    g.const("hw_pads", np.array([1, 2, 0, 1], np.int64))
    g.const("hw_axes", np.array([2, -1], np.int64))
    g.const("half", np.float32(0.5))
    g.result(g.node("Pad", ["x", "hw_pads", "half", "hw_axes"], ["constant"]),
             np.pad(x, ((0, 0), (0, 0), (1, 0), (2, 1)), constant_values=0.5))
    g.const("w_pads", np.array([2, 1], np.int64))
    g.const("w_axis", np.array([3], np.int32))
    g.result(g.node("Pad", ["x", "w_pads", "", "w_axis"], ["reflect"], mode="reflect"),
             np.pad(x, ((0, 0), (0, 0), (0, 0), (2, 1)), mode="reflect"))
    g.const("all_pads", np.array([0, 0, 1, 1, 0, 0, 2, 0], np.int64))
    g.result(g.node("Pad", ["x", "all_pads"], ["edge"], mode="edge"),
             np.pad(x, ((0, 0), (0, 0), (1, 2), (1, 0)), mode="edge"))
    return g.model("pad_opset18", 18), 2


def mish_opset18():
    g = Graph(5, [1, 4, 5, 5])
    x = g.x.astype(np.float64) * 3
    g.x = x.astype(np.float32)
    g.result(g.node("Mish", ["x"], ["mish"]), x * np.tanh(np.log1p(np.exp(x))))
    return g.model("mish_opset18", 18), 1


def clip(opset):
    g = Graph(10 + opset, [1, 3, 4, 4])
    x = g.x.astype(np.float64)
    if opset < 11:
        g.node("Clip", ["x"], ["both"], min=-0.5, max=0.7)
        g.node("Clip", ["x"], ["above"], max=0.2)
    else:
        g.const("lo", np.float32(-0.5))
        g.const("hi", np.float32(0.7))
        g.const("top", np.float32(0.2))
        g.node("Clip", ["x", "lo", "hi"], ["both"])
        g.node("Clip", ["x", "", "top"], ["above"])
    g.result("both", np.clip(x, -0.5, 0.7))
    g.result("above", np.minimum(x, 0.2))
    return g.model(f"clip_opset{opset}", opset)


def pad(opset):
    g = Graph(20 + opset, [1, 2, 3, 4])
    x = g.x.astype(np.float64)
    pads = [0, 0, 2, 1, 0, 0, 1, 3]
    if opset < 11:
        g.node("Pad", ["x"], ["constant"], pads=pads, value=-1.5)
        g.node("Pad", ["x"], ["reflect"], pads=pads, mode="reflect")
    else:
        g.const("pads", np.array(pads, np.int64))
        g.const("value", np.float32(-1.5))
        g.node("Pad", ["x", "pads", "value"], ["constant"])
        g.node("Pad", ["x", "pads"], ["reflect"], mode="reflect")
    g.result("constant", np.pad(x, ((0, 0), (0, 0), (2, 1), (1, 3)), constant_values=-1.5))
    g.result("reflect", np.pad(x, ((0, 0), (0, 0), (2, 1), (1, 3)), mode="reflect"))
    return g.model(f"pad_opset{opset}", opset)


def split(opset):
    g = Graph(30 + opset, [1, 8, 6, 6])
    x = g.x.astype(np.float64)
    if opset < 13:
        g.node("Split", ["x"], ["a", "b"], axis=1, split=[3, 5])
        g.node("Split", ["x"], ["top", "bottom"], axis=-2, split=[4, 2])
    else:
        g.const("channels", np.array([3, 5], np.int64))
        g.const("rows", np.array([4, 2], np.int64))
        g.node("Split", ["x", "channels"], ["a", "b"], axis=1)
        g.node("Split", ["x", "rows"], ["top", "bottom"], axis=-2)
    g.node("Split", ["x"], ["left", "mid", "right"], axis=3)  # even: 2 columns each
    g.result("b", x[:, 3:])
    g.result("a", x[:, :3])
    g.result("bottom", x[:, :, 4:])
    g.result("right", x[..., 4:])
    g.result("mid", x[..., 2:4])
    return g.model(f"split_opset{opset}", opset)


def squeeze(opset):
    g = Graph(40 + opset, [1, 4, 1, 6])
    x = g.x.astype(np.float64)
    scale = g.rng.standard_normal(6).astype(np.float32)
    g.const("scale", scale)
    if opset < 13:
        g.node("Squeeze", ["x"], ["squeezed"], axes=[2])
    else:
        g.const("h", np.array([2], np.int64))
        g.node("Squeeze", ["x", "h"], ["squeezed"])
    g.node("Mul", ["squeezed", "scale"], ["scaled"])
    if opset < 13:
        g.node("Unsqueeze", ["scaled"], ["unsqueezed"], axes=[-1])
    else:
        g.const("last", np.array([-1], np.int64))
        g.node("Unsqueeze", ["scaled", "last"], ["unsqueezed"])
    g.result("unsqueezed", (x[:, :, 0, :] * scale)[..., None])
    return g.model(f"squeeze_opset{opset}", opset)


def resize(opset):
    g = Graph(50 + opset, [1, 2, 4, 5])
    x = g.x
    if opset == 10:
        g.const("scales", np.array([1, 1, 3, 2], np.float32))
        g.result(g.node("Resize", ["x", "scales"], ["nearest"], mode="nearest"),
                 resize_reference(x, (1, 2, 12, 10), (1, 1, 3, 2), "nearest", "asymmetric", "floor"))
        g.result(g.node("Resize", ["x", "scales"], ["linear"], mode="linear"),
                 resize_reference(x, (1, 2, 12, 10), (1, 1, 3, 2), "linear", "asymmetric"))
    elif opset == 11:
        g.const("roi", np.array([], np.float32))
        g.const("no_scales", np.array([], np.float32))
        g.const("sizes", np.array([1, 2, 6, 7], np.int64))
        g.result(g.node("Resize", ["x", "roi", "no_scales", "sizes"], ["linear"], mode="linear",
                        coordinate_transformation_mode="half_pixel"),
                 resize_reference(x, (1, 2, 6, 7), (1, 1, 6 / 4, 7 / 5), "linear", "half_pixel"))
        g.const("scales", np.array([1, 1, 2, 2], np.float32))
        g.result(g.node("Resize", ["x", "roi", "scales"], ["nearest"], mode="nearest",
                        coordinate_transformation_mode="align_corners", nearest_mode="round_prefer_ceil"),
                 resize_reference(x, (1, 2, 8, 10), (1, 1, 2, 2), "nearest", "align_corners", "round_prefer_ceil"))
    else:
        g.const("scales", np.array([1, 1, 2, 3], np.float32))
        g.result(g.node("Resize", ["x", "", "scales"], ["linear"], mode="linear"),
                 resize_reference(x, (1, 2, 8, 15), (1, 1, 2, 3), "linear", "half_pixel"))
        g.const("sizes", np.array([1, 2, 9, 8], np.int64))
        g.result(g.node("Resize", ["x", "", "", "sizes"], ["nearest"], mode="nearest",
                        coordinate_transformation_mode="asymmetric", nearest_mode="ceil"),
                 resize_reference(x, (1, 2, 9, 8), (1, 1, 9 / 4, 8 / 5), "nearest", "asymmetric", "ceil"))
    return g.model(f"resize_opset{opset}", opset)


def upsample(opset):
    g = Graph(55 + opset, [1, 2, 3, 4])
    x = g.x
    if opset < 9:
        g.node("Upsample", ["x"], ["nearest"], mode="nearest", scales=[1.0, 1.0, 3.0, 2.0])
        g.node("Upsample", ["x"], ["linear"], mode="linear", scales=[1.0, 1.0, 3.0, 2.0])
    else:
        g.const("scales", np.array([1, 1, 3, 2], np.float32))
        g.node("Upsample", ["x", "scales"], ["nearest"], mode="nearest")
        g.node("Upsample", ["x", "scales"], ["linear"], mode="linear")
    g.result("nearest", resize_reference(x, (1, 2, 9, 8), (1, 1, 3, 2), "nearest", "asymmetric", "floor"))
    g.result("linear", resize_reference(x, (1, 2, 9, 8), (1, 1, 3, 2), "linear", "asymmetric"))
    return g.model(f"upsample_opset{opset}", opset)


def reducesum(opset):
    g = Graph(60 + opset, [1, 3, 4, 5])
    x = g.x.astype(np.float64)
    if opset < 13:
        g.node("ReduceSum", ["x"], ["sum"], axes=[1, -1], keepdims=1)
        g.node("ReduceSum", ["x"], ["rows"], axes=[2], keepdims=0)
    else:
        g.const("axes", np.array([1, -1], np.int64))
        g.const("h", np.array([2], np.int64))
        g.node("ReduceSum", ["x", "axes"], ["sum"], keepdims=1)
        g.node("ReduceSum", ["x", "h"], ["rows"], keepdims=0)
        g.result(g.node("ReduceSum", ["x"], ["copy"], noop_with_empty_axes=1), x)
    g.result("sum", x.sum(axis=(1, 3), keepdims=True))
    g.result("rows", x.sum(axis=2))
    return g.model(f"reducesum_opset{opset}", opset)


def resize_antialias_opset18():
    g = Graph(70, [1, 3, 8, 8])
    g.const("scales", np.array([1, 1, 0.5, 0.5], np.float32))
    g.result(g.node("Resize", ["x", "", "scales"], ["shrink"], mode="linear", antialias=1), np.zeros((1, 3, 4, 4)))
    return g.model("resize_antialias_opset18", 18)


def reduce_computed_axes_opset18():
    g = Graph(71, [1, 3, 4, 4])
    g.node("Shape", ["x"], ["shape"])
    g.node("Shape", ["shape"], ["rank"])
    g.const("one", np.array([1], np.int64))
    g.node("Sub", ["rank", "one"], ["last_axis"])
    g.result(g.node("ReduceMean", ["x", "last_axis"], ["mean"]), np.zeros((1, 3, 4, 1)))
    return g.model("reduce_computed_axes_opset18", 18)


def groupnorm_opset18():
    g = Graph(73, [1, 4, 3, 3])
    g.const("scale", np.ones(4, np.float32))
    g.const("bias", np.zeros(4, np.float32))
    g.result(g.node("GroupNormalization", ["x", "scale", "bias"], ["normed"], num_groups=2), g.x)
    return g.model("groupnorm_opset18", 18)


def relu_opset19():
    g = Graph(72, [1, 3, 4, 4])
    g.result(g.node("Relu", ["x"], ["relu"]), np.maximum(g.x, 0))
    return g.model("relu_opset19", 19)


# Each returns (model, input, reference) and its count of nodes whose schema changed in 18.
MODELS = {
    "reduce_opset18": reduce_opset18,
    "split_opset18": split_opset18,
    "resize_opset18": resize_opset18,
    "pad_opset18": pad_opset18,
    "mish_opset18": mish_opset18,
    "scatter_opset18": scatter_opset18,
}
OLDER = [clip(7), clip(11), clip(13), pad(7), pad(11), split(7), split(11), split(13), squeeze(11),
         squeeze(13), upsample(7), upsample(9), resize(10), resize(11), resize(13), reducesum(11), reducesum(13)]
REFUSED = [resize_antialias_opset18(), reduce_computed_axes_opset18(), groupnorm_opset18(), relu_opset19()]


def main():
    args = case_files.arguments(__doc__)
    for name, make in MODELS.items():
        (model, x, expected), rewrites = make()
        onnx.save(model, str(args.out_dir / f"{name}.onnx"))
        case_files.save_arrays(args.out_dir, name, x, expected)
        print(name, f"rewrites={rewrites}")
    for model, x, expected in OLDER:
        onnx.save(model, str(args.out_dir / f"{model.graph.name}.onnx"))
        case_files.save_arrays(args.out_dir, model.graph.name, x, expected)
        print(model.graph.name)
    for model, _, _ in REFUSED:
        onnx.save(model, str(args.out_dir / f"{model.graph.name}.onnx"))
        print(model.graph.name, "refused")


if __name__ == "__main__":
    main()
