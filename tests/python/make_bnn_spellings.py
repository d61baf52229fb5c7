"""Exports binarized networks written the ways other BNN code bases write them, independently of
training/bnn_modules.py, with random weights, an input and PyTorch's output.

Sign spellings: torch.where(x >= 0, 1, -1) inside a straight-through autograd Function, ReActNet's
approximate sign (sign(x) - p(x) + p(x) with p built from x < -1, x < 0, x < 1 masks),
Cast(x >= 0) * 2 - 1, hardtanh then sign, the strict x > t, Not, LessOrEqual, a negated sign and
a scaled one.
Weight spellings: sign(W) * alpha per channel or per tensor (folded or not), the clamp(W, -1, 1)
straight-through estimator, Where(W >= 0, 1, -1) * alpha, alpha as a Mul after the convolution.
Elastic-Link spellings: identity, average pooling (with ceil mode) then x.repeat or the other way
round, repeat_interleave, Concat of copies, unsqueeze + expand + reshape, view + mean/sum; gamma
a parameter, a constant or absent; a max-pooled shortcut (an ordinary add) and the real
AvgPool + 1x1 conv + BN downsampling shortcut. Networks: small stacks of each, a binarized
ResNet-18 shape at 224x224, a binarized MobileNet with depthwise binary convolutions, and a
network whose binarized layer has real weights (it must stay real, with a note).

Every RSign threshold is placed in the widest gap of its channel's inputs (near the median), so
no sign input lies within MARGIN of its threshold and fp32 rounding cannot flip a sign; the
"ties" networks instead put exact ties on their first sign (x > t, x >= t), which reads the input.

Writes <name>.onnx, <name>.input.npy, <name>.expected.npy and <name>.json (the ONNX names of the
Conv/Gemm nodes: "binary", "linked" (binary with Elastic-Link fused), "real_noted" (real, with a
note why), "real") to --out-dir and prints the names, one per line.
"""

import argparse
import json
from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from torch import nn

MARGIN = 1e-4


def one(x):
    """1 as a 1-element tensor of x's type: torch.where(c, 1.0, -1.0) (or 0-d tensors) exports its
    values as DOUBLE constants (torch 1.13), and ONNX shape inference rejects the graph."""
    return x.new_ones(1)


# Sign spellings: each maps the shifted input to +-1.
class WhereSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.where(x >= 0, one(x), -one(x))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (x.abs() <= 1).to(grad.dtype)


def where_ste(x):
    return WhereSTE.apply(x)


def approx_sign(x):
    """ReActNet's forward value: sign(x) - p + p with p the piecewise quadratic surrogate."""
    below_m1, below_0, below_1 = (x < -1).float(), (x < 0).float(), (x < 1).float()
    p = -1 * below_m1 + (x * x + 2 * x) * (1 - below_m1)
    p = p * below_0 + (-x * x + 2 * x) * (1 - below_0)
    p = p * below_1 + 1 * (1 - below_1)
    return torch.sign(x).detach() - p.detach() + p


def cast_sign(x):
    return (x >= 0).float() * 2 - 1


def hardtanh_sign(x):
    return torch.sign(F.hardtanh(x))


def strict_sign(x):
    return torch.where(x > 0, one(x), -one(x))


def not_less_sign(x):
    return torch.where(~(x < 0), torch.ones_like(x), -torch.ones_like(x))


def less_equal_sign(x):
    return torch.where(x <= 0, -one(x), one(x))


def negated_sign(x):
    return -torch.sign(x)


def scaled_negated_sign(x):
    return torch.sign(x) * -0.5


