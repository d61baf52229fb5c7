#!/usr/bin/env bash
# Builds the tree with AddressSanitizer and UndefinedBehaviorSanitizer (the "asan" presets, in
# build-asan) and runs the tests that feed untrusted input to the engine's loader, the converter
# and the tools' file readers under them: any memory error or undefined behaviour fails the run.
# Leak detection is off (detect_leaks=0 in the preset): every process that starts Vulkan on
# lavapipe leaks 128 bytes from a module unloaded before LeakSanitizer reports, so no frame can be
# named in tests/sanitizers/lsan.supp (slow unwinding, which would name the loader, makes the run
# minutes per test). ASAN_OPTIONS=detect_leaks=1 turns it on with the suppressions.
set -euo pipefail
cd "$(dirname "$0")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/xdg-runtime}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
cmake --preset asan "$@"
cmake --build --preset asan
ctest --preset asan -j2
