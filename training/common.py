"""Fashion-MNIST helpers shared by the training and asset-export scripts."""

import gzip
import os
from pathlib import Path

import numpy as np

DEFAULT_DATA_DIR = Path(os.environ.get("FMNIST_DIR", "/usr/share/datasets/fashion-mnist"))

CLASS_NAMES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]

# Statistics of the training split on [0, 1] pixels. The C++ side must apply
# exactly the same preprocessing for its accuracy to be comparable.
MEAN = 0.2860
STD = 0.3530

_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path):
    """Reads an IDX file, gzip-compressed or plain, into a numpy array."""
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{path}: not an IDX file")
    dtype = _IDX_DTYPES[raw[2]]
    ndim = raw[3]
    header_end = 4 + 4 * ndim
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    count = int(np.prod(shape))
    if len(raw) != header_end + count * dtype.itemsize:
        raise ValueError(f"{path}: size does not match header shape {shape}")
    data = np.frombuffer(raw, dtype=dtype, count=count, offset=header_end)
    return data.reshape(shape).astype(dtype.newbyteorder("="))


def _find(data_dir, stem):
    for name in (f"{stem}.gz", stem):
        candidate = Path(data_dir) / name
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"{stem}(.gz) not found in {data_dir}")


def load_split(split, data_dir=DEFAULT_DATA_DIR):
    """Returns (images uint8 [N, 28, 28], labels int64 [N]) for split 'train' or 't10k'."""
    if split not in ("train", "t10k"):
        raise ValueError(f"unknown split {split!r}")
    images = read_idx(_find(data_dir, f"{split}-images-idx3-ubyte"))
    labels = read_idx(_find(data_dir, f"{split}-labels-idx1-ubyte")).astype(np.int64)
    if images.ndim != 3 or images.shape[0] != labels.shape[0]:
        raise ValueError(f"{split}: images {images.shape} and labels {labels.shape} disagree")
    return images, labels


def normalize(images):
    """uint8 [N, H, W] -> float32 [N, 1, H, W], the network's input convention."""
    x = images.astype(np.float32)[:, None] / 255.0
    return (x - MEAN) / STD


def evaluate(model, images, labels, batch_size=500):
    """Top-1 accuracy of `model` (put in eval mode) on uint8 images."""
    # Imported here so the asset-export scripts work without torch.
    import torch

    model.eval()
    x = torch.from_numpy(normalize(images))
    y = torch.from_numpy(labels)
    correct = 0
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            logits = model(x[start:start + batch_size])
            correct += int((logits.argmax(1) == y[start:start + batch_size]).sum())
    return correct / len(x)