class BinConv(nn.Conv2d):
    """A convolution whose weight is sign(W) * alpha in one of several spellings."""

    def __init__(self, cin, cout, k, stride, groups, spelling):
        super().__init__(cin, cout, k, stride, k // 2, groups=groups, bias=False)
        self.spelling = spelling

    def forward(self, x):
        w = self.weight
        alpha = w.abs().mean(dim=(1, 2, 3), keepdim=True)
        if self.spelling == "folded":
            return self._conv_forward(x, torch.sign(w) * alpha, None)
        if self.spelling == "tensor_alpha":
            return self._conv_forward(x, torch.sign(w) * w.abs().mean(), None)
        if self.spelling == "where":
            return self._conv_forward(x, torch.where(w >= 0, one(w), -one(w)) * alpha, None)
        if self.spelling == "clamp_ste":
            clipped = torch.clamp(w, -1.0, 1.0)
            return self._conv_forward(x, (alpha * torch.sign(w)).detach() - clipped.detach() + clipped, None)
        if self.spelling == "mul_after":
            return self._conv_forward(x, torch.sign(w), None) * alpha.view(1, -1, 1, 1)
        if self.spelling == "real":
            return self._conv_forward(x, w, None)
        raise ValueError(self.spelling)


class RPReLU(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.shift_in = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.prelu = nn.PReLU(c)
        self.shift_out = nn.Parameter(torch.zeros(1, c, 1, 1))

    def forward(self, x):
        return self.prelu(x - self.shift_in) + self.shift_out


# Elastic-Link shortcuts R(x) for a block from cin to cout channels at a stride.
def pool(x, stride, ceil=True):
    return F.avg_pool2d(x, stride, ceil_mode=ceil) if stride > 1 else x


LINKS = {
    "identity": lambda x, k, s: pool(x, s),
    "avgpool_repeat": lambda x, k, s: pool(x, s).repeat(1, k, 1, 1),
    "repeat_avgpool": lambda x, k, s: pool(x.repeat(1, k, 1, 1), s),
    "repeat_interleave": lambda x, k, s: pool(x, s).repeat_interleave(k, dim=1),
    "concat": lambda x, k, s: torch.cat([pool(x, s)] * k, 1),
    "expand_reshape": lambda x, k, s: pool(x, s).unsqueeze(2).expand(-1, -1, k, -1, -1).reshape(
        x.shape[0], x.shape[1] * k, *pool(x, s).shape[2:]),
    "view_mean": lambda x, k, s: pool(x, s).view(x.shape[0], x.shape[1] // k, k, *pool(x, s).shape[2:]).mean(2),
    "view_sum": lambda x, k, s: pool(x.view(x.shape[0], x.shape[1] // k, k, *x.shape[2:]).sum(2), s),
    "maxpool": lambda x, k, s: F.max_pool2d(x, s, ceil_mode=True),
}


class Block(nn.Module):
    """RSign -> binary conv -> BN [+ gamma * R(x)] -> RPReLU."""

    def __init__(self, cin, cout, k=3, stride=1, sign=torch.sign, weight="folded", link="identity", gamma="param",
                 groups=1, act=True, exact=False):
        super().__init__()
        self.threshold = nn.Parameter(torch.zeros(1, cin, 1, 1))
        self.sign = sign
        self.conv = BinConv(cin, cout, k, stride, groups, weight)
        self.bn = nn.BatchNorm2d(cout)
        self.link, self.stride = link, stride
        self.ratio = cout // cin if cout >= cin else cin // cout
        self.gamma = nn.Parameter(torch.rand(1, cout, 1, 1) + 0.25) if gamma == "param" else gamma
        self.act = RPReLU(cout) if act else None
        self.exact = exact  # its sign input may hold exact ties (read as the model says)
        self.binary = weight != "real"
        self.fusable = link is not None and link != "maxpool"

    def shifted(self, x):
        return x + self.threshold

    def forward(self, x):
        y = self.bn(self.conv(self.sign(self.shifted(x))))
        if self.link is not None:
            r = LINKS[self.link](x, self.ratio, self.stride)
            y = y + (r if self.gamma is None else self.gamma * r)
        return self.act(y) if self.act is not None else y


class RealDownsample(nn.Module):
    """Bi-Real/ReActNet's downsampling block: binary conv + the real AvgPool -> 1x1 conv -> BN."""

    def __init__(self, cin, cout):
        super().__init__()
        self.block = Block(cin, cout, 3, 2, link=None)
        self.down = nn.Sequential(nn.AvgPool2d(2), nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        return self.block(x) + self.down(x)


def stem(cin, cout, stride):
    return [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]


def head(c, classes=10):
    return [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, classes)]


def resnet18():
    layers = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1)]
    cin = 64
    for i, cout in enumerate([64, 128, 256, 512]):
        for b in range(2):
            stride = 2 if i > 0 and b == 0 else 1
            # A basic block as Bi-Real writes it: each binary conv has its own shortcut.
            layers.append(Block(cin, cout, 3, stride, link="avgpool_repeat" if cout != cin else "identity"))
            layers.append(Block(cout, cout, 3, 1))
            cin = cout
    return nn.Sequential(*layers, *head(512))


def mobilenet():
    layers = stem(3, 32, 2)
    cin = 32
    spec = [(64, 1, "repeat_interleave"), (128, 2, "avgpool_repeat"), (128, 1, "identity"),
            (256, 2, "expand_reshape"), (256, 1, "identity")]
    for cout, stride, link in spec:
        layers.append(Block(cin, cin, 3, stride, groups=cin, link="identity"))
        layers.append(Block(cin, cout, 1, 1, link=link if cout != cin else "identity", sign=where_ste))
        cin = cout
    return nn.Sequential(*layers, *head(cin))


# name -> (builder, input shape, do_constant_folding)
NETWORKS = {
    "where_ste": (lambda: nn.Sequential(
        Block(32, 32, sign=where_ste, link="identity"),
        Block(32, 64, 3, 2, sign=where_ste, weight="tensor_alpha", link="avgpool_repeat", gamma=0.5),
        Block(64, 64, 1, 1, sign=where_ste, weight="where", gamma=None),
        *head(64)), (1, 32, 15, 15), False),
    "reactnet": (lambda: nn.Sequential(
        Block(32, 32, sign=approx_sign, weight="clamp_ste"),
        Block(32, 64, 3, 2, sign=approx_sign, weight="clamp_ste", link="repeat_interleave"),
        Block(64, 32, 1, 1, sign=approx_sign, weight="clamp_ste", link="view_mean"),
        *head(32)), (1, 32, 16, 16), False),
    "cast_sign": (lambda: nn.Sequential(
        Block(24, 72, 1, 1, sign=cast_sign, weight="mul_after", link="concat"),
        Block(72, 72, 3, 2, sign=cast_sign, link="identity", gamma=None),
        Block(72, 144, 3, 1, sign=cast_sign, link="expand_reshape"),
        *head(144)), (1, 24, 11, 11), True),
    "hardtanh_sign": (lambda: nn.Sequential(
        Block(40, 40, sign=hardtanh_sign, link="identity"),
        Block(40, 80, 3, 2, sign=hardtanh_sign, link="repeat_avgpool"),
        Block(80, 40, 3, 1, sign=hardtanh_sign, link="view_sum"),
        Block(40, 40, 3, 2, sign=hardtanh_sign, link="maxpool"),
        *head(40)), (1, 40, 13, 13), True),
    "ties": (lambda: nn.Sequential(
        Block(33, 33, sign=strict_sign, exact=True),
        Block(33, 33, sign=not_less_sign),
        Block(33, 33, sign=less_equal_sign),
        Block(33, 33, sign=negated_sign, weight="tensor_alpha"),
        Block(33, 33, sign=scaled_negated_sign),
        *head(33)), (1, 33, 9, 9), True),
    "ties_ge": (lambda: nn.Sequential(
        Block(33, 40, sign=cast_sign, link=None, exact=True),
        Block(40, 40, sign=less_equal_sign),
        *head(40)), (1, 33, 9, 9), True),
    "bireal_downsample": (lambda: nn.Sequential(
        Block(32, 32), RealDownsample(32, 64), Block(64, 64), *head(64)), (1, 32, 12, 12), True),
    "stays_real": (lambda: nn.Sequential(
        Block(32, 32, weight="real"), Block(32, 32), *head(32)), (1, 32, 9, 9), True),
    "resnet18": (resnet18, (1, 3, 224, 224), True),
    "mobilenet": (mobilenet, (1, 3, 90, 90), True),
}


def randomize(model, generator):
    """Random values for every parameter whose default would hide a fold."""
    def uniform(shape, low, high):
        return torch.rand(shape, generator=generator) * (high - low) + low

    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=generator) * 0.1)
            m.running_var.copy_(uniform(c, 0.75, 1.25))
            m.weight.data.copy_(uniform(c, 0.75, 1.25))
            m.bias.data.copy_(torch.randn(c, generator=generator) * 0.1)
        elif isinstance(m, RPReLU):
            m.shift_in.data.copy_(torch.randn(m.shift_in.shape, generator=generator) * 0.2)
            m.shift_out.data.copy_(torch.randn(m.shift_out.shape, generator=generator) * 0.2)
            m.prelu.weight.data.copy_(uniform(m.prelu.weight.shape, 0.05, 0.5))
        elif isinstance(m, Block) and isinstance(m.gamma, nn.Parameter):
            m.gamma.data.copy_(uniform(m.gamma.shape, 0.25, 1.5))
        if isinstance(m, BinConv):
            # PyTorch's sign(0) = 0 is no binary weight: keep every weight off 0.
            w = m.weight.data
            w.copy_(torch.where(w.abs() < 1e-6, torch.full_like(w, 1e-3), w))


def sign_inputs(model, x, block):
    """The input of `block`'s sign (before its threshold) when the model runs on x."""
    seen = []
    hook = block.register_forward_hook(lambda m, inputs, _: seen.append(inputs[0].detach()))
    with torch.no_grad():
        model(x)
    hook.remove()
    return seen[0]


def place_thresholds(model, x):
    """Puts each block's per-channel threshold in the widest gap of its inputs near the median, in
    forward order (each block's inputs depend on the thresholds before it)."""
    for block in [m for m in model.modules() if isinstance(m, Block)]:
        if block.exact:
            continue
        v = sign_inputs(model, x, block).transpose(0, 1).reshape(block.threshold.shape[1], -1)
        values, _ = torch.sort(v, dim=1)
        n = values.shape[1]
        lo, hi = n // 4, max(n // 4 + 1, 3 * n // 4)
        central = values[:, lo:hi + 1]
        gaps = central[:, 1:] - central[:, :-1]
        best = gaps.argmax(dim=1)
        middle = (central.gather(1, best[:, None]) + central.gather(1, best[:, None] + 1)) / 2
        with torch.no_grad():
            block.threshold.copy_(-middle.view_as(block.threshold))


def margin(model, x):
    """Smallest distance of a sign input from its threshold, over the blocks without exact ties."""
    smallest = float("inf")
    for block in [m for m in model.modules() if isinstance(m, Block)]:
        if not block.exact:
            smallest = min(smallest, float(block.shifted(sign_inputs(model, x, block)).abs().min()))
    return smallest


def with_ties(x, block, generator):
    """x with a quarter of each channel's values exactly at the block's threshold, and some +-0."""
    t = -block.threshold.detach()
    ties = torch.rand(x.shape, generator=generator) < 0.25
    x = torch.where(ties, t.expand_as(x), x)
    zeros = torch.rand(x.shape, generator=generator) < 0.05
    return torch.where(zeros, torch.where(torch.rand(x.shape, generator=generator) < 0.5, 0.0, -0.0), x)


def build(name, seed):
    builder, shape, _ = NETWORKS[name]
    for attempt in range(20):
        torch.manual_seed(seed * 1000 + attempt)
        generator = torch.Generator().manual_seed(seed * 1000 + attempt)
        model = builder()
        with torch.no_grad():
            randomize(model, generator)
            for m in model.modules():
                if isinstance(m, Block) and m.exact:
                    m.threshold.copy_(torch.randn(m.threshold.shape, generator=generator) * 0.3)
        model.eval()
        x = torch.randn(shape, generator=generator)
        first = next(m for m in model.modules() if isinstance(m, Block))
        if first.exact:
            x = with_ties(x, first, generator)
        place_thresholds(model, x)
        if margin(model, x) >= MARGIN:
            return model, x
    raise RuntimeError(f"{name}: no thresholds keep every sign input {MARGIN} from them")


def layer_roles(model, x, onnx_model):
    """The ONNX Conv/Gemm node of every convolution and linear layer, by the order they run in,
    and what the converter must make of it."""
    calls = []
    owners = {}
    for m in model.modules():
        if isinstance(m, Block):
            owners[m.conv] = m
    hooks = [m.register_forward_hook(lambda m, *_: calls.append(m))
             for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    nodes = [n.name for n in onnx_model.graph.node if n.op_type in ("Conv", "Gemm", "MatMul")]
    assert len(nodes) == len(calls), (nodes, calls)
    roles = {"binary": [], "linked": [], "real_noted": [], "real": []}
    for node, module in zip(nodes, calls):
        block = owners.get(module)
        if block is None:
            roles["real"].append(node)
        elif not block.binary:
            roles["real_noted"].append(node)
        else:
            roles["linked" if block.fusable else "binary"].append(node)
    return roles


def export(name, out_dir, seed):
    model, x = build(name, seed)
    with torch.no_grad():
        y = model(x)
    path = out_dir / f"{name}.onnx"
    torch.onnx.export(model, x, str(path), opset_version=13, input_names=["input"], output_names=["output"],
                      do_constant_folding=NETWORKS[name][2])
    np.save(out_dir / f"{name}.input.npy", x.numpy().astype(np.float32))
    np.save(out_dir / f"{name}.expected.npy", y.numpy().astype(np.float32))
    (out_dir / f"{name}.json").write_text(json.dumps(layer_roles(model, x, onnx.load(str(path)))))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--network", required=True, choices=[*NETWORKS, "all"])
    parser.add_argument("--out-dir", required=True, type=Path)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.set_num_threads(1)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for name in NETWORKS if args.network == "all" else [args.network]:
        export(name, args.out_dir, args.seed)
        print(name)


if __name__ == "__main__":
    main()
