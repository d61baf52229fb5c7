"""Quantizes the trained Fashion-MNIST networks to int8 with vkbnn-convert and measures them.

For each network (the CNN of train_fmnist_cnn.py, the MobileNetV2-style network of
train_fmnist_mbv2.py) it converts training/out/<name>-fp32.onnx with --quantize int8, calibrated
on the first --calib-count training images (the guideline's ~500), into
assets/models/<name>-int8.vkbnn; keeps the converter's report (per-layer SQNR) next to it as
<name>-int8.quantization.txt; and scores the fp32 and int8 models with vkbnn-eval on all 10,000
test images, writing <name>-int8.accuracy.json.

  python3 training/quantize_fmnist.py [--networks fmnist-cnn fmnist-mbv2]
"""

import argparse
import json
from pathlib import Path

import common

REPO_ROOT = common.REPO_ROOT
DESCRIPTIONS = {
    "fmnist-cnn": "Fashion-MNIST CNN, int8 (post-training quantization by vkbnn-convert)",
    "fmnist-mbv2": "Fashion-MNIST MobileNetV2-style network, int8 (post-training quantization by vkbnn-convert)",
}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--networks", nargs="+", default=list(DESCRIPTIONS), choices=list(DESCRIPTIONS))
    parser.add_argument("--out-dir", type=Path, default=Path(__file__).resolve().parent / "out")
    parser.add_argument("--data-dir", type=Path, default=common.DEFAULT_DATA_DIR)
    parser.add_argument("--build", type=Path, default=REPO_ROOT / "build")
    parser.add_argument("--calib-count", type=int, default=500)
    parser.add_argument("--calib-method", default="auto")
    args = parser.parse_args()

    assets = REPO_ROOT / "assets/models"
    for name in args.networks:
        int8 = assets / f"{name}-int8.vkbnn"
        report = common.convert(args.build / "converter/vkbnn-convert", args.out_dir / f"{name}-fp32.onnx", int8,
                                DESCRIPTIONS[name], capture=True, extra_args=[
                                    "--quantize", "int8",
                                    "--calib", str(common.find_idx(args.data_dir, "train-images-idx3-ubyte")),
                                    "--calib-count", str(args.calib_count), "--calib-method", args.calib_method])
        (assets / f"{name}-int8.quantization.txt").write_text(report)

        evaluator = args.build / "tools/vkbnn-eval"
        fp32 = common.vkbnn_eval(evaluator, assets / f"{name}-fp32.vkbnn", args.data_dir)
        quantized = common.vkbnn_eval(evaluator, int8, args.data_dir)
        pytorch = json.loads((assets / f"{name}-fp32.pytorch-accuracy.json").read_text())
        accuracy = {
            "model": int8.name,
            "calibration": {"images": args.calib_count, "method": args.calib_method, "split": "train (first images)"},
            "fp32_pytorch_top1": pytorch["top1"],
            "fp32_vkbnn_top1": fp32["top1"],
            "int8_vkbnn_top1": quantized["top1"],
            "int8_minus_fp32_points": round(100 * (quantized["top1"] - pytorch["top1"]), 2),
            "device": quantized["device"],
        }
        (assets / f"{name}-int8.accuracy.json").write_text(json.dumps(accuracy, indent=2) + "\n")
        print(f"{name}: fp32 {100 * pytorch['top1']:.2f}% (PyTorch), {100 * fp32['top1']:.2f}% (vkbnn); "
              f"int8 {100 * quantized['top1']:.2f}% (vkbnn)")


if __name__ == "__main__":
    main()
