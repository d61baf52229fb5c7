"""Exports small PyTorch models for the dynamic input size tests (torch.onnx.export, opset 13,
static shapes as PyTorch exports them by default), with random weights.

Size-generic models (fcn: a segmentation net with a stride-2 encoder, ceil-mode max pooling, a
squeeze-and-excitation gate, bilinear upsampling by a scale factor and a skip connection;
gap_classifier: convolutions, a global average pool by mean(), a Linear head and Softmax) are
written as <name>.onnx at --size, and for each --other size as <name>.<H>x<W>.onnx with a random
input and PyTorch's output at that size (<name>.<H>x<W>.input.npy, .expected.npy). Models that pin
their size (flatten_fc: a Linear on the flattened feature map; fixed_resize: interpolate to a fixed
size) are written as <name>.onnx only.
"""

import argparse
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F


class Fcn(nn.Module):
    def __init__(self, classes=5):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.down = nn.Sequential(nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU())
        self.pool = nn.MaxPool2d(2, ceil_mode=True)
        self.squeeze = nn.Conv2d(16, 4, 1)
        self.excite = nn.Conv2d(4, 16, 1)
        self.mid = nn.Sequential(nn.Conv2d(16, 16, 3, padding=2, dilation=2), nn.ReLU())
        self.skip = nn.Conv2d(8, 16, 1)
        self.head = nn.Conv2d(16, classes, 1)

    def forward(self, x):
        s = self.stem(x)
        y = self.pool(self.down(s))
        gate = torch.sigmoid(self.excite(F.relu(self.squeeze(F.adaptive_avg_pool2d(y, 1)))))
        y = self.mid(y * gate)
        y = F.interpolate(y, scale_factor=4.0, mode="bilinear", align_corners=False)
        return self.head(F.relu(y + self.skip(s)))


class GapClassifier(nn.Module):
    def __init__(self, classes=7):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 12, 3, padding=1), nn.ReLU(),
            nn.Conv2d(12, 24, 3, stride=2, padding=1), nn.ReLU(),
            nn.AvgPool2d(2), nn.Conv2d(24, 32, 3, padding=1), nn.ReLU())
        self.fc = nn.Linear(32, classes)

    def forward(self, x):
        return torch.softmax(self.fc(self.features(x).mean(dim=(2, 3))), dim=1)


class FlattenFc(nn.Module):
    def __init__(self, size):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.fc = nn.Linear(4 * ((size[0] + 1) // 2) * ((size[1] + 1) // 2), 3)

    def forward(self, x):
        return self.fc(torch.flatten(F.relu(self.conv(x)), 1))


class FixedResize(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        return F.interpolate(self.conv(x), size=(16, 16), mode="nearest")


def export(model, shape, path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, torch.zeros(shape), path, opset_version=13, input_names=["x"],
                          output_names=["y"])


def size(text):
    h, w = text.lower().split("x")
    return int(h), int(w)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out-dir", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=size, default=(64, 64))
    parser.add_argument("--other", type=size, action="append", default=[])
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    generic = {"fcn": Fcn(), "gap_classifier": GapClassifier()}
    for name, model in generic.items():
        model.eval()
        # Batch statistics other than the initial ones, so the folded BatchNormalization matters.
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
        export(model, (1, 3, *args.size), str(args.out_dir / f"{name}.onnx"))
        for h, w in [args.size] + args.other:
            stem = str(args.out_dir / f"{name}.{h}x{w}")
            export(model, (1, 3, h, w), stem + ".onnx")
            x = rng.standard_normal((1, 3, h, w), dtype=np.float32)
            with torch.no_grad():
                y = model(torch.from_numpy(x)).numpy()
            np.save(stem + ".input.npy", x)
            np.save(stem + ".expected.npy", y)
        print(name)
    for name, model in {"flatten_fc": FlattenFc(args.size), "fixed_resize": FixedResize()}.items():
        export(model.eval(), (1, 3, *args.size), str(args.out_dir / f"{name}.onnx"))
        print(name)


if __name__ == "__main__":
    main()
