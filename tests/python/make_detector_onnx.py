"""Exports a small YOLO-style detector with random weights to ONNX, with an input and PyTorch's outputs.

Written the way single-stage detectors are (after YOLOv5's published structure, not its code):
Conv-BatchNorm-SiLU units, CSP blocks (two branches, bottlenecks with residuals, Concat, a fusing
convolution), an SPPF block (three chained 5x5 max pools and a Concat), a top-down and bottom-up
feature pyramid (nearest Upsample, Concat, strided convolutions) and a detection head per scale
that reshapes its channels to (anchors, 5 + classes), moves them last with a Transpose, applies
a sigmoid and decodes boxes against a grid and anchors, concatenating all scales into one
(1, boxes, 5 + classes) output. A second output is the raw head of the finest scale.

Writes detector.onnx, detector.input.npy, detector.expected0.npy and detector.expected1.npy.
"""

import argparse
from pathlib import Path

import numpy as np
import torch
from torch import nn


class ConvUnit(nn.Module):
    def __init__(self, cin, cout, k=1, s=1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, s, k // 2, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.act = nn.SiLU()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class Bottleneck(nn.Module):
    def __init__(self, c, shortcut=True):
        super().__init__()
        self.a = ConvUnit(c, c, 1)
        self.b = ConvUnit(c, c, 3)
        self.shortcut = shortcut

    def forward(self, x):
        y = self.b(self.a(x))
        return x + y if self.shortcut else y


class CSP(nn.Module):
    def __init__(self, cin, cout, n=1, shortcut=True):
        super().__init__()
        hidden = cout // 2
        self.left = ConvUnit(cin, hidden)
        self.right = ConvUnit(cin, hidden)
        self.blocks = nn.Sequential(*[Bottleneck(hidden, shortcut) for _ in range(n)])
        self.fuse = ConvUnit(2 * hidden, cout)

    def forward(self, x):
        return self.fuse(torch.cat([self.blocks(self.left(x)), self.right(x)], dim=1))


class SPPF(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.reduce = ConvUnit(c, c // 2)
        self.pool = nn.MaxPool2d(5, 1, 2)
        self.fuse = ConvUnit(c * 2, c)

    def forward(self, x):
        x = self.reduce(x)
        p1 = self.pool(x)
        p2 = self.pool(p1)
        return self.fuse(torch.cat([x, p1, p2, self.pool(p2)], 1))


class Head(nn.Module):
    def __init__(self, cin, classes, anchors, stride):
        super().__init__()
        self.no = 5 + classes
        self.na = len(anchors)
        self.stride = stride
        self.conv = nn.Conv2d(cin, self.na * self.no, 1)
        self.register_buffer("anchors", torch.tensor(anchors, dtype=torch.float32).view(1, self.na, 1, 1, 2))

    def forward(self, x):
        b, _, h, w = x.shape
        raw = self.conv(x).view(b, self.na, self.no, h, w).permute(0, 1, 3, 4, 2).contiguous()
        y = raw.sigmoid()
        gy, gx = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32),
                                indexing="ij")
        grid = torch.stack((gx, gy), 2).view(1, 1, h, w, 2) - 0.5
        xy = (y[..., 0:2] * 2 + grid) * self.stride
        wh = (y[..., 2:4] * 2) ** 2 * self.anchors
        boxes = torch.cat((xy, wh, y[..., 4:]), -1)
        return boxes.view(b, -1, self.no), raw


class Detector(nn.Module):
    def __init__(self, classes=3):
        super().__init__()
        self.stem = ConvUnit(3, 8, 3, 2)
        self.down1 = nn.Sequential(ConvUnit(8, 16, 3, 2), CSP(16, 16))
        self.down2 = nn.Sequential(ConvUnit(16, 32, 3, 2), CSP(32, 32, n=2))
        self.down3 = nn.Sequential(ConvUnit(32, 64, 3, 2), CSP(64, 64), SPPF(64))
        self.lateral = ConvUnit(64, 32)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.top_down = CSP(64, 32, shortcut=False)
        self.down_again = ConvUnit(32, 32, 3, 2)
        self.bottom_up = CSP(64, 64, shortcut=False)
        self.head_fine = Head(32, classes, [(10, 13), (16, 30), (33, 23)], stride=8)
        self.head_coarse = Head(64, classes, [(30, 61), (62, 45), (59, 119)], stride=16)

    def forward(self, x):
        c2 = self.down2(self.down1(self.stem(x)))  # stride 8
        c3 = self.down3(c2)                        # stride 16
        p3 = self.lateral(c3)
        fine = self.top_down(torch.cat([self.up(p3), c2], 1))
        coarse = self.bottom_up(torch.cat([self.down_again(fine), p3], 1))
        boxes_fine, raw_fine = self.head_fine(fine)
        boxes_coarse, _ = self.head_coarse(coarse)
        return torch.cat([boxes_fine, boxes_coarse], 1), raw_fine


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out-dir", required=True, type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--opset", type=int, default=13)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    model = Detector()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    model.eval()
    x = torch.randn(1, 3, args.size, args.size)
    with torch.no_grad():
        boxes, raw = model(x)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(model, x, str(args.out_dir / "detector.onnx"), opset_version=args.opset,
                      input_names=["images"], output_names=["boxes", "raw_fine"])
    np.save(args.out_dir / "detector.input.npy", x.numpy().astype(np.float32))
    np.save(args.out_dir / "detector.expected0.npy", boxes.numpy().astype(np.float32))
    np.save(args.out_dir / "detector.expected1.npy", raw.numpy().astype(np.float32))


if __name__ == "__main__":
    main()
