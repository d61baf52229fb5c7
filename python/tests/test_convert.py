"""vkbnn.convert: graphs exported from PyTorch, converted, run, and compared with PyTorch."""

import shutil
import sys

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

import vkbnn
from conftest import IMAGES, SOURCE_DIR
from models import export_small_net

sys.path.insert(0, str(SOURCE_DIR / "training"))
from bnn_modules import Block, set_binary_weights  # noqa: E402


def torch_run(net, x):
    with torch.no_grad():
        return net(torch.from_numpy(x)).numpy()


def test_converted_fp32_model_matches_pytorch(context, tmp_path, rng):
    net = export_small_net(tmp_path / "small.onnx")
    summary = vkbnn.convert(tmp_path / "small.onnx", tmp_path / "small.vkbnn", labels=list("abcde"),
                            mean=[0.5, 0.5, 0.5], std=[0.25, 0.25, 0.25], description="from pytest")
    assert summary.fused_activations == 2
    assert "wrote" not in str(summary) and summary.nodes[0].op in str(summary)
    assert summary.file_bytes == (tmp_path / "small.vkbnn").stat().st_size

    model = vkbnn.Model.load(tmp_path / "small.vkbnn")
    assert model.metadata.labels == list("abcde") and model.metadata.description == "from pytest"
    assert model.metadata.mean == [0.5] * 3
    assert [t.name for t in model.inputs] == ["image"] and [t.name for t in model.outputs] == ["scores"]
    first = summary.nodes[0].name
    network = vkbnn.Network(context, model, taps=[first], poison_arena=True)
    x = rng.standard_normal((1, 3, 16, 16)).astype(np.float32)
    y = network.run({"image": x})["scores"]
    expected = torch_run(net, x)
    assert np.allclose(y, expected, rtol=1e-4, atol=1e-5), np.abs(y - expected).max()
    # The first node is the convolution with BatchNorm folded in and ReLU fused.
    tapped = network.read_tensor(first)
    with torch.no_grad():
        reference = net.features[2](net.features[1](net.features[0](torch.from_numpy(x)))).numpy()
    assert tapped.shape == reference.shape
    assert np.allclose(tapped, reference, rtol=1e-4, atol=1e-5), np.abs(tapped - reference).max()


def test_int8_quantization_from_arrays_and_from_an_image_folder(context, tmp_path, rng):
    net = export_small_net(tmp_path / "small.onnx")
    samples = rng.standard_normal((24, 1, 3, 16, 16)).astype(np.float32)
    calls = []
    summary = vkbnn.convert(tmp_path / "small.onnx", tmp_path / "int8.vkbnn", quantize="int8", calib=samples,
                            calib_method="minmax", progress=lambda done, total: calls.append((done, total)))
    assert calls and calls[-1][0] == calls[-1][1]
    methods = {q.method for q in summary.quantization}
    assert "minmax" in methods and methods <= {"minmax", "minmax (output)", "input's"}, methods
    model = vkbnn.Model.load(tmp_path / "int8.vkbnn")
    network = vkbnn.Network(context, model)
    assert "int8" in {layer.precision for layer in network.layers()}
    x = samples[3]
    y = network.run(x)
    expected = torch_run(net, x)
    # int8 costs accuracy: within a few per cent of the output range, and the same top class.
    assert np.abs(y - expected).max() < 0.05 * np.abs(expected).max() + 1e-3
    assert y.argmax() == expected.argmax()

    folder = tmp_path / "calib"
    folder.mkdir()
    for image in sorted(IMAGES.glob("*.png")):
        shutil.copy(image, folder)
    summary = vkbnn.convert(tmp_path / "small.onnx", tmp_path / "folder.vkbnn", quantize="int8", calib=folder,
                            calib_count=4, mean=[0.5] * 3, std=[0.25] * 3)
    assert summary.quantization
    assert "int8" in {layer.precision for layer in vkbnn.Network(context, vkbnn.Model.load(tmp_path / "folder.vkbnn")).layers()}


def test_int8_edges_of_a_binarized_network(context, tmp_path, rng):
    """quantize="int8" on a BNN: the binary layers stay binary, the real stem and classifier become int8."""
    torch.manual_seed(1)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 32, 3, padding=1), torch.nn.BatchNorm2d(32), torch.nn.ReLU(),
                              Block(32, 32, 3, 1), Block(32, 64, 3, 2, group_order="strided"),
                              torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(64, 5))
    set_binary_weights(net, True)
    net.eval()
    torch.onnx.export(net, torch.randn(1, 3, 16, 16), str(tmp_path / "bnn.onnx"), opset_version=13)
    samples = rng.standard_normal((24, 1, 3, 16, 16)).astype(np.float32)
    summary = vkbnn.convert(tmp_path / "bnn.onnx", tmp_path / "int8.vkbnn", quantize="int8", calib=samples[:16])
    vkbnn.convert(tmp_path / "bnn.onnx", tmp_path / "fp32.vkbnn")
    assert {q.op for q in summary.quantization} == {"Int8Conv2D", "Int8FullyConnected"}, summary
    int8 = vkbnn.Network(context, vkbnn.Model.load(tmp_path / "int8.vkbnn"))
    precisions = {(layer.op, layer.precision) for layer in int8.layers()}
    assert {("Int8Conv2D", "int8"), ("Int8FullyConnected", "int8"), ("BinaryConv2D", "binary")} <= precisions
    assert not {op for op, precision in precisions if op in ("Conv2D", "FullyConnected")}, precisions
    fp32 = vkbnn.Network(context, vkbnn.Model.load(tmp_path / "fp32.vkbnn"))
    y = np.concatenate([int8.run(x) for x in samples[16:]])
    expected = np.concatenate([fp32.run(x) for x in samples[16:]])
    # A value that int8 moves across a binarization threshold flips a sign, which changes the
    # outputs by a step: the error of an untrained BNN is lumpy (observed 0.016).
    error = np.linalg.norm(y - expected) / np.linalg.norm(expected)
    assert error < 0.04, error


