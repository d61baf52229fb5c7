"""Loads the weights of a bundled .vkbnn model back into the PyTorch network it was converted from.

The converter folds BatchNorm into the convolutions and the binary weights' alpha and BatchNorm
into one scale and shift per channel, so the PyTorch model gets back the function, not the
training state: a BatchNorm that was folded becomes the identity in eval mode carrying the
folded affine (freeze_batchnorm keeps it that way while training), and a binary convolution's
latent weights become +-a0 with the scale moved into that BatchNorm. This is what lets training
continue from a shipped model, and distil from the shipped fp32 model, without the checkpoints.

The file is read with flatc (which the build needs anyway) against engine/schema/vkbnn_model.fbs;
nodes are matched to the network's layers in order, by op type and tensor shape.
"""

import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from bnn_modules import Block

REPO_ROOT = Path(__file__).resolve().parent.parent
SCHEMA = REPO_ROOT / "engine/schema/vkbnn_model.fbs"


def read_model(path, flatc="flatc"):
    """The model file as flatc's JSON: {"tensors": [...], "nodes": [...], ...}."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([flatc, "--json", "--strict-json", "--raw-binary", "-o", tmp, str(SCHEMA), "--", str(path)],
                       check=True)
        return json.loads((Path(tmp) / (Path(path).stem + ".json")).read_text())


class _Reader:
    def __init__(self, model):
        self.tensors = model["tensors"]
        self.nodes = iter(model["nodes"])

    def next(self, params_type):
        node = next(self.nodes, None)
        if node is None or node["params_type"] != params_type:
            got = node["params_type"] if node else "the end of the model"
            raise ValueError(f"expected a {params_type} node, found {got}")
        return node

    def floats(self, index, shape):
        t = self.tensors[index]
        if t.get("type", "Float32") != "Float32" or list(t["shape"]) != list(shape):
            raise ValueError(f"tensor {t['name']}: {t.get('type', 'Float32')} {t['shape']}, expected Float32 {shape}")
        return torch.from_numpy(np.frombuffer(bytes(t["data"]), dtype="<f4").reshape(shape).copy())

    def signs(self, index, shape):
        """A Bit weight [M, C, kH, kW] as +-1: bit c % 32 of word (m * words + c / 32) * taps + tap
        is set where the weight is negative."""
        t = self.tensors[index]
        if t.get("type") != "Bit" or list(t["shape"]) != list(shape):
            raise ValueError(f"tensor {t['name']}: {t.get('type', 'Float32')} {t['shape']}, expected Bit {shape}")
        m, c = shape[0], shape[1]
        taps = int(np.prod(shape[2:]))
        words = (c + 31) // 32
        packed = np.frombuffer(bytes(t["data"]), dtype="<u4")
        if packed.size != m * words * taps:
            raise ValueError(f"tensor {t['name']}: {packed.size} words, expected {m * words * taps}")
        packed = packed.reshape(m, words, taps)
        channel = np.arange(c)
        negative = (packed[:, channel // 32, :] >> (channel % 32)[None, :, None]) & 1
        return torch.from_numpy(np.where(negative == 1, -1.0, 1.0).astype(np.float32).reshape(shape))


def _set_folded_batchnorm(bn, scale, shift):
    """bn(x) = scale * x + shift in eval mode."""
    with torch.no_grad():
        bn.running_mean.zero_()
        bn.running_var.fill_(1.0)
        bn.weight.copy_(scale * float(np.sqrt(1.0 + bn.eps)))
        bn.bias.copy_(shift)


def _load_conv_bn(reader, conv, bn, node):
    weight = reader.floats(node["inputs"][1], conv.weight.shape)
    bias = reader.floats(node["inputs"][2], [conv.out_channels])
    with torch.no_grad():
        conv.weight.copy_(weight)
    _set_folded_batchnorm(bn, torch.ones_like(bias), bias)


def load_bnn(model, path, flatc="flatc"):
    """Loads a binarized network of train_fmnist_bnn.build_model's form (Conv, BatchNorm, Blocks,
    Flatten, Linear; binary weights on) from its .vkbnn file."""
    reader = _Reader(read_model(path, flatc))
    layers = list(model)
    if not (isinstance(layers[0], nn.Conv2d) and isinstance(layers[1], nn.BatchNorm2d)):
        raise ValueError("the network does not start with Conv2d + BatchNorm2d")
    _load_conv_bn(reader, layers[0], layers[1], reader.next("Conv2D"))
    for block in (layer for layer in layers if isinstance(layer, Block)):
        binarize = reader.next("Binarize")
        conv = reader.next("BinaryConv2D")
        act = conv["params"]["epilogue"].get("activation")
        if act != "RPRelu" or block.el is None or "link" not in conv["params"]["epilogue"]:
            raise ValueError(f"{conv['name']}: expected an RPRelu epilogue with an Elastic-Link")
        m = block.conv.out_channels
        # inputs: X, W, scale, shift, X_real, gamma, shift_in, slope, shift_out
        x, w, scale, shift, _, gamma, shift_in, slope, shift_out = conv["inputs"]
        signs = reader.signs(w, block.conv.weight.shape)
        # Latent weights of the size a fresh layer's have on average (kaiming-uniform bound
        # 1 / sqrt(fan_in), mean magnitude half of it), so that Adam flips signs at the rate
        # it did in training; their alpha a0 goes back out through the BatchNorm.
        a0 = 0.5 / float(np.sqrt(block.conv.weight[0].numel()))
        with torch.no_grad():
            block.sign.bias.copy_(reader.floats(binarize["inputs"][1], [block.sign.bias.shape[1]]).view(1, -1, 1, 1))
            block.conv.weight.copy_(signs * a0)
            block.el.gamma.copy_(reader.floats(gamma, [m]).view(1, -1, 1, 1))
            block.act.shift_in.copy_(reader.floats(shift_in, [m]).view(1, -1, 1, 1))
            block.act.prelu.weight.copy_(reader.floats(slope, [m]))
            block.act.shift_out.copy_(reader.floats(shift_out, [m]).view(1, -1, 1, 1))
        _set_folded_batchnorm(block.bn, reader.floats(scale, [m]) / a0, reader.floats(shift, [m]))
    reader.next("Reshape")
    fc = reader.next("FullyConnected")
    linear = layers[-1]
    with torch.no_grad():
        linear.weight.copy_(reader.floats(fc["inputs"][1], linear.weight.shape))
        linear.bias.copy_(reader.floats(fc["inputs"][2], linear.bias.shape))


def load_cnn(model, path, flatc="flatc"):
    """Loads train_fmnist_cnn.build_model's network (Conv, BatchNorm, ReLU, MaxPool, ..., Flatten,
    Linear) from its .vkbnn file."""
    reader = _Reader(read_model(path, flatc))
    layers = list(model)
    for i, layer in enumerate(layers):
        if isinstance(layer, nn.Conv2d):
            _load_conv_bn(reader, layer, layers[i + 1], reader.next("Conv2D"))
        elif isinstance(layer, nn.MaxPool2d):
            reader.next("Pool2D")
        elif isinstance(layer, nn.Flatten):
            reader.next("Reshape")
        elif isinstance(layer, nn.Linear):
            fc = reader.next("FullyConnected")
            with torch.no_grad():
                layer.weight.copy_(reader.floats(fc["inputs"][1], layer.weight.shape))
                layer.bias.copy_(reader.floats(fc["inputs"][2], layer.bias.shape))


def freeze_batchnorm(model):
    """Keeps every BatchNorm in eval mode (its running statistics fixed, its affine trained) when
    model.train() is called: the statistics of a loaded model are folded, not measured."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.eval()
            m.train = lambda mode=True, m=m: m
