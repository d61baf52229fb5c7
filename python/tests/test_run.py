"""Networks run from Python: the same numbers as the C++ tools, every input form, profiles, taps."""

import json
import threading

import numpy as np
import pytest

import vkbnn
from conftest import BINARY_DIR, IMAGES, MODELS, run_tool, tool

BUNDLED = ["fmnist-cnn-fp32", "fmnist-cnn-int8", "fmnist-mbv2-fp32", "fmnist-bnn-el"]


def test_the_module_under_test_is_the_build_trees():
    assert str(vkbnn.__file__).startswith(str(BINARY_DIR)), vkbnn.__file__


@pytest.mark.parametrize("name", BUNDLED)
def test_outputs_equal_vkbnn_runs_bit_for_bit(context, rng, tmp_path, name):
    path = MODELS / f"{name}.vkbnn"
    model = vkbnn.Model.load(path)
    x = rng.standard_normal(model.inputs[0].shape).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    run_tool(tool("vkbnn-run"), path, "--input", tmp_path / "x.npy", "--output", tmp_path / "y.npy")
    expected = np.load(tmp_path / "y.npy")

    network = vkbnn.Network(context, model, poison_arena=True)
    y = network.run(x)
    assert y.dtype == np.float32 and y.shape == tuple(model.outputs[0].shape)
    assert np.array_equal(y, expected), np.abs(y - expected).max()
    # The array wraps the engine's result vector rather than a copy of it.
    assert not y.flags["OWNDATA"] and y.base is not None


def test_images_are_preprocessed_as_vkbnn_run_does(context):
    path = MODELS / "fmnist-cnn-fp32.vkbnn"
    image = IMAGES / "6-coat.png"
    report = json.loads(run_tool(tool("vkbnn-run"), path, image, "--json").stdout)
    expected = np.array(report["images"][0]["output"], np.float32)

    model = vkbnn.Model.load(path)
    x = vkbnn.load_image(image, model)
    assert x.shape == (1, 1, 28, 28) and x.dtype == np.float32
    scores = vkbnn.Network(context, model).run(x)
    assert np.array_equal(scores.reshape(-1), expected)
    assert model.metadata.labels[int(scores.argmax())] == "Coat"

    from PIL import Image
    pixels = np.asarray(Image.open(image).convert("L"))
    assert np.array_equal(vkbnn.preprocess(pixels, model), x)


def test_every_input_form_gives_the_same_outputs(context, rng):
    model = vkbnn.Model.load(MODELS / "fmnist-cnn-fp32.vkbnn")
    network = vkbnn.Network(context, model)
    (inp,), (out,) = network.inputs, network.outputs
    x = rng.standard_normal(inp.shape).astype(np.float32)
    single = network.run(x)
    listed = network.run([x])
    mapped = network.run({inp.name: x})
    assert isinstance(listed, list) and len(listed) == 1
    assert set(mapped) == {out.name}
    assert np.array_equal(listed[0], single) and np.array_equal(mapped[out.name], single)
    # float64 and non-contiguous arrays are converted; a flat array of the right size is taken.
    assert np.array_equal(network.run(x.astype(np.float64)), single)
    wide = np.zeros(inp.shape[:-1] + (inp.shape[-1] * 2,), np.float32)
    wide[..., ::2] = x
    assert np.array_equal(network.run(wide[..., ::2]), single)
    assert np.array_equal(network.run(x.reshape(-1)), single)


def test_wrong_inputs_raise_vkbnn_errors(context):
    model = vkbnn.Model.load(MODELS / "fmnist-cnn-fp32.vkbnn")
    network = vkbnn.Network(context, model)
    with pytest.raises(vkbnn.Error, match=r"shape \(3, 3\).*\(1, 1, 28, 28\)"):
        network.run(np.zeros((3, 3), np.float32))
    with pytest.raises(vkbnn.Error, match="1 input"):
        network.run([np.zeros((1, 1, 28, 28), np.float32)] * 2)
    with pytest.raises(vkbnn.Error, match="no array was given for the input 'input'"):
        network.run({"other": np.zeros((1, 1, 28, 28), np.float32)})
    with pytest.raises(vkbnn.Error, match="no input named 'extra'"):
        network.run({"input": np.zeros((1, 1, 28, 28), np.float32), "extra": np.zeros(1)})
    with pytest.raises(TypeError):  # NumPy's own message: float() argument must be ... not 'object'
        network.run(object())
    with pytest.raises(vkbnn.Error, match="not tapped|taps|no tensor"):
        network.read_tensor("no_such_layer")


