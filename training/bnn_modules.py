"""PyTorch building blocks for binarized networks with Elastic-Link (EL) shortcuts.

In eval mode every module computes exactly what its ONNX export (opset 13,
do_constant_folding=True) says:
  RSign         Add(x, b) -> Sign
  BinaryConv2d  Conv whose weight initializer holds +-alpha_c per output channel
  BinaryLinear  Gemm whose weight initializer holds +-alpha_m per output row
  RPReLU        Sub(x, g1) -> PRelu -> Add(g2)
  ELink         [AveragePool ceil_mode=1] -> [channel Squeeze or Expand] -> Mul(gamma)
                Squeeze: Reshape to 5-D -> ReduceMean over the group axis
                Expand, strided: Expand (to a shape of ones, a no-op) -> Tile
                Expand, contiguous: Unsqueeze -> Expand (no-op) -> Tile -> Reshape
Training uses straight-through estimators for both sign functions."""

import torch
from torch import nn
import torch.nn.functional as F

GROUP_ORDERS = ("contiguous", "strided")


class _ApproxSign(torch.autograd.Function):
    """sign(x) forward; backward with the piecewise-quadratic approximation of
    ReActNet / Bi-Real Net, d/dx = max(0, 2 - 2|x|), which follows sign more
    closely than the clipped identity."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.sign(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (2 - 2 * x.abs()).clamp_(min=0)


class RSign(nn.Module):
    """y = sign(x + b_c) with a learned per-channel threshold b."""

    def __init__(self, channels):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def shifted(self, x):
        """x + b, the value whose sign is taken; x is [N, C, H, W] or [N, C]."""
        return x + (self.bias if x.dim() == 4 else self.bias.view(1, -1))

    def forward(self, x):
        if self.training:
            return _ApproxSign.apply(self.shifted(x))
        return torch.sign(self.shifted(x))


# The weight binarization is spelled with ops that torch.onnx's constant
# folding evaluates (ReduceL1, Div, Less, Where, Mul; not Abs, ReduceMean,
# GreaterOrEqual), so that an export with do_constant_folding=True holds the
# binarized weight as one initializer.

def weight_scale(weight):
    """alpha = mean |W| per output channel (dim 0), shaped to broadcast against W."""
    fan_in = weight[0].numel()
    return torch.norm(weight, p=1, dim=tuple(range(1, weight.dim())), keepdim=True) / fan_in


def weight_sign(weight):
    """sign(W) with sign(0) = +1, as the engine takes it, so no weight is ever 0."""
    # Tensor rather than Python-float branches: the exporter types those as
    # double and would cast the whole layer to double.
    ones = torch.ones_like(weight)
    return torch.where(weight < 0, -ones, ones)


def binarize_weight(weight):
    """sign(W) * alpha_c, values +-alpha_c per output channel."""
    return weight_sign(weight) * weight_scale(weight)


def _binary_weight_ste(weight):
    # Forward value of binarize_weight, gradient of the identity: the real
    # weights keep accumulating updates smaller than alpha.
    return weight + (binarize_weight(weight) - weight).detach()


class BinaryConv2d(nn.Conv2d):
    """Conv2d whose weight is sign(W) * alpha_c when binary_weights is True.

    False trains the real-valued weights of the ReActNet recipe's first step.
    """

    def __init__(self, *args, binary_weights=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.binary_weights = binary_weights

    def forward(self, x):
        if not self.binary_weights:
            return super().forward(x)
        weight = _binary_weight_ste(self.weight) if self.training else binarize_weight(self.weight)
        return self._conv_forward(x, weight, self.bias)


class BinaryLinear(nn.Linear):
    """Linear whose weight is sign(W) * alpha_m when binary_weights is True."""

    def __init__(self, *args, binary_weights=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.binary_weights = binary_weights

    def forward(self, x):
        if not self.binary_weights:
            return super().forward(x)
        weight = _binary_weight_ste(self.weight) if self.training else binarize_weight(self.weight)
        return F.linear(x, weight, self.bias)


class RPReLU(nn.Module):
    """y = PReLU_beta(x - g1_c) + g2_c, all three per channel."""

    def __init__(self, channels, init_slope=0.25):
        super().__init__()
        self.shift_in = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.prelu = nn.PReLU(channels, init=init_slope)
        self.shift_out = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, x):
        return self.prelu(x - self.shift_in) + self.shift_out


def squeeze_channels(x, out_ch, group_order):
    """Mean over groups of in/out channels; contiguous groups are channels
    [k*o, k*o + k), strided groups are channels o, o + out, o + 2*out, ..."""
    n, c, h, w = x.shape
    k = c // out_ch
    if group_order == "contiguous":
        return x.reshape(n, out_ch, k, h, w).mean(2)
    return x.reshape(n, k, out_ch, h, w).mean(1)


def expand_channels(x, out_ch, group_order):
    """Copies every channel out/in times; contiguous puts the copies of
    channel i at [k*i, k*i + k), strided at i, i + in, i + 2*in, ..."""
    n, c, h, w = x.shape
    k = out_ch // c
    if group_order == "contiguous":
        # What x.repeat_interleave(k, 1) computes; that exports as a Split and
        # an Expand per channel, this as Unsqueeze, Tile, Reshape.
        return x.unsqueeze(2).repeat(1, 1, k, 1, 1).reshape(n, out_ch, h, w)
    return x.repeat(1, k, 1, 1)


class ELink(nn.Module):
    """Elastic-Link shortcut: gamma_c * R(x), R matching the binary conv's
    output size (average pooling) and channel count (Squeeze or Expand)."""

    def __init__(self, in_ch, out_ch, stride=1, group_order="contiguous", gamma_init=1.0):
        super().__init__()
        if group_order not in GROUP_ORDERS:
            raise ValueError(f"group_order must be one of {GROUP_ORDERS}, not {group_order!r}")
        if in_ch % out_ch and out_ch % in_ch:
            raise ValueError(f"channel counts {in_ch} and {out_ch} are not multiples of each other")
        self.in_ch = in_ch
        self.out_ch = out_ch
        self.group_order = group_order
        # ceil_mode and count_include_pad=False give ceil(H / stride) outputs,
        # which is what a padding-1 3x3 or a 1x1 convolution of that stride
        # gives for odd H too, and average only the pixels that exist.
        self.pool = (nn.AvgPool2d(stride, stride, ceil_mode=True, count_include_pad=False)
                     if stride > 1 else nn.Identity())
        self.gamma = nn.Parameter(torch.full((1, out_ch, 1, 1), float(gamma_init)))

    def forward(self, x):
        x = self.pool(x)
        if self.in_ch > self.out_ch:
            x = squeeze_channels(x, self.out_ch, self.group_order)
        elif self.in_ch < self.out_ch:
            x = expand_channels(x, self.out_ch, self.group_order)
        return self.gamma * x


class Block(nn.Module):
    """y = RPReLU(BN(BinaryConv(RSign(x))) [+ ELink(x)]).

    The shortcut reads the real-valued input, so it carries the information
    that binarization throws away. groups > 1 makes the convolution grouped
    (groups == in_ch == out_ch: depthwise, as in a binarized MobileNet).
    """

    def __init__(self, in_ch, out_ch, kernel=3, stride=1, use_el=True,
                 group_order="contiguous", gamma_init=1.0, groups=1):
        super().__init__()
        self.sign = RSign(in_ch)
        self.conv = BinaryConv2d(in_ch, out_ch, kernel, stride, padding=kernel // 2, groups=groups,
                                 bias=False)
        self.bn = nn.BatchNorm2d(out_ch)
        self.el = ELink(in_ch, out_ch, stride, group_order, gamma_init) if use_el else None
        self.act = RPReLU(out_ch)

    def forward(self, x):
        y = self.bn(self.conv(self.sign(x)))
        if self.el is not None:
            y = y + self.el(x)
        return self.act(y)


def set_binary_weights(model, enabled):
    """Switches every BinaryConv2d / BinaryLinear in `model` between real and binarized weights."""
    for m in model.modules():
        if isinstance(m, (BinaryConv2d, BinaryLinear)):
            m.binary_weights = enabled
