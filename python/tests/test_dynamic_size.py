"""A model converted with dynamic_size, built for another input size; one that pins it, refused."""

import numpy as np
import pytest
import torch

import vkbnn
from models import export_deep_convs, export_small_net


def test_network_at_another_input_size(context, rng, tmp_path):
    net = export_deep_convs(tmp_path / "deep.onnx", size=32)
    vkbnn.convert(tmp_path / "deep.onnx", tmp_path / "deep.vkbnn", dynamic_size=True)
    model = vkbnn.Model.load(tmp_path / "deep.vkbnn")
    assert model.dynamic_size and tuple(model.inputs[0].shape) == (1, 3, 32, 32)
    assert tuple(model.with_input_sizes([[24, 40]]).outputs[0].shape) == (1, 32, 24, 40)
    network = vkbnn.Network(context, model, input_size=(24, 40), poison_arena=True)
    assert tuple(network.inputs[0].shape) == (1, 3, 24, 40)
    x = rng.standard_normal((1, 3, 24, 40)).astype(np.float32)
    y = network.run(x)
    with torch.no_grad():
        reference = net(torch.from_numpy(x)).numpy()
    assert y.shape == reference.shape
    assert np.allclose(y, reference, rtol=1e-4, atol=1e-5), np.abs(y - reference).max()
    with pytest.raises(vkbnn.Error, match="out of range"):
        vkbnn.Network(context, model, input_size=(0, 40))


def test_a_model_that_pins_its_size_is_refused(tmp_path):
    export_small_net(tmp_path / "small.onnx")
    with pytest.raises(vkbnn.Error, match="FullyConnected.*pins the input size"):
        vkbnn.convert(tmp_path / "small.onnx", tmp_path / "small.vkbnn", dynamic_size=True)
    vkbnn.convert(tmp_path / "small.onnx", tmp_path / "small.vkbnn")
    fixed = vkbnn.Model.load(tmp_path / "small.vkbnn")
    assert not fixed.dynamic_size
    with pytest.raises(vkbnn.Error, match="--dynamic-size"):
        fixed.with_input_sizes([[32, 32]])