def test_profile_and_layers(context, rng):
    model = vkbnn.Model.load(MODELS / "fmnist-bnn-el.vkbnn")
    network = vkbnn.Network(context, model, profiling=True)
    assert network.profiling
    network.run(rng.standard_normal(model.inputs[0].shape).astype(np.float32))
    profile = network.last_profile()
    layers = network.layers()
    assert [t.name for t in profile.layers] == [layer.name for layer in layers]
    assert {layer.precision for layer in layers} >= {"binary", "fp32"}
    assert all(t.gpu_us >= 0 for t in profile.layers)
    assert sum(t.gpu_us for t in profile.layers) <= profile.gpu_us * 1.0001
    parts = profile.upload_us + profile.submit_us + profile.wait_us + profile.readback_us
    assert profile.total_us > 0 and parts == pytest.approx(profile.total_us, rel=0.05)

    network.profiling = False
    network.run(rng.standard_normal(model.inputs[0].shape).astype(np.float32))
    assert network.last_profile().layers == []
    assert network.memory().arena_bytes > 0 and network.load_report.total_ms > 0


def test_bad_models_raise_model_errors(tmp_path):
    with pytest.raises(vkbnn.ModelError, match="no such model file"):
        vkbnn.Model.load(tmp_path / "missing.vkbnn")
    with pytest.raises(vkbnn.ModelError, match="not a vkbnn model file"):
        vkbnn.Model.from_bytes(b"this is not a model at all")
    good = (MODELS / "fmnist-cnn-fp32.vkbnn").read_bytes()
    (tmp_path / "truncated.vkbnn").write_bytes(good[: len(good) // 2])
    with pytest.raises(vkbnn.ModelError) as raised:
        vkbnn.Model.load(tmp_path / "truncated.vkbnn")
    assert "truncated.vkbnn" in str(raised.value)
    assert issubclass(vkbnn.ModelError, vkbnn.Error) and issubclass(vkbnn.Error, RuntimeError)
    corrupt = bytearray(good)
    corrupt[0:4] = (len(good) + 100).to_bytes(4, "little")  # the FlatBuffers root offset, past the end
    with pytest.raises(vkbnn.ModelError):
        vkbnn.Model.from_bytes(bytes(corrupt))
    assert vkbnn.Model.from_bytes(good).node_count == vkbnn.Model.load(MODELS / "fmnist-cnn-fp32.vkbnn").node_count


def test_threads_sharing_a_network_take_turns(context, rng):
    model = vkbnn.Model.load(MODELS / "fmnist-mbv2-fp32.vkbnn")
    network = vkbnn.Network(context, model)
    inputs = [rng.standard_normal(model.inputs[0].shape).astype(np.float32) for _ in range(4)]
    expected = [network.run(x) for x in inputs]
    results = {}

    def work(k):
        results[k] = [network.run(inputs[(k + i) % 4]) for i in range(6)]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in range(4):
        for i, y in enumerate(results[k]):
            assert np.array_equal(y, expected[(k + i) % 4])


def test_corrupted_models_load_or_raise_never_crash(context, rng):
    """Random bytes overwritten in the header and tables: a ModelError, or a model that runs."""
    good = (MODELS / "fmnist-cnn-int8.vkbnn").read_bytes()
    outcomes = {"ran": 0, "raised": 0}
    for _ in range(20):
        corrupt = bytearray(good)
        for _ in range(int(rng.integers(1, 6))):
            corrupt[int(rng.integers(0, min(len(corrupt), 4096)))] = int(rng.integers(0, 256))
        try:
            model = vkbnn.Model.from_bytes(bytes(corrupt))
            vkbnn.Network(context, model).run(np.zeros(model.inputs[0].shape, np.float32))
            outcomes["ran"] += 1
        except vkbnn.Error:
            outcomes["raised"] += 1
    assert outcomes["raised"] > 0 and outcomes["ran"] + outcomes["raised"] == 20, outcomes


def test_buffer_and_memory_limits(context, rng):
    model = vkbnn.Model.load(MODELS / "fmnist-cnn-fp32.vkbnn")
    x = rng.standard_normal(model.inputs[0].shape).astype(np.float32)
    whole = vkbnn.Network(context, model, poison_arena=True)
    expected = whole.run(x)
    memory = whole.memory()
    assert memory.weight_buffers == 1
    # Bindings just above the activations: the weights go over several buffers, the same bits out.
    limit = (memory.arena_bytes + 64 + 1023) // 1024 * 1024
    assert limit < memory.weight_bytes
    split = vkbnn.Network(context, model, poison_arena=True, max_buffer_range=limit)
    assert split.memory().weight_buffers > 1
    assert np.array_equal(split.run(x), expected)
    with pytest.raises(vkbnn.MemoryLimitError, match="max_device_memory"):
        vkbnn.Network(context, model, max_device_memory=memory.arena_bytes)
