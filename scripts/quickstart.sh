#!/usr/bin/env bash
# From a fresh clone: install dependencies, build, and classify the bundled images with the
# bundled Fashion-MNIST model on the first Vulkan device (lavapipe when there is no GPU), then
# measure the accuracy of the bundled models (fp32 and int8 CNN and MobileNetV2-style network,
# binarized, binarized with Elastic-Link, binarized MobileNet with Elastic-Link) on the 10,000 Fashion-MNIST test images. Installs the
# Python package too (scripts/install-python.sh), so that `python3 -c "import vkbnn"` works.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-debian.sh
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/xdg-runtime}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
cmake --preset release
cmake --build --preset release
bash scripts/install-python.sh
./build/tools/vkbnn-info
./build/tools/vkbnn-run assets/models/fmnist-cnn-fp32.vkbnn assets/images/*.png --top 3
for model in fmnist-cnn-fp32 fmnist-cnn-int8 fmnist-mbv2-fp32 fmnist-mbv2-int8 fmnist-bnn fmnist-bnn-el fmnist-bmobilenet-el; do
  ./build/tools/vkbnn-eval "assets/models/$model.vkbnn" \
    --images /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz \
    --labels /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz
done
