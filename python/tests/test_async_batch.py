"""submit()/wait() from Python, and a batch chosen when the Network is built."""

import time

import numpy as np
import pytest
import torch

import vkbnn
from counting_thread import counting_thread, windows_with_ticks_inside
from models import export_deep_convs, export_small_net


def small_model(tmp_path, **convert_args):
    net = export_small_net(tmp_path / "small.onnx")
    vkbnn.convert(tmp_path / "small.onnx", tmp_path / "small.vkbnn", **convert_args)
    return net, vkbnn.Model.load(tmp_path / "small.vkbnn")


def test_submits_waited_out_of_order_equal_runs(context, rng, tmp_path):
    _, model = small_model(tmp_path)
    network = vkbnn.Network(context, model, in_flight=3, poison_arena=True)
    inputs = [rng.standard_normal(model.inputs[0].shape).astype(np.float32) for _ in range(5)]
    expected = [network.run(x) for x in inputs]
    tickets = [network.submit(x) for x in inputs]
    assert [t.id for t in tickets] == [6, 7, 8, 9, 10]  # the five runs above took 1 to 5
    for i in [3, 0, 4, 2, 1]:
        assert np.array_equal(network.wait(tickets[i]), expected[i])
    with pytest.raises(vkbnn.Error, match="was already waited for"):
        network.wait(tickets[0])
    # A dict in gives a dict out, as run() does.
    name = model.inputs[0].name
    outputs = network.wait(network.submit({name: inputs[1]}))
    assert list(outputs) == [model.outputs[0].name]
    assert np.array_equal(outputs[model.outputs[0].name], expected[1])


def test_a_python_thread_progresses_during_wait(context, rng, tmp_path):
    export_deep_convs(tmp_path / "deep.onnx")
    vkbnn.convert(tmp_path / "deep.onnx", tmp_path / "deep.vkbnn")
    model = vkbnn.Model.load(tmp_path / "deep.vkbnn")
    network = vkbnn.Network(context, model)
    x = rng.standard_normal(model.inputs[0].shape).astype(np.float32)
    expected = network.run(x)

    windows = []
    with counting_thread() as ticks:
        for _ in range(6):
            ticket = network.submit(x)
            start = time.perf_counter()
            y = network.wait(ticket)
            windows.append((start, time.perf_counter()))
            assert np.array_equal(y, expected)
    inside = windows_with_ticks_inside(ticks, windows)
    assert min(e - s for s, e in windows) > 0.005, "the waits are too short to tell"
    assert inside >= len(windows) // 2, f"ticks in the middle of {inside} of {len(windows)} waits"


def test_dynamic_batch_chosen_when_the_network_is_built(context, rng, tmp_path):
    net, model = small_model(tmp_path, dynamic_batch=True)
    assert model.inputs[0].shape[0] == 1 and model.dynamic_batch == 1
    assert model.with_batch(4).inputs[0].shape[0] == 4
    network = vkbnn.Network(context, model, batch=6, poison_arena=True)
    assert network.inputs[0].shape[0] == 6
    x = rng.standard_normal(network.inputs[0].shape).astype(np.float32)
    y = network.run(x)
    with torch.no_grad():
        reference = net(torch.from_numpy(x)).numpy()
    assert y.shape == reference.shape
    assert np.allclose(y, reference, rtol=1e-4, atol=1e-5), np.abs(y - reference).max()
    with pytest.raises(vkbnn.Error, match="--dynamic-batch"):
        _, fixed = small_model(tmp_path)
        vkbnn.Network(context, fixed, batch=6)
