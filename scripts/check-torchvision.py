#!/usr/bin/env python3
"""Every torchvision family through vkbnn: export (random weights), convert, run, compare.

For each model: tests/python/export_torchvision.py writes the ONNX graph, an input and PyTorch's
output; vkbnn-convert converts it; vkbnn-run runs it in raw mode (validation layer on); the
relative L2 error against PyTorch is printed as one Markdown table row. A model that fails shows
the first line of the failing step's message, so the table is the list of what is left to do.

    /usr/bin/python3 scripts/check-torchvision.py [--build build] [--models resnet18 vit_b_16 ...]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

# One model per family of torchvision 0.14, at its default input size.
FAMILIES = [
    ("alexnet", 224), ("vgg11", 224), ("googlenet", 224), ("inception_v3", 299), ("densenet121", 224),
    ("shufflenet_v2_x1_0", 224), ("mobilenet_v2", 224), ("mobilenet_v3_small", 224), ("regnet_y_400mf", 224),
    ("resnet18", 224), ("resnext50_32x4d", 224), ("efficientnet_b0", 224), ("efficientnet_v2_s", 384),
    ("convnext_tiny", 224), ("mnasnet0_5", 224), ("squeezenet1_1", 224), ("vit_b_16", 224), ("swin_t", 224),
    ("maxvit_t", 224), ("fcn_resnet50", 224), ("deeplabv3_mobilenet_v3_large", 224),
    ("lraspp_mobilenet_v3_large", 224),
]


def first_line(text):
    lines = [line for line in text.splitlines() if line.strip() and "Warning" not in line]
    return lines[-1].strip() if lines else "(no output)"


def step(command, timeout):
    try:
        r = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, f"timed out after {timeout} s"
    return r.returncode == 0, r.stdout + r.stderr


def check(name, size, build, work, timeout):
    started = time.time()
    ok, out = step([sys.executable, str(ROOT / "tests/python/export_torchvision.py"), "--model", name,
                    "--out-dir", str(work), "--size", str(size), "--keep-batchnorm",
                    "--randomize-constant-parameters"], timeout)
    if not ok:
        return {"model": name, "stage": "export", "detail": first_line(out)}
    model = work / f"{name}.vkbnn"
    ok, out = step([str(build / "converter/vkbnn-convert"), str(work / f"{name}.onnx"), "-o", str(model)], timeout)
    if not ok:
        return {"model": name, "stage": "convert", "detail": first_line(out)}
    output = work / f"{name}.vkbnn-output.npy"
    ok, out = step([str(build / "tools/vkbnn-run"), str(model), "--input", str(work / f"{name}.input.npy"),
                    "--output", str(output)], timeout)
    if not ok:
        return {"model": name, "stage": "run", "detail": first_line(out)}
    expected = np.load(work / f"{name}.expected.npy").astype(np.float64).ravel()
    got = np.load(output).astype(np.float64).ravel()
    if got.shape != expected.shape:
        return {"model": name, "stage": "compare", "detail": f"{got.size} outputs, PyTorch gives {expected.size}"}
    error = float(np.linalg.norm(got - expected) / max(np.linalg.norm(expected), 1e-30))
    return {"model": name, "stage": "ok" if error <= 1e-4 else "compare", "relative_l2": error,
            "detail": f"relative L2 {error:.2e}", "seconds": round(time.time() - started, 1)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", type=Path, default=ROOT / "build", help="the CMake build folder with tools/")
    parser.add_argument("--models", nargs="*", help="model names (default: one per family)")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per step")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    os.environ.setdefault("VKBNN_VALIDATION", "1")
    sizes = dict(FAMILIES)
    names = args.models or [name for name, _ in FAMILIES]
    results = []
    print("| model | result |\n|---|---|", flush=True)
    with tempfile.TemporaryDirectory(prefix="vkbnn-torchvision-") as tmp:
        for name in names:
            r = check(name, sizes.get(name, 224), args.build.resolve(), Path(tmp), args.timeout)
            results.append(r)
            verdict = r["detail"] if r["stage"] in ("ok", "compare") else f"{r['stage']} fails: {r['detail']}"
            print(f"| {name} | {verdict} |", flush=True)
            for f in Path(tmp).iterdir():
                f.unlink()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    passed = sum(r["stage"] == "ok" for r in results)
    print(f"\n{passed} of {len(results)} match PyTorch within 1e-4 relative L2")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
