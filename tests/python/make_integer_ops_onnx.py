"""Exports small PyTorch modules that do integer arithmetic at run time on what ArgMax computes
(the row and column of a keypoint's best pixel with // and %, torch.div with rounding_mode='trunc',
torch.remainder and torch.fmod of negative numbers and divisors, .long() and .float() casts,
casts to int8, uint8 and int16 that wrap, Floor/Ceil/Round, a YOLO-style cell offset), and the comparisons, logic and selections models use
at run time (floor division of negative integers, which PyTorch exports as Div with a
Less/Xor/Not/And/Where correction; masked_fill, leaky ReLU and clamp spelt with torch.where, an
attention mask, counting scores above a threshold, torch.sign outside a binarized network) to ONNX
(torch.onnx.export, opset 13), with random weights and input and PyTorch's outputs.

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


class NarrowingCasts(nn.Module):
    """Integers cast to narrower types wrap into them (two's complement), as PyTorch casts them;
    a cast to a wider one changes nothing."""

    def forward(self, x):
        small, large = (x * 300).long(), (x * 50000).long()   # beyond 8 and 16 bits
        return (small.to(torch.int8).float(), small.to(torch.uint8).float(), large.to(torch.int16).float(),
                large.to(torch.int32).float())


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


class FloorDivision(nn.Module):
    """torch.div(rounding_mode='floor') of integers of both signs (from .long() of a float, so
    negative) by computed odd divisors of either sign, one of the same shape and one per channel,
    and by constants of either sign."""

    def __init__(self):
        super().__init__()
        self.b = nn.Conv2d(3, 5, 1)
        self.c = nn.Conv2d(3, 3, 1)

    def forward(self, x):
        a = (x * 4).long()                                           # [N, 3, H, W]
        b = self.b(x).argmax(dim=1, keepdim=True) * 2 - 5            # [N, 1, H, W], odd in [-5, 3]
        per_channel = self.c(x).flatten(2).argmax(dim=2)[:, :, None, None] % 4 * 2 - 3   # [N, 3, 1, 1]
        head = a[:, :1]
        return (torch.div(head, b, rounding_mode="floor"), torch.div(a, -3, rounding_mode="floor"),
                torch.div(a, 4, rounding_mode="floor"), torch.div(a, per_channel, rounding_mode="floor"))


class PythonFloorDivision(nn.Module):
    """a // b of integers of both signs. PyTorch floors, but torch.onnx (1.13: floor_divide in
    symbolic_opset9, 'deprecated behavior, floor_divide actually truncates') exports it as ONNX's
    truncating integer Div: the expected outputs are what the export computes, truncation (should
    a later PyTorch export the floor, the converted model floors and the test fails)."""

    def __init__(self):
        super().__init__()
        self.b = nn.Conv2d(3, 5, 1)

    def forward(self, x):
        a = (x[:, :1] * 4).long()
        b = self.b(x).argmax(dim=1, keepdim=True) * 2 - 5
        return a // b, a // 3

    @staticmethod
    def exported(x, module):
        a = (x[:, :1] * 4).long()
        b = module.b(x).argmax(dim=1, keepdim=True) * 2 - 5
        return torch.div(a, b, rounding_mode="trunc"), torch.div(a, 3, rounding_mode="trunc")


class MaskedFill(nn.Module):
    """masked_fill with masks computed from the data: one broadcast over the channels, one of the
    tensor's own shape, and a float cast to bool (x != 0) selecting between two tensors."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        y = self.conv(x)
        mask = y.sum(dim=1, keepdim=True) > 0                          # [N, 1, H, W]
        rounded = torch.round(y)
        return y.masked_fill(mask, -1.0), y.masked_fill(y < 0, 0.0), torch.where(rounded.bool(), y, -y)


class WhereActivations(nn.Module):
    """Leaky ReLU and clamp spelt with torch.where."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        y = self.conv(x)
        one = y.new_tensor(1.0)
        clamped = torch.where(y > 1, one, torch.where(y < -1, -one, y))
        return torch.where(y > 0, y, 0.1 * y), clamped


class SignOutsideBnn(nn.Module):
    """torch.sign of real values (integers and halves among them, so sign(0) = 0 occurs) that feed
    no convolution: no binarization, the sign at run time."""

    def forward(self, x):
        r = torch.round(x * 2)
        return torch.sign(r), torch.sign(x) * (x * x)


class AttentionMask(nn.Module):
    """Scaled dot-product attention over a padding mask computed from the data (masked_fill of
    the scores where the key is padding, broadcast over the queries), and the number of keys each
    query attends to with a probability above 0.2 (score > t, summed)."""

    def __init__(self, d=8):
        super().__init__()
        self.q = nn.Linear(d, d)
        self.k = nn.Linear(d, d)
        self.v = nn.Linear(d, d)

    def forward(self, x):                                               # [N, L, D]
        q, k, v = self.q(x), self.k(x), self.v(x)
        keep = x[:, :, 0] > -0.5                                        # [N, L]
        scores = q @ k.transpose(1, 2) / 8 ** 0.5                       # [N, L, L]
        scores = scores.masked_fill(~keep[:, None, :], -1e9)
        p = scores.softmax(dim=-1)
        return p @ v, (p > 0.2).sum(dim=-1)


def modules():
    return {
        "keypoint_coords": (KeypointCoords(), (2, 3, 6, 7)),
        "signed_division": (SignedDivision(), (2, 3, 5, 6)),
        "casts": (Casts(), (2, 3, 4, 5)),
        "narrowing_casts": (NarrowingCasts(), (2, 3, 4, 5)),
        "grid_offset": (GridOffset(), (1, 3, 5, 6)),
        "floor_division": (FloorDivision(), (2, 3, 5, 6)),
        "python_floor_division": (PythonFloorDivision(), (2, 3, 5, 6)),
        "masked_fill": (MaskedFill(), (2, 3, 5, 6)),
        "where_activations": (WhereActivations(), (2, 3, 5, 6)),
        "sign_outside_bnn": (SignOutsideBnn(), (2, 3, 5, 6)),
        "attention_mask": (AttentionMask(), (2, 6, 8)),
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
            if hasattr(module, "exported"):
                ys = module.exported(x, module)
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
