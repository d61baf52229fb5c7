"""Writes the first test-split image of each Fashion-MNIST class as a 28x28 grayscale PNG.

Files are named <test-index>-<class-slug>.png so the expected label can be
read back from the name.
"""

import argparse
import re
import struct
import zlib
from pathlib import Path

import common

REPO_ROOT = Path(__file__).resolve().parent.parent


def slug(name):
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def write_gray_png(path, image):
    # Hand-written rather than PIL so the committed bytes do not depend on the
    # installed imaging library.
    height, width = image.shape
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grayscale
    rows = b"".join(b"\x00" + image[y].tobytes() for y in range(height))  # filter 0 per row
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header)
                     + png_chunk(b"IDAT", zlib.compress(rows, 9)) + png_chunk(b"IEND", b""))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=common.DEFAULT_DATA_DIR)
    parser.add_argument("--out-dir", type=Path, default=REPO_ROOT / "assets" / "images")
    args = parser.parse_args()

    images, labels = common.load_split("t10k", args.data_dir)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for label, name in enumerate(common.CLASS_NAMES):
        index = int((labels == label).argmax())
        path = args.out_dir / f"{index}-{slug(name)}.png"
        write_gray_png(path, images[index])
        print(f"{path}: {name}")


if __name__ == "__main__":
    main()
