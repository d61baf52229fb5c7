"""Fake quantization of the MobileNetV2-style network (train_fmnist_mbv2.py), as the paper's
guideline has it: BatchNorm folded into the convolutions, weights symmetric per output channel,
activations per tensor (unsigned after ReLU6, asymmetric with an integer zero point elsewhere),
ranges calibrated on training images. The same modules serve post-training quantization
(calibrate, evaluate) and quantization-aware training (LSQ: learned step sizes, straight-through
rounding).

quantize_mbv2(model, ...) builds the fake-quantized copy; its tensors are quantized where an
integer engine stores them:
  the network input (8 bits: the pixels are 8-bit, so this loses nothing),
  every conv's output after its activation (unsigned after ReLU6, asymmetric after the linear
  projection), every residual Add's output, the pooled features (the classifier's input).
The logits stay real (the engine dequantizes them). Biases stay real (int32 at scale s_x * s_w,c
in an engine: far finer than anything else here).

BatchNorm is folded with its running statistics, which stay frozen during QAT: the weights that
are trained are exactly the ones an int8 engine multiplies with, so there is no mismatch between
the QAT forward and integer inference, and the few epochs of fine-tuning start from a converged
network whose statistics barely move. The folded bias is trained instead.
"""

import copy
import math

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

import common
from train_fmnist_mbv2 import ConvBNAct, InvertedResidual, MobileNetV2Fmnist

CALIBRATION_SAMPLES = 1 << 18  # values kept per activation tensor for the range search


def round_ste(x):
    """round(x) forward, identity backward (straight-through estimator)."""
    return x + (x.round() - x).detach()


def fold_bn(conv, bn):
    """Conv2d with bias equal to conv followed by bn in eval mode."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    folded = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                       conv.padding, conv.dilation, conv.groups, bias=True)
    with torch.no_grad():
        folded.weight.copy_(conv.weight * scale.view(-1, 1, 1, 1))
        conv_bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
        folded.bias.copy_((conv_bias - bn.running_mean) * scale + bn.bias)
    return folded


class WeightQuantizer(nn.Module):
    """Symmetric per-output-channel quantization to [-Q, Q], Q = 2^(bits-1) - 1 (int8:
    [-127, 127], no -128, so that negation stays exact), or one step for the whole tensor
    (per_channel=False, the baseline the guideline warns about).

    The step is learned as LSQ does, with the gradient of round-to-nearest passed straight
    through, but parametrized as log(step): Adam's updates are scale-free, so in the log domain
    each update changes a step by a similar relative amount however small the step is, which
    LSQ's gradient scaling achieves for SGD; it also keeps the step positive."""

    def __init__(self, weight, bits, per_channel=True):
        super().__init__()
        self.bits = bits
        self.q = 2 ** (bits - 1) - 1
        self.per_channel = per_channel
        self.log_step = nn.Parameter(torch.log(self._mse_step(weight.detach())))

    def _mse_step(self, weight):
        """Step that minimises the squared quantization error of each channel (or of the
        tensor), searched over clipping at 30-100% of the largest magnitude. At 8 bits this
        is nearly always the min-max step; at 4 bits clipping the outliers pays."""
        w = weight.reshape(len(weight), -1) if self.per_channel else weight.reshape(1, -1)
        max_abs = w.abs().amax(1).clamp(min=1e-8)
        best_err = torch.full_like(max_abs, float("inf"))
        best_step = max_abs / self.q
        for ratio in np.linspace(0.3, 1.0, 71):
            step = max_abs * ratio / self.q
            err = ((torch.clamp(torch.round(w / step[:, None]), -self.q, self.q) * step[:, None] - w) ** 2).sum(1)
            better = err < best_err
            best_err = torch.where(better, err, best_err)
            best_step = torch.where(better, step, best_step)
        return best_step

    def forward(self, weight):
        step = torch.exp(self.log_step).view(-1, *([1] * (weight.dim() - 1)))
        return round_ste(torch.clamp(weight / step, -self.q, self.q)) * step


