#!/usr/bin/env python3
"""Writes the fuzz corpus: small ONNX graphs, one per family of ops the converter maps or folds
(tests/fuzz/corpus/converter), and the inputs that once crashed it or made it allocate without
bound (tests/fuzz/crashes/converter). The model loader's corpus is these graphs converted by
vkbnn-convert (pass its path to write that too).

    make_corpus.py OUT_DIR [VKBNN_CONVERT]
"""

import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(15)


def floats(name, *shape, low=-1.0, high=1.0):
    return numpy_helper.from_array(rng.uniform(low, high, shape).astype(np.float32), name)


def ints(name, values, dtype=np.int64):
    return numpy_helper.from_array(np.array(values, dtype=dtype), name)


def model(nodes, inputs, outputs, initializers=(), opset=13):
    def info(name, shape):
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)

    graph = helper.make_graph(nodes, "fuzz", [info(*i) for i in inputs], [info(*o) for o in outputs],
                              list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=7)


def node(op, inputs, outputs, name=None, **attrs):
    return helper.make_node(op, inputs, outputs, name=name or outputs[0], **attrs)


def seeds():
    x4 = [("x", [1, 3, 8, 8])]
    yield "conv_relu", model(
        [node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]), node("Relu", ["c"], ["y"])],
        x4, [("y", [1, 4, 8, 8])], [floats("w", 4, 3, 3, 3), floats("b", 4)])
    yield "conv_bn_clip_stride_group", model(
        [node("Conv", ["x", "w"], ["c"], strides=[2, 2], group=3, kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
         node("BatchNormalization", ["c", "g", "be", "m", "v"], ["n"], epsilon=1e-3),
         node("Clip", ["n", "lo", "hi"], ["y"])],
        x4, [("y", [1, 6, 4, 4])],
        [floats("w", 6, 1, 3, 3), floats("g", 6, low=0.5, high=2), floats("be", 6), floats("m", 6),
         floats("v", 6, low=0.1, high=2), numpy_helper.from_array(np.float32(0), "lo"),
         numpy_helper.from_array(np.float32(6), "hi")])
    yield "flatten_gemm_softmax", model(
        [node("GlobalAveragePool", ["x"], ["p"]), node("Flatten", ["p"], ["f"]),
         node("Gemm", ["f", "w", "b"], ["g"], transB=1), node("Softmax", ["g"], ["y"], axis=1)],
        x4, [("y", [1, 5])], [floats("w", 5, 3), floats("b", 5)])
    yield "pools", model(
        [node("MaxPool", ["x"], ["a"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
         node("AveragePool", ["a"], ["b"], kernel_shape=[2, 2], strides=[2, 2], count_include_pad=1),
         node("GlobalMaxPool", ["b"], ["y"])],
        x4, [("y", [1, 3, 1, 1])])
    yield "broadcast_arith", model(
        [node("Add", ["x", "a"], ["s"]), node("Mul", ["s", "m"], ["t"]), node("Sub", ["t", "x"], ["u"]),
         node("Div", ["u", "d"], ["y"])],
        x4, [("y", [1, 3, 8, 8])], [floats("a", 1, 3, 1, 1), floats("m", 8), floats("d", 1, low=1, high=2)])
    yield "concat_pad", model(
        [node("Conv", ["x", "w"], ["c"]), node("Concat", ["x", "c"], ["k"], axis=1),
         node("Pad", ["k", "pads"], ["y"], mode="reflect")],
        x4, [("y", [1, 5, 10, 10])], [floats("w", 2, 3, 1, 1), ints("pads", [0, 0, 1, 1, 0, 0, 1, 1])])
    yield "pytorch_flatten", model(
        [node("Shape", ["x"], ["s"]), node("Gather", ["s", "zero"], ["n"], axis=0),
         node("Unsqueeze", ["n", "axes"], ["nu"]), node("Concat", ["nu", "minus_one"], ["target"], axis=0),
         node("Reshape", ["x", "target"], ["y"])],
        x4, [("y", [1, 192])],
        [ints("zero", 0), ints("axes", [0]), ints("minus_one", [-1])])
    yield "activations", model(
        [node("LeakyRelu", ["x"], ["a"], alpha=0.1), node("Sigmoid", ["a"], ["b"]),
         node("HardSigmoid", ["b"], ["c"], alpha=0.2, beta=0.5), node("HardSwish", ["c"], ["d"]),
         node("PRelu", ["d", "slope"], ["y"])],
        x4, [("y", [1, 3, 8, 8])], [floats("slope", 3, 1, 1)], opset=14)
    yield "matmul_reduce", model(
        [node("ReduceMax", ["x"], ["r"], axes=[2, 3], keepdims=0), node("MatMul", ["r", "w"], ["y"])],
        x4, [("y", [1, 4])], [floats("w", 3, 4)])
    alpha = rng.uniform(0.2, 1.0, (4, 1, 1, 1)).astype(np.float32)
    signs = np.where(rng.uniform(size=(4, 4, 3, 3)) > 0.5, 1.0, -1.0).astype(np.float32)
    binary = numpy_helper.from_array(signs * alpha, "w")
    x_bin = [("x", [1, 4, 8, 8])]
    yield "binary_conv", model(
        [node("Sign", ["x"], ["s"]), node("Conv", ["s", "w"], ["c"], pads=[1, 1, 1, 1]),
         node("PRelu", ["c", "slope"], ["y"])],
        x_bin, [("y", [1, 4, 8, 8])], [binary, floats("slope", 4, 1, 1)])
    yield "binary_elastic_link", model(
        [node("Sign", ["x"], ["s"]), node("Conv", ["s", "w"], ["c"], pads=[1, 1, 1, 1], strides=[2, 2]),
         node("AveragePool", ["x"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
         node("Mul", ["p", "gamma"], ["gp"]), node("Add", ["c", "gp"], ["y"])],
        x_bin, [("y", [1, 4, 4, 4])], [binary, floats("gamma", 1, 4, 1, 1)])
    yield "binary_link_tile_reshape", model(
        [node("Sign", ["x"], ["s"]), node("Conv", ["s", "w8"], ["c"], pads=[1, 1, 1, 1]),
         node("Tile", ["x", "reps"], ["t"]), node("Reshape", ["t", "shape"], ["r"]), node("Add", ["c", "r"], ["y"])],
        x_bin, [("y", [1, 8, 8, 8])],
        [numpy_helper.from_array(np.concatenate([signs * alpha, -signs * alpha]), "w8"), ints("reps", [1, 2, 1, 1]),
         ints("shape", [1, 8, 8, 8])])
    yield "movement_deconv_gather_matmul", model(
        [node("ConvTranspose", ["x", "wt", "bt"], ["u"], strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 1],
              group=3),
         node("DepthToSpace", ["u"], ["d"], blocksize=2, mode="CRD"), node("SpaceToDepth", ["d"], ["s"], blocksize=2),
         node("Gather", ["s", "idx"], ["g"], axis=1), node("Tile", ["g", "reps"], ["t"]),
         node("Reshape", ["t", "rs"], ["r"]), node("Transpose", ["r"], ["rt"], perm=[0, 2, 1]),
         node("MatMul", ["r", "rt"], ["y"])],
        x4, [("y", [1, 4, 4])],
        [floats("wt", 3, 4, 3, 3), floats("bt", 12), ints("idx", [[0, 2], [11, -1]]), ints("reps", [1, 1, 1, 2, 1]),
         ints("rs", [1, 4, 512])])
    scale = numpy_helper.from_array(np.float32(0.02), "scale")
    zero = numpy_helper.from_array(np.int8(0), "zero")
    wq = numpy_helper.from_array(rng.integers(-100, 100, (4, 3, 3, 3)).astype(np.int8), "wq")
    yield "qdq_conv", model(
        [node("QuantizeLinear", ["x", "scale", "zero"], ["xq"]), node("DequantizeLinear", ["xq", "scale", "zero"], ["xd"]),
         node("DequantizeLinear", ["wq", "wscale", "zero"], ["wd"]), node("Conv", ["xd", "wd"], ["c"]),
         node("Relu", ["c"], ["r"]), node("QuantizeLinear", ["r", "scale", "zero"], ["rq"]),
         node("DequantizeLinear", ["rq", "scale", "zero"], ["y"])],
        x4, [("y", [1, 4, 6, 6])], [scale, zero, wq, numpy_helper.from_array(np.float32(0.01), "wscale")])
    yield "qlinear_conv", model(
        [node("QuantizeLinear", ["x", "scale", "zero"], ["xq"]),
         node("QLinearConv", ["xq", "scale", "zero", "wq", "wscale", "zero", "scale", "zero"], ["yq"]),
         node("DequantizeLinear", ["yq", "scale", "zero"], ["y"])],
        x4, [("y", [1, 4, 6, 6])], [scale, zero, wq, numpy_helper.from_array(np.float32(0.01), "wscale")])
    yield "folded_shape_ops", model(
        [node("ConstantOfShape", ["cs"], ["ones"], value=helper.make_tensor("v", TensorProto.FLOAT, [1], [1.0])),
         node("Range", ["r0", "r1", "r2"], ["range"]), node("Cast", ["range"], ["rf"], to=TensorProto.FLOAT),
         node("Expand", ["rf", "eshape"], ["e"]), node("Transpose", ["e"], ["et"], perm=[0, 1, 3, 2]),
         node("Mul", ["ones", "et"], ["k"]), node("Add", ["x", "k"], ["y"])],
        x4, [("y", [1, 3, 8, 8])],
        [ints("cs", [1, 3, 8, 8]), ints("r0", 0), ints("r1", 8), ints("r2", 1), ints("eshape", [1, 3, 8, 8])])
    yield "folded_split_slice_where", model(
        [node("Split", ["data", "sizes"], ["a", "b"], axis=0), node("Slice", ["b", "st", "en", "ax", "sp"], ["sl"]),
         node("Equal", ["sl", "sl"], ["eq"]), node("Where", ["eq", "sl", "a"], ["w"]),
         node("Unsqueeze", ["w", "uax"], ["wu"]), node("Squeeze", ["wu", "uax"], ["ws"]),
         node("Reshape", ["ws", "rs"], ["wr"]), node("Add", ["x", "wr"], ["y"])],
        x4, [("y", [1, 3, 8, 8])],
        [floats("data", 11, 1, 1), ints("sizes", [3, 8]), ints("st", [0]), ints("en", [8]), ints("ax", [0]),
         ints("sp", [3]), ints("uax", [0]), ints("rs", [1, 3, 1, 1])])
    yield "sqrt_pow_reciprocal", model(
        [node("Abs", ["c"], ["a"]), node("Sqrt", ["a"], ["s"]), node("Pow", ["s", "two"], ["p"]),
         node("Reciprocal", ["p"], ["r"]), node("Neg", ["r"], ["n"]), node("Floor", ["n"], ["f"]),
         node("Ceil", ["f"], ["ce"]), node("Min", ["ce", "c"], ["mn"]), node("Max", ["mn", "c"], ["mx"]),
         node("ReduceSum", ["mx", "rax"], ["rs"], keepdims=1), node("Add", ["x", "rs"], ["y"])],
        x4, [("y", [1, 3, 8, 8])],
        [floats("c", 1, 3, 1, 1, low=0.5, high=2), numpy_helper.from_array(np.float32(2), "two"), ints("rax", [0])])
    yield "opset11_squeeze_attr", model(
        [node("Unsqueeze", ["x"], ["u"], axes=[0]), node("Squeeze", ["u"], ["s"], axes=[0]),
         node("Identity", ["s"], ["i"]), node("Dropout", ["i"], ["y"])],
        x4, [("y", [1, 3, 8, 8])], opset=11)
    # Rewritten into opset 17 before the checker: Split by num_outputs (uneven), Pad, Resize and
    # Reduce axes, Mish.
    yield "opset18_rewrites", model(
        [node("Split", ["x"], ["a", "b"], axis=1, num_outputs=2), node("Concat", ["b", "a"], ["c"], axis=1),
         node("Pad", ["c", "pads", "", "pax"], ["p"]), node("ReduceMean", ["p", "rax"], ["m"], keepdims=1),
         node("Resize", ["c", "", "sc"], ["r"], axes=[3]), node("ReduceMax", ["r", "rax"], ["rm"], keepdims=1),
         node("Add", ["c", "m"], ["s"]), node("Add", ["s", "rm"], ["t"]), node("Mish", ["t"], ["y"])],
        x4, [("y", [1, 3, 8, 8])],
        [ints("pads", [1, 2]), ints("pax", [-1]), ints("rax", [3]), numpy_helper.from_array(np.float32([2]), "sc")],
        opset=18)
    # At run time: comparisons, logic and Where on masks that broadcast against each other,
    # integer arithmetic on ArgMax's indices and a Cast that wraps into int8.
    yield "runtime_logic_integer", model(
        [node("ReduceMean", ["x"], ["rows"], axes=[3], keepdims=1), node("ReduceMax", ["x"], ["cols"], axes=[2], keepdims=1),
         node("Greater", ["rows", "cols"], ["gt"]), node("Less", ["x", "t"], ["lt"]), node("Not", ["lt"], ["ge"]),
         node("And", ["gt", "ge"], ["both"]), node("Xor", ["both", "lt"], ["mask"]),
         node("Where", ["mask", "x", "rows"], ["w"]), node("ArgMax", ["w"], ["i"], axis=1, keepdims=1),
         node("Mul", ["i", "k"], ["ik"]), node("Mod", ["ik", "m"], ["im"]), node("Cast", ["im"], ["i8"], to=TensorProto.INT8),
         node("Cast", ["i8"], ["f"], to=TensorProto.FLOAT), node("Sub", ["rows", "cols"], ["d"]),
         node("Mul", ["d", "f"], ["y"])],
        x4, [("y", [1, 3, 8, 8])], [floats("t", 1, 3, 1, 1), ints("k", [97]), ints("m", [1000])])
    yield "norms_erf_tanh", model(
        [node("LayerNormalization", ["x", "g", "b"], ["l"], axis=-1, epsilon=1e-5), node("Erf", ["l"], ["e"]),
         node("InstanceNormalization", ["e", "s", "sb"], ["n"]), node("Tanh", ["n"], ["y"])],
        x4, [("y", [1, 3, 8, 8])], [floats("g", 8), floats("b", 8), floats("s", 3), floats("sb", 3)], opset=17)


def hostile():
    """Inputs that crashed vkbnn-convert, made it allocate without bound or write a file the engine
    refused (issue 15); the converter must refuse each with a vkbnn error."""
    x = [("x", [1, 1])]
    y = [("y", [1, 1])]
    yield "gather_index_out_of_range", model(
        [node("Gather", ["d", "i"], ["g"]), node("Add", ["x", "g"], ["y"])], x, y,
        [floats("d", 3), ints("i", [7])])
    yield "reshape_grows_into_link", model(
        [node("Sign", ["x"], ["s"]), node("Conv", ["s", "w"], ["c"]), node("Reshape", ["x", "t"], ["r"]),
         node("Slice", ["r", "st", "en", "ax"], ["l"]), node("Add", ["c", "l"], ["y"])],
        [("x", [1, 2, 4, 4])], [("y", [1, 2, 4, 4])],
        [numpy_helper.from_array(np.array([0.5, -0.5, 0.25, 0.25], np.float32).reshape(2, 2, 1, 1), "w"),
         ints("t", [1, 2, 8, 4]), ints("st", [0]), ints("en", [4]), ints("ax", [2])])
    yield "conv_stride_zero", model(
        [node("Conv", ["x", "w"], ["y"], strides=[0, 1])], [("x", [1, 2, 5, 5])], [("y", [1, 2, "h", "w"])],
        [floats("w", 2, 2, 3, 3)])
    short = TensorProto(name="c", data_type=TensorProto.FLOAT, dims=[1], raw_data=b"ab")
    yield "raw_data_short", model([node("Add", ["x", "c"], ["y"])], x, y, [short])
    for power in (28, 40):
        yield f"constant_of_shape_2_{power}", model(
            [node("ConstantOfShape", ["s"], ["z"]), node("Add", ["x", "z"], ["y"])], x, [("y", ["n", 1])],
            [ints("s", [2 ** power, 1])])
    yield "split_sizes_overflow", model(
        [node("Split", ["d", "s"], ["a", "b"]), node("Add", ["x", "b"], ["y"])], x, y,
        [floats("d", 4), ints("s", [2 ** 63 - 1, 2])])
    yield "input_dim_2_40", model([node("Relu", ["x"], ["y"])], [("x", [1, 2 ** 40])], [("y", [1, 2 ** 40])])
    yield "conv_channels_mismatch", model(
        [node("Conv", ["x", "w"], ["y"])], [("x", [1, 3, 4, 4])], [("y", [1, 2, 4, 4])], [floats("w", 2, 5, 1, 1)])
    yield "opset18_pad_axis_out_of_range", model(
        [node("Pad", ["x", "pads", "", "pax"], ["y"])], x, y, [ints("pads", [1, 1]), ints("pax", [2 ** 62])], opset=18)
    yield "no_outputs", model([node("Relu", ["x"], ["y"])], x, [])
    yield "no_inputs", model([node("Relu", ["c"], ["y"])], [], [("y", [1])], [floats("c", 1)])
    yield "qdq_pool_multiplier", model(
        [node("QuantizeLinear", ["x", "big", "zero"], ["xq"]), node("DequantizeLinear", ["xq", "big", "zero"], ["xd"]),
         node("GlobalAveragePool", ["xd"], ["p"], name="pool"), node("QuantizeLinear", ["p", "small", "zero"], ["pq"]),
         node("DequantizeLinear", ["pq", "small", "zero"], ["y"])],
        [("x", [1, 2, 2, 2])], [("y", [1, 2, 1, 1])],
        [numpy_helper.from_array(np.float32(1e6), "big"), numpy_helper.from_array(np.float32(1e-6), "small"),
         numpy_helper.from_array(np.int8(0), "zero")])


def main():
    out = sys.argv[1]
    convert = sys.argv[2] if len(sys.argv) > 2 else None
    for kind, graphs in (("corpus", seeds()), ("crashes", hostile())):
        folder = os.path.join(out, kind, "converter")
        os.makedirs(folder, exist_ok=True)
        for name, m in graphs:
            path = os.path.join(folder, name + ".onnx")
            with open(path, "wb") as f:
                f.write(m.SerializeToString())
            if convert and kind == "corpus":
                models = os.path.join(out, "corpus", "model_loader")
                os.makedirs(models, exist_ok=True)
                r = subprocess.run([convert, path, "-o", os.path.join(models, name + ".vkbnn")],
                                   capture_output=True, text=True)
                if r.returncode != 0:
                    sys.exit(f"{name}: {r.stderr.strip()}")


if __name__ == "__main__":
    main()
