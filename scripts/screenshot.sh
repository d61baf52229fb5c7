#!/usr/bin/env bash
# Regenerates docs/studio.png: vkbnn-studio on a bundled image under a virtual X server
# (xvfb-run, from the xvfb package), rendered with whatever Vulkan device is first (lavapipe
# without a GPU). Usage: scripts/screenshot.sh [MODEL [IMAGE [OUT.png]]]
set -euo pipefail
cd "$(dirname "$0")/.."
model="${1:-assets/models/fmnist-bnn-el.vkbnn}"
[ -e "$model" ] || model=assets/models/fmnist-cnn-fp32.vkbnn
image="${2:-assets/images/1-pullover.png}"
out="${3:-docs/studio.png}"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/xdg-runtime}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
if [ ! -x build/gui/vkbnn-studio ]; then
  cmake --preset release
  cmake --build --preset release --target vkbnn-studio
fi
mkdir -p "$(dirname "$out")"
# 150 frames after the first result: the layer chart then averages the last 30 runs.
xvfb-run -a -s "-screen 0 1400x900x24" \
  build/gui/vkbnn-studio "$model" --image "$image" --frames 150 --screenshot "$out" --print-results
echo "wrote $out"
