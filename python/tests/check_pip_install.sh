#!/usr/bin/env bash
# `pip install --no-build-isolation .` offline (--no-index: any download attempt fails it) into a
# scratch folder, reusing the build tree, then imports the installed package and runs a model.
# Usage: check_pip_install.sh PYTHON SOURCE_DIR BUILD_DIR WORK_DIR
set -euo pipefail
python="$1" source_dir="$2" build_dir="$3" work="$4"
rm -rf "$work" && mkdir -p "$work"
cd "$source_dir"
VKBNN_BUILD_DIR="$build_dir" "$python" -m pip install --no-build-isolation --no-index --no-deps \
  --target "$work/site" . > "$work/pip.log" 2>&1 || { cat "$work/pip.log"; exit 1; }
cd "$work"
PYTHONPATH="$work/site" "$python" - "$work/site" "$source_dir/assets/models/fmnist-cnn-fp32.vkbnn" <<'PY'
import sys
import vkbnn
assert vkbnn.__file__.startswith(sys.argv[1]), vkbnn.__file__
model = vkbnn.Model.load(sys.argv[2])
scores = vkbnn.Network(vkbnn.Context(), model).run(
    vkbnn.load_image(sys.argv[2].replace("models/fmnist-cnn-fp32.vkbnn", "images/2-trouser.png"), model))
assert model.metadata.labels[scores.argmax()] == "Trouser", scores
print("installed and ran from", vkbnn.__file__)
PY
