"""The GIL is let go while the GPU works: another Python thread keeps running during run()."""

import time

import numpy as np

import vkbnn
from counting_thread import counting_thread, windows_with_ticks_inside
from models import export_deep_convs


def test_a_python_thread_progresses_during_runs(context, tmp_path, rng):
    export_deep_convs(tmp_path / "deep.onnx")
    vkbnn.convert(tmp_path / "deep.onnx", tmp_path / "deep.vkbnn")
    model = vkbnn.Model.load(tmp_path / "deep.vkbnn")
    network = vkbnn.Network(context, model)
    x = rng.standard_normal(model.inputs[0].shape).astype(np.float32)
    network.run(x)

    windows = []
    with counting_thread() as ticks:
        for _ in range(8):
            start = time.perf_counter()
            network.run(x)
            windows.append((start, time.perf_counter()))

    inside = windows_with_ticks_inside(ticks, windows)
    durations = [end - start for start, end in windows]
    assert min(durations) > 0.005, f"the runs are too short to tell: {durations}"
    assert inside >= len(windows) // 2, f"ticks in the middle of {inside} of {len(windows)} runs"
