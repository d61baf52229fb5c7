"""Exports small binarized networks with random weights to ONNX, with an input and PyTorch's output.

Each variant exercises one way a binarized network (training/bnn_modules.py) shows up in ONNX:
the Elastic-Link shortcut in each of its R spellings, channel counts that are not multiples of
32, chains of binary convolutions, pooling and fully connected layers on binarized activations,
and the spellings of a binarized weight other than a folded +-alpha initializer. BatchNorm
statistics, RSign thresholds, EL scales and (R)PReLU parameters are all randomized, so that
folding any of them wrongly shows.

Every input of a Sign is kept at least MARGIN away from 0: a value closer than that could flip
sign under the engine's different rounding and change the output far beyond any tolerance.

Writes <variant>.onnx, <variant>.input.npy and <variant>.expected.npy to --out-dir;
--variant all writes every variant and prints their names, one per line.
"""

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "training"))
from bnn_modules import (  # noqa: E402
    BinaryConv2d, BinaryLinear, Block, ELink, RPReLU, RSign, set_binary_weights, weight_scale, weight_sign)

MARGIN = 1e-4


class ConcatExpandLink(ELink):
    """Expand spelled torch.cat([x] * k, 1): a Concat of k copies, strided order."""

    def forward(self, x):
        return self.gamma * torch.cat([self.pool(x)] * (self.out_ch // self.in_ch), 1)


class RepeatInterleaveExpandLink(ELink):
    """Expand spelled x.repeat_interleave(k, 1), contiguous order; torch exports a
    Split and about 14 nodes per input channel (Expand, Reshape and shape
    arithmetic), then a Concat of them all."""

    def forward(self, x):
        return self.gamma * self.pool(x).repeat_interleave(self.out_ch // self.in_ch, dim=1)


class SignTimesAlphaConv(nn.Conv2d):
    """Weight sign(W) * alpha with alpha its own [M,1,1,1] parameter, as a network
    that learns alpha has it; exported unfolded it reads Mul(Sign(W), alpha)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.alpha = nn.Parameter(self.weight.detach().abs().mean(dim=(1, 2, 3), keepdim=True))

    def forward(self, x):
        return self._conv_forward(x, torch.sign(self.weight) * self.alpha, self.bias)


class SignTimesMeanAbsConv(nn.Conv2d):
    """Weight sign(W) * mean|W| per output channel; exported unfolded it reads
    Mul(Sign(W), ReduceMean(Abs(W)))."""

    def forward(self, x):
        alpha = self.weight.abs().mean(dim=(1, 2, 3), keepdim=True)
        return self._conv_forward(x, torch.sign(self.weight) * alpha, self.bias)


class ScaleAfterConv(nn.Conv2d):
    """Convolution with the +-1 weights followed by Mul by alpha [1,M,1,1]."""

    def forward(self, x):
        alpha = weight_scale(self.weight).view(1, -1, 1, 1)
        return self._conv_forward(x, weight_sign(self.weight), self.bias) * alpha


def block_with(in_ch, out_ch, kernel, stride, el=None, act=None):
    """A Block whose EL shortcut or activation is replaced by another spelling."""
    block = Block(in_ch, out_ch, kernel, stride)
    if el is not None:
        block.el = el
    if act is not None:
        block.act = act
    return block


def binary_layer(layer_type, in_ch, out_ch, kernel, stride=1):
    """RSign -> layer_type(in_ch, out_ch) -> BN -> RPReLU, the weight spelled by layer_type."""
    return nn.Sequential(RSign(in_ch), layer_type(in_ch, out_ch, kernel, stride, padding=kernel // 2, bias=False),
                         nn.BatchNorm2d(out_ch), RPReLU(out_ch))


# name -> (builder, input shape [1, C, H, W], do_constant_folding)
VARIANTS = {
    # Shortcut R variants.
    "el_identity": (lambda: Block(31, 31, 3, 1), (1, 31, 9, 9), True),
    "el_avgpool_odd": (lambda: Block(33, 33, 3, 2), (1, 33, 15, 15), True),
    "el_squeeze_contiguous": (lambda: Block(65, 13, 3, 1, group_order="contiguous"), (1, 65, 7, 7), True),
    "el_squeeze_strided_avgpool": (lambda: Block(66, 33, 1, 2, group_order="strided"), (1, 66, 15, 15), True),
    "el_expand_tile": (lambda: Block(33, 66, 3, 1, group_order="strided"), (1, 33, 9, 9), True),
    "el_expand_contiguous": (lambda: Block(1, 32, 3, 1, group_order="contiguous"), (1, 1, 12, 12), True),
    "el_expand_concat": (lambda: block_with(31, 93, 1, 1, el=ConcatExpandLink(31, 93)), (1, 31, 9, 9), True),
    # Few channels: the export grows by about 14 nodes per input channel.
    "el_expand_repeat_interleave": (
        lambda: block_with(5, 10, 3, 2, el=RepeatInterleaveExpandLink(5, 10, 2)), (1, 5, 11, 11), True),
    # Binarized activations with no real-valued use: Block without EL ->
    # RSign -> conv -> BN -> RSign -> conv -> BN -> RPReLU.
    "chain_no_el": (lambda: nn.Sequential(
        Block(31, 48, 3, 1, use_el=False),
        RSign(48), BinaryConv2d(48, 48, 3, 2, padding=1, bias=False), nn.BatchNorm2d(48),
        Block(48, 24, 1, 1, use_el=False)), (1, 31, 10, 10), True),
    "prelu": (lambda: block_with(33, 33, 3, 1, act=nn.PReLU(33)), (1, 33, 9, 9), True),
    "maxpool_binary": (lambda: nn.Sequential(
        RSign(31), nn.MaxPool2d(2), BinaryConv2d(31, 40, 3, padding=1, bias=False),
        nn.BatchNorm2d(40), RPReLU(40)), (1, 31, 15, 15), True),
    "binary_linear": (lambda: nn.Sequential(
        nn.Flatten(), RSign(65 * 3 * 3), BinaryLinear(65 * 3 * 3, 37)), (1, 65, 3, 3), True),
    # Weight spellings other than the folded +-alpha initializer.
    "weight_sign_mul_alpha": (lambda: binary_layer(SignTimesAlphaConv, 33, 40, 3), (1, 33, 9, 9), False),
    "weight_sign_mul_mean_abs": (lambda: binary_layer(SignTimesMeanAbsConv, 33, 40, 3, 2), (1, 33, 9, 9), False),
    "weight_conv_then_mul_alpha": (lambda: binary_layer(ScaleAfterConv, 65, 40, 1), (1, 65, 9, 9), True),
}


def randomize(model, generator):
    """Random values for every parameter and statistic whose default would hide a fold."""
    def uniform(shape, low, high):
        return torch.rand(shape, generator=generator) * (high - low) + low

    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=generator) * 0.1)
            m.running_var.copy_(uniform(c, 0.75, 1.25))
            m.weight.data.copy_(uniform(c, 0.75, 1.25))
            m.bias.data.copy_(torch.randn(c, generator=generator) * 0.1)
        elif isinstance(m, RSign):
            m.bias.data.copy_(torch.randn(m.bias.shape, generator=generator) * 0.3)
        elif isinstance(m, ELink):
            m.gamma.data.copy_(uniform(m.gamma.shape, 0.25, 1.5))
        elif isinstance(m, RPReLU):
            m.shift_in.data.copy_(torch.randn(m.shift_in.shape, generator=generator) * 0.2)
            m.shift_out.data.copy_(torch.randn(m.shift_out.shape, generator=generator) * 0.2)
        elif isinstance(m, nn.PReLU):
            m.weight.data.copy_(uniform(m.weight.shape, 0.05, 0.5))


def sign_margin(model, x):
    """Smallest |input| of any Sign that the model takes of an activation."""
    smallest = []
    hooks = [m.register_forward_hook(lambda m, inputs, _: smallest.append(float(m.shifted(inputs[0]).abs().min())))
             for m in model.modules() if isinstance(m, RSign)]
    with torch.no_grad():
        model(x)
    for hook in hooks:
        hook.remove()
    return min(smallest)


def build(name, seed):
    """The variant's model in eval mode and an input that keeps every Sign input MARGIN from 0."""
    builder, shape, _ = VARIANTS[name]
    for attempt in itertools.count():
        torch.manual_seed(seed * 1000 + attempt)
        generator = torch.Generator().manual_seed(seed * 1000 + attempt)
        model = builder()
        set_binary_weights(model, True)
        with torch.no_grad():
            randomize(model, generator)
        model.eval()
        x = torch.randn(shape, generator=generator)
        if sign_margin(model, x) >= MARGIN:
            return model, x


def export(name, out_dir, seed):
    model, x = build(name, seed)
    with torch.no_grad():
        y = model(x)
    torch.onnx.export(model, x, str(out_dir / f"{name}.onnx"), opset_version=13,
                      input_names=["input"], output_names=["output"],
                      do_constant_folding=VARIANTS[name][2])
    np.save(out_dir / f"{name}.input.npy", x.numpy().astype(np.float32))
    np.save(out_dir / f"{name}.expected.npy", y.numpy().astype(np.float32))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variant", required=True, choices=[*VARIANTS, "all"])
    parser.add_argument("--out-dir", required=True, type=Path)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.set_num_threads(1)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for name in VARIANTS if args.variant == "all" else [args.variant]:
        export(name, args.out_dir, args.seed)
        if args.variant == "all":
            print(name)


if __name__ == "__main__":
    main()
