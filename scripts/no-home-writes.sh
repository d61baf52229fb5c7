#!/usr/bin/env bash
# Runs a command with $HOME pointing at a fresh, empty folder and fails when the command left
# anything in it: the test suite keeps every cache (vkbnn's pipelines, Mesa's shaders, pip's) in
# the build tree, including in the tools and Python processes the tests start.
# Usage: scripts/no-home-writes.sh COMMAND [ARGS...]
set -euo pipefail
# Toolchains installed in the caller's home keep their own homes: on a machine with rustup's
# proxies on PATH, Python.PipInstall's `pip install .` runs one, which writes rustup's settings.
export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}" CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
home=$(mktemp -d "${TMPDIR:-/tmp}/vkbnn-test-home.XXXXXX")
status=0
HOME="$home" "$@" || status=$?
if [ -n "$(ls -A "$home")" ]; then
  echo "error: the tests wrote under \$HOME:" >&2
  find "$home" -mindepth 1 | sed "s|^$home|\$HOME|" | head -50 >&2
  [ "$status" -ne 0 ] || status=1
fi
rm -rf "$home"
exit "$status"
