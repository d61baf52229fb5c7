"""Exports small fp32 networks with random weights for the int8 quantization tests.

Variants: "mbv2" (inverted residuals: 1x1 expand, depthwise 3x3 at stride 1 and 2, linear 1x1
projection, residual adds, ReLU6, global average pooling, a classifier), "cnn" (conv, ReLU,
max pooling, flatten into a classifier), "mixed" (SqueezeNet fire modules, whose Concat, an
average pool and a HardSwish have no int8 form, between int8 layers) and "bnn" (a binarized
network whose real edges become int8: a real stem with max pooling, binary blocks with
Elastic-Link (training/bnn_modules.py), a Bi-Real downsampling block whose real shortcut is
average pooling + 1x1 conv + BN, global average pooling and a real classifier; RSign thresholds,
EL gammas and RPReLU shifts randomized). BatchNorm statistics are randomized so that folding
them wrongly shows. The input is one-channel so that the IDX calibration images feed it as they
are.

Writes to --out-dir, per variant: <variant>.onnx; and once: calib.idx (random smooth images at
the input size, for calibration), <variant>.input.npy (held-out images, scaled to [0, 1] as
vkbnn's preprocessing does without --mean/--std) and <variant>.expected.npy (PyTorch's fp32
outputs for them). Prints the variant names, one per line.
"""

import argparse
from pathlib import Path

import sys

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "training"))
from bnn_modules import BinaryConv2d, Block, RPReLU, RSign, set_binary_weights  # noqa: E402
from make_bnn_onnx import randomize as randomize_bnn  # noqa: E402

SIZE = 24
CALIBRATION = 48
HELD_OUT = 8


def conv_bn(cin, cout, k, stride=1, groups=1, act=True):
    layers = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    if act:
        layers.append(nn.ReLU6())
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = cin * expand
        self.residual = stride == 1 and cin == cout
        self.body = nn.Sequential(conv_bn(cin, hidden, 1), conv_bn(hidden, hidden, 3, stride, hidden),
                                  conv_bn(hidden, cout, 1, act=False))

    def forward(self, x):
        return x + self.body(x) if self.residual else self.body(x)


def mbv2():
    return nn.Sequential(conv_bn(1, 8, 3), InvertedResidual(8, 8, 1, 3), InvertedResidual(8, 12, 2, 4),
                         InvertedResidual(12, 12, 1, 4), InvertedResidual(12, 20, 2, 3),
                         InvertedResidual(20, 20, 1, 3), conv_bn(20, 40, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(40, 10))


class Cnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 12, 3, padding=1)
        self.conv2 = nn.Conv2d(12, 20, 3, padding=1)
        self.fc = nn.Linear(20 * (SIZE // 4) ** 2, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc(torch.flatten(x, 1))


class Fire(nn.Module):
    def __init__(self, cin, squeeze, expand):
        super().__init__()
        self.squeeze = nn.Conv2d(cin, squeeze, 1)
        self.expand1 = nn.Conv2d(squeeze, expand, 1)
        self.expand3 = nn.Conv2d(squeeze, expand, 3, padding=1)

    def forward(self, x):
        s = F.relu(self.squeeze(x))
        return torch.cat([F.relu(self.expand1(s)), F.relu(self.expand3(s))], 1)


def mixed():
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), Fire(16, 8, 12), nn.AvgPool2d(2),
                         Fire(24, 8, 16), nn.Conv2d(32, 24, 1), nn.Hardswish(), nn.Conv2d(24, 24, 3, padding=1),
                         nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(24, 10))


class BiRealDown(nn.Module):
    """RPReLU(BN(BinaryConv_s2(RSign(x))) + BN(Conv1x1(AvgPool(x)))): the real downsampling
    shortcut of Bi-Real Net / ReActNet, an ordinary residual add the converter keeps real."""

    def __init__(self, cin, cout):
        super().__init__()
        self.sign = RSign(cin)
        self.conv = BinaryConv2d(cin, cout, 3, 2, 1, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential(nn.AvgPool2d(2), nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout))
        self.act = RPReLU(cout)

    def forward(self, x):
        return self.act(self.bn(self.conv(self.sign(x))) + self.shortcut(x))


def bnn():
    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
                         Block(32, 32, 3, 1), BiRealDown(32, 64), Block(64, 64, 3, 1), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(64, 10))


def randomize_batchnorm(model, generator):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=generator) * 0.2)
            m.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=generator) + 0.5)
            m.bias.data.copy_(torch.randn(n, generator=generator) * 0.2)


def smooth_images(count, generator):
    """Random blobs rather than noise, so activations look like those of real images."""
    coarse = torch.rand(count, 1, SIZE // 4, SIZE // 4, generator=generator)
    images = F.interpolate(coarse, size=(SIZE, SIZE), mode="bilinear", align_corners=False)
    return (images * 255).round().clamp(0, 255).to(torch.uint8)


def write_idx(path, images):
    count = images.shape[0]
    header = bytes([0, 0, 8, 3]) + b"".join(int(v).to_bytes(4, "big") for v in (count, SIZE, SIZE))
    path.write_bytes(header + images.numpy().tobytes())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out-dir", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    generator = torch.Generator().manual_seed(args.seed)
    torch.manual_seed(args.seed)

    images = smooth_images(CALIBRATION + HELD_OUT, generator)
    write_idx(args.out_dir / "calib.idx", images[:CALIBRATION])
    held_out = images[CALIBRATION:].float() / 255.0
    for name, build in (("mbv2", mbv2), ("cnn", Cnn), ("mixed", mixed), ("bnn", bnn)):
        model = build()
        randomize_batchnorm(model, generator)
        if name == "bnn":
            set_binary_weights(model, True)
            with torch.no_grad():
                randomize_bnn(model, generator)
        model.eval()
        with torch.no_grad():
            expected = model(held_out)
        torch.onnx.export(model, held_out[:1], str(args.out_dir / f"{name}.onnx"), opset_version=13,
                          input_names=["input"], output_names=["logits"])
        np.save(args.out_dir / f"{name}.input.npy", held_out.numpy())
        np.save(args.out_dir / f"{name}.expected.npy", expected.numpy())
        print(name)


if __name__ == "__main__":
    main()