def test_converter_errors_raise(tmp_path):
    (tmp_path / "junk.onnx").write_bytes(b"\x08\x07garbage")
    with pytest.raises(vkbnn.ModelError):
        vkbnn.convert(tmp_path / "junk.onnx", tmp_path / "out.vkbnn")
    with pytest.raises(vkbnn.Error, match="no such|cannot|missing"):
        vkbnn.convert(tmp_path / "missing.onnx", tmp_path / "out.vkbnn")

    weight = numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32), "weight")
    graph = helper.make_graph(
        [helper.make_node("Conv", ["input", "weight"], ["conv"], name="conv0", pads=[1, 1, 1, 1]),
         helper.make_node("Einsum", ["conv"], ["output"], name="odd_node", equation="nchw->nchw")],
        "unsupported", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 4, 8, 8])], [weight])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), tmp_path / "einsum.onnx")
    with pytest.raises(vkbnn.UnsupportedError, match="Einsum.*odd_node|odd_node.*Einsum"):
        vkbnn.convert(tmp_path / "einsum.onnx", tmp_path / "out.vkbnn")

    export_small_net(tmp_path / "small.onnx")
    with pytest.raises(vkbnn.Error, match="needs calibration data"):
        vkbnn.convert(tmp_path / "small.onnx", tmp_path / "out.vkbnn", quantize="int8")
    with pytest.raises(vkbnn.Error, match="calib: sample 0 has 5 values"):
        vkbnn.convert(tmp_path / "small.onnx", tmp_path / "out.vkbnn", quantize="int8", calib=[np.zeros(5)])
    with pytest.raises(vkbnn.Error, match="apply only with"):
        vkbnn.convert(tmp_path / "small.onnx", tmp_path / "out.vkbnn", calib=[np.zeros(5)])


def export_convert_run(context, tmp_path, net, x, name, output_names):
    """Exports net, converts it and runs it on x: the model, vkbnn's outputs and PyTorch's."""
    net.eval()
    torch.onnx.export(net, torch.from_numpy(x), str(tmp_path / f"{name}.onnx"), opset_version=13,
                      input_names=["x"], output_names=output_names)
    vkbnn.convert(tmp_path / f"{name}.onnx", tmp_path / f"{name}.vkbnn")
    model = vkbnn.Model.load(tmp_path / f"{name}.vkbnn")
    outputs = vkbnn.Network(context, model, poison_arena=True).run([x])
    with torch.no_grad():
        expected = [t.numpy() for t in net(torch.from_numpy(x))]
    return model, outputs, expected


def test_argmax_outputs_come_back_as_int64(context, tmp_path, rng):
    class Segmenter(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 5, 3, padding=1)

        def forward(self, x):
            y = self.conv(x)
            return y.argmax(dim=1), y

    x = rng.standard_normal((1, 3, 6, 7)).astype(np.float32)
    model, (classes, scores), (expected_classes, expected_scores) = export_convert_run(
        context, tmp_path, Segmenter(), x, "seg", ["classes", "scores"])
    assert [t.integer for t in model.outputs] == [True, False]
    assert classes.dtype == np.int64 and scores.dtype == np.float32
    assert np.array_equal(classes, expected_classes)
    assert np.allclose(scores, expected_scores, rtol=1e-4, atol=1e-5)


def test_comparison_outputs_come_back_as_bool(context, tmp_path, rng):
    class Mask(torch.nn.Module):
        def forward(self, x):
            return x > x.mean(dim=1, keepdim=True), x.abs()

    x = rng.standard_normal((1, 4, 5, 6)).astype(np.float32)
    model, (mask, magnitude), (expected_mask, expected_magnitude) = export_convert_run(
        context, tmp_path, Mask(), x, "mask", ["mask", "magnitude"])
    assert [(t.boolean, t.integer) for t in model.outputs] == [(True, False), (False, False)]
    assert mask.dtype == np.bool_ and magnitude.dtype == np.float32
    assert 0 < mask.sum() < mask.size
    assert np.array_equal(mask, expected_mask)
    assert np.array_equal(magnitude, expected_magnitude)
