#!/usr/bin/env bash
# Runs one fuzz target for a number of minutes: scripts/fuzz.sh TARGET MINUTES [libFuzzer flags]
#   TARGET: model_loader or converter (tests/fuzz/<TARGET>.cpp)
# Builds build-fuzz with clang, libFuzzer, ASan and UBSan, starts from the committed corpus
# (tests/fuzz/corpus/TARGET) and keeps what it learns in build-fuzz/corpus/TARGET. Crashes land
# in build-fuzz/crashes/TARGET; once fixed, copy each into tests/fuzz/crashes/TARGET, where the
# normal build's tests replay it.
set -euo pipefail
target=${1:?usage: scripts/fuzz.sh TARGET MINUTES [libFuzzer flags]}
minutes=${2:?usage: scripts/fuzz.sh TARGET MINUTES [libFuzzer flags]}
shift 2
root=$(cd "$(dirname "$0")/.." && pwd)
build=${VKBNN_FUZZ_BUILD:-$root/build-fuzz}
cxx=${CXX:-$(command -v clang++-16 || command -v clang++)}

if [ ! -f "$build/CMakeCache.txt" ]; then
  launcher=()
  if command -v ccache > /dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER="$cxx" \
    -DVKBNN_BUILD_FUZZERS=ON -DVKBNN_BUILD_BENCHMARKS=OFF -DVKBNN_BUILD_STUDIO=OFF "${launcher[@]}"
fi
cmake --build "$build" --target "fuzz_$target" -j "${JOBS:-2}"

corpus=$build/corpus/$target
crashes=$build/crashes/$target
mkdir -p "$corpus" "$crashes"
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
export VKBNN_CACHE_DIR=$build/cache
# Leaks are not checked: the Vulkan driver keeps allocations until exit.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
"$build/tests/fuzz/fuzz_$target" "$corpus" "$root/tests/fuzz/corpus/$target" \
  -max_total_time=$((minutes * 60)) -artifact_prefix="$crashes/" -rss_limit_mb=3072 -malloc_limit_mb=2048 \
  -max_len=65536 -timeout=30 -print_final_stats=1 "$@"
