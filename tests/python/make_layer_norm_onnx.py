"""Writes models with layer, group and instance normalizations and reductions, with their reference outputs.

  torch_layer_norm: a PyTorch module exported by torch.onnx.export at opset 13, which spells
      nn.LayerNorm as ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add: a ConvNeXt-style
      LayerNorm over the channels (between permutes), one over H and W of an NCHW tensor, and
      torch.amax / torch.mean over axis sets; the reference is PyTorch's output.
  helper_layer_norm: the same normalization written with onnx.helper in another spelling
      (Mul(d, d) for the square, Reciprocal(Sqrt) and Mul for the division, the epsilon added
      on the left, the affine as Add(Mul(scale, n), bias) with a scale of shape [1, C]); the
      reference is NumPy's.
  torch_layer_norm_17: the same module exported at opset 17, where nn.LayerNorm is one
      LayerNormalization node.
  helper_not_layer_norm: a near miss, (x - mean) / (sqrt(var) + eps) with eps = 0.01, which must
      not be fused and must still run as its ops.
  helper_not_layer_norm_axis: another, of batch 1, the variance's mean taken over axes 1 and 2
      instead of the last.
  torch_group_norm: nn.GroupNorm, nn.InstanceNorm2d (affine) and nn.InstanceNorm1d exported at
      opset 13 (GroupNorm as Reshape, InstanceNormalization, Reshape, Mul, Add).

Writes <name>.onnx, <name>.input.npy and <name>.expected.npy to --out-dir and prints the names.
"""

import argparse
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper


class Blocks(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 16, 3, padding=1)
        self.norm_c = torch.nn.LayerNorm(16, eps=1e-6)
        self.norm_hw = torch.nn.LayerNorm([8, 8])
        self.conv2 = torch.nn.Conv2d(16, 8, 1)
        with torch.no_grad():
            for norm in (self.norm_c, self.norm_hw):
                norm.weight.copy_(torch.randn_like(norm.weight))
                norm.bias.copy_(torch.randn_like(norm.bias))

    def forward(self, x):
        h = self.conv1(x)
        h = self.norm_c(h.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        h = self.norm_hw(h)
        h = h + torch.amax(h, dim=1, keepdim=True) - torch.mean(h, dim=(1, 3), keepdim=True)
        return self.conv2(h)


class Groups(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 12, 3, padding=1)
        self.group = torch.nn.GroupNorm(4, 12, eps=1e-4)
        self.instance = torch.nn.InstanceNorm2d(12, affine=True)
        self.instance_1d = torch.nn.InstanceNorm1d(12)
        with torch.no_grad():
            for norm in (self.group, self.instance):
                norm.weight.copy_(torch.randn_like(norm.weight))
                norm.bias.copy_(torch.randn_like(norm.bias))

    def forward(self, x):
        h = self.instance(self.group(self.conv(x)) * 2 + 1)
        return self.instance_1d(h.flatten(2) * 3)


def torch_export(out_dir, name, model, x, opset):
    model.eval()
    # InstanceNorm without running statistics always normalizes by the batch's own; the exporter
    # warns that it exports it as in training mode, which is what eval mode computes too.
    warnings.filterwarnings("ignore", message=".*'instance_norm' is set to train=True")
    torch.onnx.export(model, x, str(out_dir / (name + ".onnx")), opset_version=opset)
    with torch.no_grad():
        y = model(x)
    return x.numpy(), y.numpy()


def torch_layer_norm(out_dir, name, opset):
    torch.manual_seed(12)
    return torch_export(out_dir, name, Blocks(), torch.randn(1, 3, 8, 8), opset)


def torch_group_norm(out_dir):
    torch.manual_seed(13)
    return torch_export(out_dir, "torch_group_norm", Groups(), torch.randn(2, 3, 7, 9), 13)


def helper_graph(out_dir, name, spelling, rng):
    """spelling: "fused" (a layer normalization), "eps_outside" or "var_axis" (near misses)."""
    c = 24
    x = rng.standard_normal((1 if spelling == "var_axis" else 2, 5, c)).astype(np.float32) * 3 + 1
    scale = rng.standard_normal((1, c)).astype(np.float32)
    bias = rng.standard_normal((c,)).astype(np.float32)
    eps = np.float32(1e-3 if spelling != "eps_outside" else 1e-2)
    inits = [numpy_helper.from_array(scale, "scale"), numpy_helper.from_array(bias, "bias"),
             numpy_helper.from_array(np.array(eps, np.float32), "eps")]
    nodes = [helper.make_node("ReduceMean", ["x"], ["mean"], axes=[-1]),
             helper.make_node("Sub", ["x", "mean"], ["d"]),
             helper.make_node("Mul", ["d", "d"], ["sq"]),
             helper.make_node("ReduceMean", ["sq"], ["var"], axes=[1, 2] if spelling == "var_axis" else [2])]
    if spelling != "eps_outside":
        nodes += [helper.make_node("Add", ["eps", "var"], ["var_eps"]),
                  helper.make_node("Sqrt", ["var_eps"], ["std"])]
    else:
        nodes += [helper.make_node("Sqrt", ["var"], ["sd"]),
                  helper.make_node("Add", ["sd", "eps"], ["std"])]
    nodes += [helper.make_node("Reciprocal", ["std"], ["inv"]),
              helper.make_node("Mul", ["d", "inv"], ["n"]),
              helper.make_node("Mul", ["scale", "n"], ["scaled"]),
              helper.make_node("Add", ["scaled", "bias"], ["y"])]
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape))],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(x.shape))], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    onnx.save(model, str(out_dir / (name + ".onnx")))
    x64 = x.astype(np.float64)
    d = x64 - x64.mean(axis=-1, keepdims=True)
    var = (d * d).mean(axis=(1, 2) if spelling == "var_axis" else -1, keepdims=True)
    std = np.sqrt(var) + eps if spelling == "eps_outside" else np.sqrt(var + eps)
    return x, (d / std * scale + bias).astype(np.float32)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out-dir", required=True)
    args = parser.parse_args()
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1201)
    made = {"torch_layer_norm": torch_layer_norm(out_dir, "torch_layer_norm", 13),
            "torch_layer_norm_17": torch_layer_norm(out_dir, "torch_layer_norm_17", 17),
            "helper_layer_norm": helper_graph(out_dir, "helper_layer_norm", "fused", rng),
            "helper_not_layer_norm": helper_graph(out_dir, "helper_not_layer_norm", "eps_outside", rng),
            "helper_not_layer_norm_axis": helper_graph(out_dir, "helper_not_layer_norm_axis", "var_axis", rng),
            "torch_group_norm": torch_group_norm(out_dir)}
    for name, (x, y) in made.items():
        np.save(out_dir / (name + ".input.npy"), x)
        np.save(out_dir / (name + ".expected.npy"), y)
        print(name)


if __name__ == "__main__":
    main()
