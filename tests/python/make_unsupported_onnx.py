"""Writes a valid ONNX model whose second node (LpNormalization, named my_unsupported_node) vkbnn lacks."""

import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def main():
    weight = numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32), "weight")
    nodes = [
        helper.make_node("Conv", ["input", "weight"], ["conv"], name="conv0", pads=[1, 1, 1, 1]),
        helper.make_node("LpNormalization", ["conv"], ["output"], name="my_unsupported_node"),
    ]
    graph = helper.make_graph(
        nodes, "unsupported",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 4, 8, 8])],
        [weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    onnx.save(model, sys.argv[1])


if __name__ == "__main__":
    main()
