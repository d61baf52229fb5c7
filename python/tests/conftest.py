"""Shared fixtures: the checkout and build paths, one validated Context, models made at test time."""

import os
import pathlib
import subprocess

import numpy as np
import pytest

import vkbnn

HERE = pathlib.Path(__file__).resolve().parent
SOURCE_DIR = pathlib.Path(os.environ.get("VKBNN_SOURCE_DIR", HERE.parent.parent))
BINARY_DIR = pathlib.Path(os.environ.get("VKBNN_BINARY_DIR", SOURCE_DIR / "build"))
MODELS = SOURCE_DIR / "assets" / "models"
IMAGES = SOURCE_DIR / "assets" / "images"


def tool(name):
    return str(BINARY_DIR / ("converter" if name == "vkbnn-convert" else "tools") / name)


def run_tool(*args):
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(scope="session")
def context():
    return vkbnn.Context(validation=True)


@pytest.fixture(autouse=True)
def no_validation_messages(context):
    """Every engine run a test makes is watched by the validation layer; a message fails it."""
    before = context.validation_message_count
    yield
    assert context.validation_message_count == before, "Vulkan validation messages during the test"


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
