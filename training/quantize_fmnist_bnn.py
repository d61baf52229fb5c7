"""Gives the bundled binarized networks int8 edges and measures what that costs in accuracy.

The binary layers of a BNN stay binary; its real edges (the stem convolution, real shortcuts and
the classifier) are what `vkbnn-convert --quantize int8` turns into int8 on a binarized model,
as Larq Compute Engine and Bi-Real deployments run them. The bundled BNNs' ONNX files are not
kept, so each is read back from its .vkbnn file into the PyTorch network it was trained as
(vkbnn_weights.load_bnn, exact), exported to ONNX again and converted twice: with fp32 edges (the
bundled file's weights bit for bit, checked by its score) and with --quantize int8,
calibrated on the first --calib-count training images as training/quantize_fmnist.py does.
vkbnn-eval scores all three on the 10,000 test images.

Writes training/out/<name>.onnx, <name>-fp32-edges.vkbnn and <name>-int8-edges.vkbnn, and
assets/models/<name>-int8-edges.accuracy.json and <name>-int8-edges.quantization.txt (the
converter's report with the per-layer SQNR).

  python3 training/quantize_fmnist_bnn.py [--networks fmnist-bnn-el fmnist-bnn fmnist-bmobilenet-el]
"""

import argparse
import json
from pathlib import Path

import common
import train_fmnist_bmobilenet
import train_fmnist_bnn
import vkbnn_weights
from bnn_modules import set_binary_weights

REPO_ROOT = common.REPO_ROOT
NETWORKS = {
    "fmnist-bnn-el": lambda: train_fmnist_bnn.build_model(True),
    "fmnist-bnn": lambda: train_fmnist_bnn.build_model(False),
    "fmnist-bmobilenet-el": lambda: train_fmnist_bmobilenet.build_model(True),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--networks", nargs="+", default=list(NETWORKS), choices=list(NETWORKS))
    parser.add_argument("--out-dir", type=Path, default=Path(__file__).resolve().parent / "out")
    parser.add_argument("--data-dir", type=Path, default=common.DEFAULT_DATA_DIR)
    parser.add_argument("--build", type=Path, default=REPO_ROOT / "build")
    parser.add_argument("--flatc", default="flatc")
    parser.add_argument("--calib-count", type=int, default=500)
    parser.add_argument("--calib-method", default="auto")
    args = parser.parse_args()

    assets = REPO_ROOT / "assets/models"
    converter = args.build / "converter/vkbnn-convert"
    evaluator = args.build / "tools/vkbnn-eval"
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for name in args.networks:
        bundled = assets / f"{name}.vkbnn"
        model = NETWORKS[name]()
        set_binary_weights(model, True)
        vkbnn_weights.load_bnn(model, bundled, args.flatc, exact=True)
        onnx_path = args.out_dir / f"{name}.onnx"
        common.export_onnx(model, onnx_path)
        fp32_edges = args.out_dir / f"{name}-fp32-edges.vkbnn"
        int8_edges = args.out_dir / f"{name}-int8-edges.vkbnn"
        common.convert(converter, onnx_path, fp32_edges, f"{name}, fp32 edges", capture=True)
        report = common.convert(converter, onnx_path, int8_edges, f"{name}, int8 edges", capture=True, extra_args=[
            "--quantize", "int8",
            "--calib", str(common.find_idx(args.data_dir, "train-images-idx3-ubyte")),
            "--calib-count", str(args.calib_count), "--calib-method", args.calib_method])
        (assets / f"{name}-int8-edges.quantization.txt").write_text(report)

        scores = {path: common.vkbnn_eval(evaluator, path, args.data_dir) for path in (bundled, fp32_edges, int8_edges)}
        if scores[bundled]["top1"] != scores[fp32_edges]["top1"]:
            raise RuntimeError(f"{name}: the re-exported fp32-edge model scores {scores[fp32_edges]['top1']}, "
                               f"the bundled one {scores[bundled]['top1']}: the round trip is not exact")
        accuracy = {
            "model": f"{name} with int8 edges (not bundled; training/quantize_fmnist_bnn.py)",
            "calibration": {"images": args.calib_count, "method": args.calib_method, "split": "train (first images)"},
            "bundled_vkbnn_top1": scores[bundled]["top1"],
            "fp32_edges_vkbnn_top1": scores[fp32_edges]["top1"],
            "int8_edges_vkbnn_top1": scores[int8_edges]["top1"],
            "int8_minus_fp32_edges_points": round(100 * (scores[int8_edges]["top1"] - scores[fp32_edges]["top1"]), 2),
            "file_bytes": {"fp32_edges": fp32_edges.stat().st_size, "int8_edges": int8_edges.stat().st_size},
            "device": scores[int8_edges]["device"],
        }
        (assets / f"{name}-int8-edges.accuracy.json").write_text(json.dumps(accuracy, indent=2) + "\n")
        print(f"{name}: fp32 edges {100 * accuracy['fp32_edges_vkbnn_top1']:.2f}%, int8 edges "
              f"{100 * accuracy['int8_edges_vkbnn_top1']:.2f}% ({accuracy['int8_minus_fp32_edges_points']:+.2f})",
              flush=True)


if __name__ == "__main__":
    main()
