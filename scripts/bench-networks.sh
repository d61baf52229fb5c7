#!/usr/bin/env bash
# Whole-network latency on the first Vulkan device (VKBNN_DEVICE picks another): exports
# torchvision ResNet-18, MobileNetV2 and SqueezeNet 1.1 with random weights at 224x224,
# converts them and runs vkbnn_bench_networks (Google Benchmark, steady-state Network::run(),
# upload and readback included). Run scripts/setup-debian.sh once before on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/xdg-runtime}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
cmake --preset release >/dev/null
cmake --build --preset release
out=build/bench-models
models=()
for name in resnet18 mobilenet_v2 squeezenet1_1; do
  "${VKBNN_PYTHON:-/usr/bin/python3}" tests/python/export_torchvision.py --model "$name" --out-dir "$out" --seed 1
  build/converter/vkbnn-convert "$out/$name.onnx" -o "$out/$name.vkbnn" >/dev/null
  models+=("$out/$name.vkbnn")
done
build/benchmarks/vkbnn_bench_networks --benchmark_repetitions=5 --benchmark_report_aggregates_only=true "$@" "${models[@]}"
