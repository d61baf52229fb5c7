#!/usr/bin/env python3
"""Throughput of batched and pipelined runs: vkbnn-eval on the Fashion-MNIST test images at
batch 1, 8 and 32, each with runs in flight (the default: the next batch is decoded,
preprocessed and submitted while the GPU works) and with --blocking, in one run.

  benchmarks/batch_throughput.py [--images N] [--rounds R] [--device N] [--out results.json]

The networks are the bundled models' architectures (training/train_fmnist_cnn.py and
train_fmnist_mbv2.py) with random weights: throughput does not depend on the weights. Each is
exported with a dynamic batch axis and converted once with vkbnn-convert --dynamic-batch; every
batch is then chosen with vkbnn-eval --batch. The configurations are interleaved over the rounds
and the median images/s of each is reported, so load on the machine spreads over all of them.
Prints a Markdown table and writes the measurements as JSON (default
build/benchmarks/batch_throughput.json).
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
sys.path.insert(0, str(ROOT / "training"))

import torch  # noqa: E402

import common  # noqa: E402
import train_fmnist_cnn  # noqa: E402
import train_fmnist_mbv2  # noqa: E402

NETWORKS = {"fmnist-cnn-fp32": train_fmnist_cnn.build_model, "fmnist-mbv2-fp32": train_fmnist_mbv2.build_model}
BATCHES = [1, 8, 32]


def export(build_model, path):
    torch.manual_seed(0)
    model = build_model().eval()
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), str(path), opset_version=13, input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})


def evaluate(model, batch, blocking, args):
    command = [str(BUILD / "tools" / "vkbnn-eval"), str(model),
               "--images", str(common.find_idx(common.DEFAULT_DATA_DIR, "t10k-images-idx3-ubyte")),
               "--labels", str(common.find_idx(common.DEFAULT_DATA_DIR, "t10k-labels-idx1-ubyte")),
               "--limit", str(args.images), "--batch", str(batch), "--json"]
    if blocking:
        command.append("--blocking")
    if args.device is not None:
        command += ["--device", str(args.device)]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=2048, help="test images per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--device", type=int)
    parser.add_argument("--out", type=Path, default=BUILD / "benchmarks" / "batch_throughput.json")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="vkbnn-batch-"))
    models = {}
    for name, build_model in NETWORKS.items():
        onnx_path = work / f"{name}.onnx"
        export(build_model, onnx_path)
        models[name] = work / f"{name}.vkbnn"
        common.convert(BUILD / "converter" / "vkbnn-convert", onnx_path, models[name],
                       f"{name} architecture, random weights", ["--dynamic-batch"], capture=True)

    configs = [(name, batch, blocking) for name in NETWORKS for batch in BATCHES for blocking in (True, False)]
    rates = {config: [] for config in configs}
    device = None
    for round_index in range(args.rounds):
        for config in configs:
            report = evaluate(models[config[0]], config[1], config[2], args)
            device = report["device"]
            rates[config].append(report["images_per_second"])
        print(f"round {round_index + 1}/{args.rounds} done", file=sys.stderr)

    median = {config: statistics.median(values) for config, values in rates.items()}
    print(f"device: {device}; {args.images} images per measurement, median of {args.rounds} interleaved rounds;"
          f" load average {os.getloadavg()[0]:.1f} at the end\n")
    print("| network | batch | blocking images/s | in flight images/s | in flight / blocking | vs batch 1 blocking |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in NETWORKS:
        base = median[(name, 1, True)]
        for batch in BATCHES:
            blocking, pipelined = median[(name, batch, True)], median[(name, batch, False)]
            print(f"| {name} | {batch} | {blocking:.0f} | {pipelined:.0f} | {pipelined / blocking:.2f}x "
                  f"| {pipelined / base:.2f}x |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"device": device, "images": args.images, "rounds": args.rounds,
                                    "runs": [{"network": c[0], "batch": c[1], "blocking": c[2],
                                              "images_per_second": rates[c]} for c in configs]}, indent=2))


if __name__ == "__main__":
    main()
