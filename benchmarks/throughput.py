#!/usr/bin/env python3
"""Throughput at batch 1, 8 and 32, with runs in flight and blocking, in one run.

  benchmarks/throughput.py [--rounds N] [--images N] [--device N] [--out results.json]

The network is the Fashion-MNIST CNN's architecture (training/train_fmnist_cnn.py) with random
weights, exported with a dynamic batch axis. Two measurements, each repeated in interleaved
rounds so that a change in the machine's load shows as spread, not as a difference:
  - vkbnn-eval on the first --images Fashion-MNIST test images, decoding and preprocessing
    included, on the model converted with --dynamic-batch, at each batch: images/s with two runs
    in flight (the default) and with --blocking;
  - vkbnn-bench on the model converted with --batch N: end-to-end time per run (upload, submit,
    wait, readback), as images/s = batch / time.
Prints Markdown tables of the per-round figures and their medians and writes them as JSON
(default build/benchmarks/throughput.json). Build the release preset first.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
BATCHES = (1, 8, 32)
FMNIST = Path("/usr/share/datasets/fashion-mnist")
PYTHON = os.environ.get("VKBNN_PYTHON", "/usr/bin/python3")


# Run with VKBNN_PYTHON (the interpreter with torch), as benchmarks/run runs its exports.
EXPORT = """
import sys, torch
sys.path.insert(0, sys.argv[1])
from train_fmnist_cnn import build_model
torch.manual_seed(0)
torch.onnx.export(build_model().eval(), torch.randn(1, 1, 28, 28), sys.argv[2], input_names=["input"],
                  output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                  opset_version=13)
"""


def export_dynamic_batch(path):
    subprocess.run([PYTHON, "-c", EXPORT, ROOT / "training", path], check=True)


def run_json(cmd):
    out = subprocess.run([str(c) for c in cmd], check=True, cwd=ROOT, text=True, stdout=subprocess.PIPE).stdout
    return json.loads(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--images", type=int, default=2048, help="test images per vkbnn-eval run")
    parser.add_argument("--iters", type=int, default=50, help="measured runs per vkbnn-bench run")
    parser.add_argument("--device", type=int)
    parser.add_argument("--out", type=Path, default=BUILD / "benchmarks" / "throughput.json")
    args = parser.parse_args()
    device = [] if args.device is None else ["--device", args.device]
    convert = BUILD / "converter" / "vkbnn-convert"
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        onnx_path = tmp / "fmnist-cnn.onnx"
        export_dynamic_batch(onnx_path)
        dynamic = tmp / "dynamic.vkbnn"
        subprocess.run([convert, onnx_path, "-o", dynamic, "--dynamic-batch"], check=True, stdout=subprocess.DEVNULL)
        fixed = {}
        for batch in BATCHES:
            fixed[batch] = tmp / f"batch{batch}.vkbnn"
            subprocess.run([convert, onnx_path, "-o", fixed[batch], "--batch", str(batch)], check=True,
                           stdout=subprocess.DEVNULL)
        eval_cmd = [BUILD / "tools" / "vkbnn-eval", dynamic, "--images", FMNIST / "t10k-images-idx3-ubyte.gz",
                    "--labels", FMNIST / "t10k-labels-idx1-ubyte.gz", "--limit", args.images, "--json", *device]
        rounds = []
        for r in range(args.rounds):
            row = {}
            for batch in BATCHES:
                for mode, flags in (("in_flight", []), ("blocking", ["--blocking"])):
                    report = run_json([*eval_cmd, "--batch", batch, *flags])
                    row[f"eval_b{batch}_{mode}"] = report["images_per_second"]
                bench = run_json([BUILD / "tools" / "vkbnn-bench", fixed[batch], "--iters", args.iters, "--warmup", 5,
                                  "--json", *device])
                e2e_us = bench["totals"]["end_to_end_median_us"]
                row[f"bench_b{batch}"] = batch / (e2e_us * 1e-6)
            rounds.append(row)
            print(f"round {r + 1}: " + ", ".join(f"{k} {v:.0f}" for k, v in row.items()), file=sys.stderr)
    median = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    names = [f"round {r + 1}" for r in range(len(rounds))] + ["median"]
    table = rounds + [median]
    print(f"vkbnn-eval, images/s ({args.images} images, decoding and preprocessing included):\n")
    print("| batch | mode | " + " | ".join(names) + " |")
    print("|---:|---|" + "---:|" * len(names))
    for batch in BATCHES:
        for mode, label in (("blocking", "`--blocking`"), ("in_flight", "two in flight")):
            key = f"eval_b{batch}_{mode}"
            print(f"| {batch} | {label} | " + " | ".join(f"{t[key]:.0f}" for t in table) + " |")
    print(f"\nvkbnn-bench, images/s = batch / median end-to-end time of {args.iters} runs:\n")
    print("| batch | " + " | ".join(names) + " |")
    print("|---:|" + "---:|" * len(names))
    for batch in BATCHES:
        print(f"| {batch} | " + " | ".join(f"{t[f'bench_b{batch}']:.0f}" for t in table) + " |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"rounds": rounds, "median": median, "images": args.images,
                                    "iters": args.iters, "load_average": os.getloadavg()}, indent=2))
    print(f"\nwrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
