"""Writes ONNX graphs whose Mod and ScatterND nodes compute on constants, with NumPy references.

The converter folds such nodes (Swin's shifted-window mask is built from them once the input size
is fixed). Each graph adds the folded result to its input, so that the model runs and its output
shows the folded values:

  mod_int64, mod_int64_fmod: random int64 dividends and nonzero divisors of both signs, broadcast
      [3, 4] by [4]; fmod=0 takes the divisor's sign (numpy.mod), fmod=1 the dividend's (numpy.fmod).
  mod_int32: the same in int32, fmod=0.
  mod_float: random floats, fmod=1 (numpy.fmod).
  scatter_nd_slabs, scatter_nd_rows, scatter_nd_elements: ScatterND into [4, 3, 5] data with index
      tuples of 1, 2 and 3 components (whole [3, 5] slabs, [5] rows, single elements from a
      [2, 2, 3] index array), negative indices among them, reduction none (opset 13).
  scatter_nd_add, scatter_nd_mul: reductions add and mul (opset 16) with repeated indices.

Writes <name>.onnx, <name>.input.npy and <name>.expected.npy to --out-dir and prints one line per
graph: its name.
"""

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import case_files


def scatter_nd(data, indices, updates, reduction):
    """ONNX's ScatterND as its specification writes it: one update per index tuple, in order."""
    out = np.copy(data)
    for idx in np.ndindex(indices.shape[:-1]):
        target = tuple(indices[idx])
        if reduction == "add":
            out[target] += updates[idx]
        elif reduction == "mul":
            out[target] *= updates[idx]
        else:
            out[target] = updates[idx]
    return out


def model(name, nodes, initializers, shape, opset):
    """x + folded: the nodes compute `folded` from the initializers alone."""
    graph = helper.make_graph(
        nodes + [helper.make_node("Add", ["x", "folded_float"], ["y"])], name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)],
        [numpy_helper.from_array(v, k) for k, v in initializers.items()])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(m)
    return m


def to_float(source):
    return helper.make_node("Cast", [source], ["folded_float"], to=TensorProto.FLOAT)


def nonzero_ints(rng, shape, limit, dtype):
    values = rng.integers(1, limit + 1, size=shape) * rng.choice([-1, 1], size=shape)
    return values.astype(dtype)


def graphs(rng):
    out = {}
    for name, dtype, fmod in (("mod_int64", np.int64, 0), ("mod_int64_fmod", np.int64, 1),
                              ("mod_int32", np.int32, 0)):
        a = rng.integers(-50, 51, size=(3, 4)).astype(dtype)
        b = nonzero_ints(rng, (4,), 9, dtype)
        folded = (np.fmod(a, b) if fmod else np.mod(a, b)).astype(np.float32)
        nodes = [helper.make_node("Mod", ["a", "b"], ["folded"], fmod=fmod), to_float("folded")]
        out[name] = (model(name, nodes, {"a": a, "b": b}, [3, 4], 13), folded)

    a = (rng.standard_normal((3, 4)) * 10).astype(np.float32)
    b = (rng.uniform(0.5, 4.0, size=(3, 4)) * rng.choice([-1, 1], size=(3, 4))).astype(np.float32)
    nodes = [helper.make_node("Mod", ["a", "b"], ["folded_float"], fmod=1)]
    out["mod_float"] = (model("mod_float", nodes, {"a": a, "b": b}, [3, 4], 13), np.fmod(a, b))

    data = rng.standard_normal((4, 3, 5)).astype(np.float32)
    cases = {
        "scatter_nd_slabs": (np.array([[2], [-4]]), "none", 13),
        "scatter_nd_rows": (np.array([[0, 2], [3, -1], [1, 0]]), "none", 13),
        "scatter_nd_elements": (np.array([[[0, 0, 4], [3, 2, -1]], [[1, 1, 1], [-2, 0, 3]]]), "none", 13),
        "scatter_nd_add": (np.array([[1, 2], [3, 0], [1, 2]]), "add", 16),
        "scatter_nd_mul": (np.array([[0, 1, 2], [0, 1, 2], [3, 0, 4]]), "mul", 16),
    }
    for name, (indices, reduction, opset) in cases.items():
        indices = indices.astype(np.int64)
        updates = rng.standard_normal(indices.shape[:-1] + data.shape[indices.shape[-1]:]).astype(np.float32)
        attributes = {"reduction": reduction} if opset >= 16 else {}
        nodes = [helper.make_node("ScatterND", ["data", "indices", "updates"], ["folded_float"], **attributes)]
        folded = scatter_nd(data, indices, updates, reduction)
        out[name] = (model(name, nodes, {"data": data, "indices": indices, "updates": updates}, list(data.shape),
                           opset), folded)
    return out


def main():
    args = case_files.arguments(__doc__, seed=True)
    rng = np.random.default_rng(args.seed)
    for name, (m, folded) in graphs(rng).items():
        x = rng.standard_normal(folded.shape).astype(np.float32)
        onnx.save(m, str(args.out_dir / f"{name}.onnx"))
        case_files.save_arrays(args.out_dir, name, x, x + folded)
        print(name)


if __name__ == "__main__":
    main()
