#!/usr/bin/env bash
# Builds the tree with clang 16, AddressSanitizer and UndefinedBehaviorSanitizer (the "asan"
# presets, in build-asan) and runs the tests that feed untrusted input to the engine's loader, the
# converter and the tools' file readers under them: any memory error, undefined behaviour or leak
# fails the run, except leaks inside the Vulkan stack itself (tests/sanitizers/lsan.supp). The
# preset preloads lavapipe so that the loader's unloading it does not turn its process-lifetime
# allocations into leaks from an unnamed module. Being a clang build, it is also CI's check that
# the engine, converter, tools and tests compile with clang (the release build uses GCC).
set -euo pipefail
cd "$(dirname "$0")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/xdg-runtime}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
cmake --preset asan "$@"
cmake --build --preset asan
bash scripts/no-home-writes.sh ctest --preset asan -j2
