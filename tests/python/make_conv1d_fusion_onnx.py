"""Exports 1-D CNNs whose convolutions are followed by BatchNorm1d and activations (ReLU, ReLU6,
SiLU, Sigmoid), with pooling between them, to ONNX (torch.onnx.export, opset 13), with random
weights, BatchNorm statistics and input and PyTorch's output.

Writes <name>.onnx, <name>.input.npy and <name>.expected.npy to --out-dir and prints one line per
model: its name, then the ONNX op types its graph holds.
"""

import torch
from torch import nn

import case_files


def prepare(module):
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.BatchNorm1d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
    return module


def modules():
    return {
        # conv-BN-ReLU, depthwise conv-ReLU6, MaxPool1d, pointwise conv-Sigmoid: 4 layers
        # between the Reshapes in and out.
        "conv1d_bn_relu": (nn.Sequential(
            nn.Conv1d(6, 8, 5, padding=2), nn.BatchNorm1d(8), nn.ReLU(),
            nn.Conv1d(8, 8, 3, padding=1, groups=8), nn.ReLU6(),
            nn.MaxPool1d(2),
            nn.Conv1d(8, 4, 1), nn.Sigmoid()), (2, 6, 32)),
        # strided conv without bias, BN, SiLU (spelled x * sigmoid(x) by the export).
        "conv1d_bn_silu": (nn.Sequential(
            nn.Conv1d(3, 5, 3, stride=2, bias=False), nn.BatchNorm1d(5), nn.SiLU()), (1, 3, 41)),
    }


def main():
    args = case_files.arguments(__doc__, seed=True)
    torch.manual_seed(args.seed)
    for name, (module, shape) in modules().items():
        module = prepare(module).eval()
        x = torch.randn(*shape)
        with torch.no_grad():
            y = module(x)
        path = args.out_dir / f"{name}.onnx"
        # PRESERVE keeps BatchNormalization in the graph (in inference form): the export folds it
        # into the convolution otherwise, and the converter is what should.
        torch.onnx.export(module, x, str(path), opset_version=13, input_names=["input"], output_names=["output"],
                          training=torch.onnx.TrainingMode.PRESERVE)
        case_files.save_arrays(args.out_dir, name, x.numpy(), y.numpy())
        print(name, *case_files.op_types(path))


if __name__ == "__main__":
    main()
