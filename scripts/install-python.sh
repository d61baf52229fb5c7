#!/usr/bin/env bash
# Installs the vkbnn Python package for /usr/bin/python3 (or $VKBNN_PYTHON) with pip, offline:
# --no-build-isolation builds with the installed setuptools instead of downloading one. The
# module is built in the release preset's build/ tree (configured here if it is not yet), so
# after `cmake --build --preset release` nothing is compiled twice. Debian 12 and Ubuntu 23.04+
# mark the system Python as externally managed (PEP 668): pip then installs into
# /usr/local/lib/python3.X/dist-packages only with --break-system-packages, which leaves the
# Debian-packaged modules alone.
set -euo pipefail
cd "$(dirname "$0")/.."
python="${VKBNN_PYTHON:-/usr/bin/python3}"
[ -f build/CMakeCache.txt ] || cmake --preset release
flags=(--no-build-isolation)
if "$python" -m pip install --help | grep -q -- --break-system-packages; then
  flags+=(--break-system-packages)
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
$SUDO env VKBNN_BUILD_DIR=build "$python" -m pip install "${flags[@]}" .
cd /tmp && "$python" -c "import vkbnn; print('vkbnn', vkbnn.__version__, 'installed at', vkbnn.__file__)"
