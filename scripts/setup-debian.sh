#!/usr/bin/env bash
# Installs everything vkbnn needs to build, test and train on Debian 12 / Ubuntu 22.04+.
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  build-essential clang-16 libclang-rt-16-dev cmake ninja-build pkg-config git \
  libvulkan-dev mesa-vulkan-drivers vulkan-validationlayers vulkan-tools \
  glslang-tools spirv-tools \
  libflatbuffers-dev flatbuffers-compiler \
  libonnx-dev libprotobuf-dev protobuf-compiler \
  libcli11-dev nlohmann-json3-dev libstb-dev zlib1g-dev libturbojpeg0-dev \
  libgtest-dev libgmock-dev libbenchmark-dev \
  python3 python3-numpy python3-torch python3-torchvision python3-onnx python3-pil \
  python3-dev pybind11-dev python3-pytest python3-setuptools python3-wheel python3-pip \
  dataset-fashion-mnist libonnx-testdata \
  libglfw3-dev libimgui-dev xvfb xauth
