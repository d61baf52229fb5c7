#!/usr/bin/env bash
# Binary against fp32 on the same device, one run: 3x3 convolutions at ResNet-18's layer shapes
# (vkbnn_bench_binary_conv, per-layer GPU time), then whole networks at 224x224 with random
# weights: torchvision's fp32 ResNet-18 and a binarized ResNet-18 with Elastic-Link
# (benchmarks/export_binary_resnet18.py), end to end. Run scripts/setup-debian.sh once before.
set -euo pipefail
cd "$(dirname "$0")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/xdg-runtime}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
cmake --preset release >/dev/null
cmake --build --preset release
out=build/bench-models
python="${VKBNN_PYTHON:-/usr/bin/python3}"
"$python" tests/python/export_torchvision.py --model resnet18 --out-dir "$out" --seed 1
"$python" benchmarks/export_binary_resnet18.py --out-dir "$out"
build/converter/vkbnn-convert "$out/resnet18.onnx" -o "$out/resnet18.vkbnn" >/dev/null
build/converter/vkbnn-convert "$out/binary_resnet18.onnx" -o "$out/binary_resnet18.vkbnn" | tail -3
build/benchmarks/vkbnn_bench_binary_conv
build/benchmarks/vkbnn_bench_networks --benchmark_repetitions=5 --benchmark_report_aggregates_only=true "$@" \
  "$out/resnet18.vkbnn" "$out/binary_resnet18.vkbnn"
