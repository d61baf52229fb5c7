#!/usr/bin/env bash
# Builds (if needed) and runs the whole test suite on the first Vulkan device, with the Khronos
# validation layer on and a fresh $HOME that must stay empty. Run scripts/setup-debian.sh once
# before on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/xdg-runtime}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
cmake --preset release
cmake --build --preset release
bash scripts/no-home-writes.sh ctest --preset release -j2
