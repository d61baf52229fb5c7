"""Exports small PyTorch modules that do integer arithmetic at run time on what ArgMax computes
(the row and column of a keypoint's best pixel with // and %, torch.div with rounding_mode='trunc',
torch.remainder and torch.fmod of negative numbers and divisors, .long() and .float() casts,
Floor/Ceil/Round, a YOLO-style cell offset) to ONNX (torch.onnx.export, opset 13), with random
weights and input and PyTorch's outputs.

Writes <name>.onnx, <name>.input.npy and <name>.expected<k>.npy (output k, float32; integer
outputs are stored as float32 too, their dtype printed) to --out-dir and prints one line per
model: its name, the dtype of each output ("float32" or "int64") joined by commas, then the ONNX
op types its graph holds.
"""

import numpy as np
import torch
from torch import nn

import case_files


class KeypointCoords(nn.Module):
    """Per keypoint heatmap, the (x, y) of its best pixel: argmax over the flattened map, then
    // W and % W, and the flat index rebuilt from them."""

    def __init__(self, keypoints=4):
        super().__init__()
        self.conv = nn.Conv2d(3, keypoints, 3, padding=1)

    def forward(self, x):
        heat = self.conv(x)                              # [N, K, H, W]
        w = heat.shape[3]
        idx = heat.flatten(2).argmax(dim=2)              # [N, K]
        ys, xs = idx // w, idx % w
        return torch.stack([xs, ys], dim=-1), ys * w + xs


class SignedDivision(nn.Module):
    """Quotients and remainders of integers on both sides of zero: by constants of either sign
    and by a computed odd (never zero) divisor of either sign."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 5, 1)
        self.b = nn.Conv2d(3, 5, 1)

    def forward(self, x):
        a = self.a(x).argmax(dim=1) - 7                  # [N, H, W] in [-7, -3]... up to 4 - 7
        a = a * 3 + self.a(x).argmin(dim=1)              # spread over [-21, 1]
        b = self.b(x).argmax(dim=1) * 2 - 5              # odd, in [-5, 3]
        return (torch.div(a, 4, rounding_mode="trunc"), torch.div(a, -3, rounding_mode="trunc"),
                torch.div(a, b, rounding_mode="trunc"), torch.remainder(a, 4), torch.remainder(a, -3),
                torch.remainder(a, b), torch.fmod(a, -3), torch.fmod(a, b), (-a).abs() - a.abs())


class Casts(nn.Module):
    """Float to integer truncates toward zero, integers to float are exact; Floor, Ceil, and
    Round (halves to even, on values made to lie at halves)."""

    def forward(self, x):
        scaled = x * 4
        t = scaled.long()
        halves = torch.floor(scaled) + 0.5
        return (t, t.float() * 0.25, torch.round(halves), torch.floor(scaled), torch.ceil(scaled),
                torch.round(scaled).long())


class GridOffset(nn.Module):
    """A YOLO-style head: the best cell's column and row (from ArgMax) plus the sigmoid offsets
    predicted there, times the stride, as the box centre."""

    def __init__(self, stride=8):
        super().__init__()
        self.head = nn.Conv2d(3, 3, 3, padding=1)
        self.stride = stride

    def forward(self, x):
        p = self.head(x)[0]                              # [3, H, W]: tx, ty, objectness
        w = p.shape[2]
        best = p[2].flatten().argmax(dim=0, keepdim=True)   # [1]
        cell = torch.cat([best % w, best // w])          # [2]: column, row
        offsets = torch.sigmoid(p[:2].flatten(1).index_select(1, best))[:, 0]
        return (cell.float() + offsets) * self.stride, cell


def modules():
    return {
        "keypoint_coords": (KeypointCoords(), (2, 3, 6, 7)),
        "signed_division": (SignedDivision(), (2, 3, 5, 6)),
        "casts": (Casts(), (2, 3, 4, 5)),
        "grid_offset": (GridOffset(), (1, 3, 5, 6)),
    }


def main():
    args = case_files.arguments(__doc__, seed=True)
    torch.manual_seed(args.seed)
    for name, (module, shape) in modules().items():
        module.eval()
        x = torch.randn(*shape) * 2
        with torch.no_grad():
            ys = module(x)
        ys = ys if isinstance(ys, tuple) else (ys,)
        path = args.out_dir / f"{name}.onnx"
        names = [f"output{k}" for k in range(len(ys))]
        torch.onnx.export(module, x, str(path), opset_version=13, input_names=["input"], output_names=names)
        np.save(args.out_dir / f"{name}.input.npy", x.numpy())
        dtypes = []
        for k, y in enumerate(ys):
            dtypes.append("int64" if y.dtype == torch.int64 else "float32")
            np.save(args.out_dir / f"{name}.expected{k}.npy", y.numpy().astype(np.float32))
        print(name, ",".join(dtypes), *case_files.op_types(path))


if __name__ == "__main__":
    main()
