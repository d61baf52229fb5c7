"""Exports a binarized ResNet-18 with Elastic-Link, random weights, to ONNX for benchmarking.

ResNet-18's layout at 224x224: the real 7x7 stem, max pool, then four stages of two basic blocks
(64, 128, 256, 512 channels), where every 3x3 convolution is a binary one in the Bi-Real /
ReActNet manner, y = RPReLU(BN(BinaryConv(RSign(x))) + gamma * R(x)), R average-pooling and
expanding the channels at the first convolution of stages 2-4; then global average pooling and
the real classifier. Writes binary_resnet18.onnx to --out-dir.
"""

import argparse
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))
from bnn_modules import Block, set_binary_weights  # noqa: E402


def binary_resnet18():
    layers = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1)]
    channels = 64
    for stage, width in enumerate([64, 128, 256, 512]):
        for block in range(2):
            stride = 2 if stage > 0 and block == 0 else 1
            # Each basic block's two 3x3 convolutions, each with its own link.
            layers += [Block(channels, width, 3, stride, group_order="strided"), Block(width, width, 3, 1)]
            channels = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 1000)]
    return nn.Sequential(*layers)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out-dir", required=True, type=Path)
    parser.add_argument("--size", type=int, default=224)
    args = parser.parse_args()
    torch.manual_seed(0)
    model = binary_resnet18()
    set_binary_weights(model, True)
    model.eval()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(model, torch.randn(1, 3, args.size, args.size), str(args.out_dir / "binary_resnet18.onnx"),
                      opset_version=13, input_names=["input"], output_names=["output"])


if __name__ == "__main__":
    main()
