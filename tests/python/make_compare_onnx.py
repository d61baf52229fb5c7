"""Exports a small fp32 network with random weights for the vkbnn-compare tests, twice: as it is
(compare.onnx) and with one weight of one convolution changed (perturbed.onnx), so that a model
converted from the second departs from the first exactly from that convolution on.

The network mixes what the converter fuses and what it keeps: Conv + BatchNorm + ReLU, max
pooling, a residual Add, HardSwish, Concat, Sigmoid, average pooling, Flatten into Gemm, Softmax.
BatchNorm statistics are randomized so that folding them wrongly shows.

Writes to --out-dir: compare.onnx, perturbed.onnx, and perturbed.json naming the ONNX values
that the perturbed convolution computes directly (its output and the ReLU after it), one of
which must be the first departure, and the ONNX values computed before it. And qdq.onnx, a model
quantized elsewhere (QuantizeLinear, QLinearConv with per-channel weight scales and a bias,
DequantizeLinear, Relu) with random int8 weights, built with onnx.helper.
"""

import argparse
import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 1, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.pool = nn.MaxPool2d(2)
        self.body = nn.Conv2d(8, 8, 3, 1, 1)
        self.body_act = nn.ReLU()
        self.branch_a = nn.Conv2d(8, 6, 1)
        self.branch_b = nn.Conv2d(8, 4, 3, 2, 1)
        self.head_pool = nn.AvgPool2d(2)
        self.fc = nn.Linear(10 * 2 * 2, 7)

    def forward(self, x):
        x = self.pool(self.stem(x))
        x = x + self.body_act(self.body(x))
        a = nn.functional.hardswish(nn.functional.max_pool2d(self.branch_a(x), 2))
        b = torch.sigmoid(self.branch_b(x))
        y = self.head_pool(torch.cat([a, b], dim=1))
        return torch.softmax(self.fc(torch.flatten(y, 1)), dim=1)


def qdq_model(seed):
    rs = np.random.RandomState(seed)
    arrays = {
        "xs": np.array(0.02, np.float32), "xz": np.array(3, np.int8),
        "wq": rs.randint(-100, 100, (6, 4, 3, 3)).astype(np.int8),
        "ws": rs.uniform(0.005, 0.02, 6).astype(np.float32), "wz": np.zeros(6, np.int8),
        "ys": np.array(0.05, np.float32), "yz": np.array(-2, np.int8),
        "bias": rs.randint(-500, 500, 6).astype(np.int32),
    }
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"], name="quantize"),
        helper.make_node("QLinearConv", ["xq", "xs", "xz", "wq", "ws", "wz", "ys", "yz", "bias"], ["yq"], name="qconv",
                         pads=[1, 1, 1, 1]),
        helper.make_node("DequantizeLinear", ["yq", "ys", "yz"], ["y"], name="dequantize"),
        helper.make_node("Relu", ["y"], ["out"], name="relu"),
    ]
    graph = helper.make_graph(nodes, "qdq", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])],
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 6, 8, 8])],
                              [numpy_helper.from_array(v, k) for k, v in arrays.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    return model


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out-dir", required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)

    torch.manual_seed(args.seed)
    net = Net()
    with torch.no_grad():
        bn = net.stem[1]
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.3, 0.3)
    net.eval()
    path = out / "compare.onnx"
    torch.onnx.export(net, torch.randn(1, 3, 16, 16), str(path), input_names=["input"], output_names=["probs"],
                      opset_version=13, do_constant_folding=True)

    model = onnx.load(str(path))
    graph = model.graph
    # The body convolution: the only one whose input is the max pool's output and whose weight is 8x8x3x3.
    inits = {i.name: i for i in graph.initializer}
    pool_out = next(n.output[0] for n in graph.node if n.op_type == "MaxPool")
    conv = next(n for n in graph.node
                if n.op_type == "Conv" and n.input[0] == pool_out and list(inits[n.input[1]].dims) == [8, 8, 3, 3])
    weight = numpy_helper.to_array(inits[conv.input[1]]).copy()
    weight[3, 5, 1, 2] += 0.5
    inits[conv.input[1]].CopyFrom(numpy_helper.from_array(weight, conv.input[1]))
    relu = next(n for n in graph.node if n.op_type == "Relu" and n.input[0] == conv.output[0])
    onnx.save(model, str(out / "perturbed.onnx"))

    position = list(graph.node).index(conv)
    before = [o for n in graph.node[:position] for o in n.output]
    onnx.save(qdq_model(args.seed), str(out / "qdq.onnx"))
    (out / "perturbed.json").write_text(json.dumps(
        {"departing": [conv.output[0], relu.output[0]], "before": ["input"] + before}))


if __name__ == "__main__":
    main()