class _StopForward(Exception):
    """Ends a calibration forward pass at the quantizer being calibrated."""


class ActQuantizer(nn.Module):
    """Per-tensor activation quantization to `bits` bits: levels [0, 2^bits - 1] with zero
    point 0 where the input is non-negative (after ReLU6: all levels for the useful range),
    else an integer zero point (asymmetric). The step is learned (log-parametrized, see
    WeightQuantizer); the zero point stays as calibrated.

    Until calibrate() has run, forward() passes values through and, while `observing`, keeps
    a random sample of them and their exact min and max."""

    def __init__(self, bits, unsigned):
        super().__init__()
        self.bits = bits
        self.unsigned = unsigned
        self.qmax = 2 ** bits - 1
        self.log_step = nn.Parameter(torch.zeros(()))
        self.register_buffer("zero_point", torch.zeros(()))
        self.register_buffer("calibrated", torch.zeros((), dtype=torch.bool))
        self.observing = False
        self.stop_after_observing = False
        self._samples = []
        self._min = float("inf")
        self._max = float("-inf")

    def forward(self, x):
        if self.observing:
            flat = x.detach().reshape(-1)
            self._min = min(self._min, float(flat.min()))
            self._max = max(self._max, float(flat.max()))
            keep = max(1, CALIBRATION_SAMPLES // 4)
            if len(flat) > keep:
                flat = flat[torch.randint(len(flat), (keep,))]
            self._samples.append(flat)
            if self.stop_after_observing:
                raise _StopForward
        if not self.calibrated:
            return x
        step = torch.exp(self.log_step)
        q = torch.clamp(round_ste(x / step) + self.zero_point, 0, self.qmax)
        return (q - self.zero_point) * step

    def calibrate(self):
        """Picks the range with the least squared error on the observed values, among clipping
        ranges from 5% to 100% of the observed min-max (min-max included). Against the plain
        min-max range this only ever lowers the error; it matters at 4 bits and for the long
        tails of the linear-bottleneck outputs."""
        values = torch.cat(self._samples)
        if len(values) > CALIBRATION_SAMPLES:
            values = values[torch.randperm(len(values))[:CALIBRATION_SAMPLES]]
        lo = 0.0 if self.unsigned else min(self._min, 0.0)
        hi = max(self._max, 0.0)
        if hi - lo < 1e-8:
            hi = lo + 1e-8
        best = None
        for ratio in np.linspace(0.05, 1.0, 64):
            step = (hi - lo) * ratio / self.qmax
            zero = 0.0 if self.unsigned else float(np.clip(round(-lo * ratio / step), 0, self.qmax))
            q = torch.clamp(torch.round(values / step) + zero, 0, self.qmax)
            err = float((((q - zero) * step - values) ** 2).mean())
            if best is None or err < best[0]:
                best = (err, step, zero)
        _, step, zero = best
        with torch.no_grad():
            self.log_step.fill_(math.log(step))
            self.zero_point.fill_(zero)
            self.calibrated.fill_(True)
        self._samples = []
        self.observing = False


class QuantConvBNAct(nn.Module):
    """ConvBNAct with BatchNorm folded, quantized weights and a quantized output."""

    def __init__(self, unit, w_bits, a_bits, per_channel=True):
        super().__init__()
        self.conv = fold_bn(unit.conv, unit.bn)
        self.weight_quant = WeightQuantizer(self.conv.weight, w_bits, per_channel)
        relu6 = isinstance(unit.act, nn.ReLU6)
        self.act = nn.ReLU6() if relu6 else nn.Identity()
        self.out_quant = ActQuantizer(a_bits, unsigned=relu6)

    def forward(self, x):
        c = self.conv
        y = F.conv2d(x, self.weight_quant(c.weight), c.bias, c.stride, c.padding, c.dilation, c.groups)
        return self.out_quant(self.act(y))


class QuantInvertedResidual(nn.Module):
    def __init__(self, block, w_bits, a_bits, per_channel=True):
        super().__init__()
        self.expand = QuantConvBNAct(block.expand, w_bits, a_bits, per_channel)
        self.depthwise = QuantConvBNAct(block.depthwise, w_bits, a_bits, per_channel)
        self.project = QuantConvBNAct(block.project, w_bits, a_bits, per_channel)
        self.residual = block.residual
        # The engine requantizes the sum of its two (differently scaled) inputs.
        self.add_quant = ActQuantizer(a_bits, unsigned=False) if self.residual else None

    def forward(self, x):
        y = self.project(self.depthwise(self.expand(x)))
        return self.add_quant(x + y) if self.residual else y


class QuantMobileNetV2(nn.Module):
    def __init__(self, model, w_bits, a_bits, end_bits, per_channel=True):
        super().__init__()
        self.input_quant = ActQuantizer(8, unsigned=False)
        self.stem = QuantConvBNAct(model.stem, end_bits, a_bits, per_channel)
        self.blocks = nn.Sequential(*[QuantInvertedResidual(b, w_bits, a_bits, per_channel)
                                      for b in model.blocks])
        self.head = QuantConvBNAct(model.head, w_bits, a_bits, per_channel)
        self.pool_quant = ActQuantizer(end_bits, unsigned=True)
        self.classifier = copy.deepcopy(model.classifier)
        self.classifier_weight_quant = WeightQuantizer(self.classifier.weight, end_bits, per_channel)

    def forward(self, x):
        x = self.head(self.blocks(self.stem(self.input_quant(x))))
        x = self.pool_quant(F.adaptive_avg_pool2d(x, 1).flatten(1))
        return F.linear(x, self.classifier_weight_quant(self.classifier.weight), self.classifier.bias)


def quantize_mbv2(model, w_bits, a_bits, end_bits=8, per_channel=True):
    """Fake-quantized copy of a trained MobileNetV2Fmnist (BatchNorm folded; `model` is left
    as it is). The stem's weights and the classifier's weights and input get `end_bits`: as in
    LSQ and most low-bit work the first and last layers stay at 8 bits, where they cost little
    (the stem has 144 weights) and lose the most."""
    if not isinstance(model, MobileNetV2Fmnist):
        raise TypeError("quantize_mbv2 takes train_fmnist_mbv2.MobileNetV2Fmnist")
    assert all(isinstance(b, InvertedResidual) for b in model.blocks)
    assert isinstance(model.head, ConvBNAct)
    model.eval()
    return QuantMobileNetV2(model, w_bits, a_bits, end_bits, per_channel)


def calibrate(qmodel, images, batch_size=100):
    """Sets every activation range from `images` (uint8 [N, 28, 28]), in network order: each
    quantizer is calibrated on the outputs of the already quantized layers before it, so
    later ranges see the rounding error of earlier ones, as in the integer network."""
    quantizers = [m for m in qmodel.modules() if isinstance(m, ActQuantizer)]
    x_all = torch.from_numpy(common.normalize(images))
    qmodel.eval()
    with torch.no_grad():
        for quantizer in quantizers:
            # Nothing after this quantizer matters yet: stop the pass there.
            quantizer.observing = quantizer.stop_after_observing = True
            for start in range(0, len(x_all), batch_size):
                try:
                    qmodel(x_all[start:start + batch_size])
                except _StopForward:
                    pass
            quantizer.stop_after_observing = False
            quantizer.calibrate()
    return qmodel


def sparsity(modules):
    """(zero weights, weights) over the weights of the Conv2d and Linear modules given."""
    zeros = total = 0
    for m in modules:
        zeros += int((m.weight == 0).sum())
        total += m.weight.numel()
    return zeros, total
