"""Quantization-aware training of the MobileNetV2-style Fashion-MNIST network at low bit widths.

Starts from the fp32 checkpoint of train_fmnist_mbv2.py and measures, on all 10,000 test images
in PyTorch (quant.py's fake quantization: BatchNorm folded, weights symmetric per output channel,
activations per tensor, unsigned after ReLU6):
  fp32                                  the checkpoint itself
  W8A8 PTQ                              8-bit post-training quantization, ranges calibrated on
                                        --calib-count training images, no training (the paper's
                                        guideline; per-tensor weights as the counter-example)
  W4A8 QAT, W4A4 QAT                    4-bit weights (and activations), each first calibrated
                                        like PTQ (its accuracy before training is reported too),
                                        then fine-tuned for --epochs with LSQ (learned step
                                        sizes, straight-through rounding), distilled from fp32
The stem's weights and the classifier's weights and input stay at 8 bits in every
configuration (quant.quantize_mbv2). BatchNorm stays folded with frozen statistics during QAT.

Writes training/results/qat-fmnist.json and the QAT state dicts to --out-dir; prints a table.
"""

import argparse
import json
import os
import math
import time
from pathlib import Path

# Before torch loads libgomp: idle OpenMP threads sleep instead of spinning. On 2 cores shared
# with a compiler, spinning threads held the cores the working thread needed and a training
# epoch took 5-10x longer; without contention passive waiting costs a few percent.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch
import torch.nn.functional as F

import common
import quant
import train_fmnist_mbv2

REPO_ROOT = common.REPO_ROOT
OUT_DIR = Path(__file__).resolve().parent / "out"


def parse_config(text):
    """'w4a8' -> (4, 8)."""
    w, a = text.lower().lstrip("w").split("a")
    return int(w), int(a)


def fine_tune(qmodel, teacher, images, labels, args, label):
    """QAT: Adam on the folded weights and biases and the log step sizes, cosine learning rate
    to 0, no weight decay (it would shrink the weights against steps that are learned too),
    cross-entropy plus distillation from the fp32 network's logits."""
    generator = torch.Generator().manual_seed(args.seed)
    total_steps = args.epochs * ((len(images) + args.batch_size - 1) // args.batch_size)
    optimizer = torch.optim.Adam(qmodel.parameters(), lr=args.lr)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * step / total_steps)))

    def loss_fn(logits, x, y):
        loss = F.cross_entropy(logits, y)
        if args.kd_weight > 0:
            with torch.no_grad():
                soft_targets = F.softmax(teacher(x) / args.kd_temperature, 1)
            kd = F.kl_div(F.log_softmax(logits / args.kd_temperature, 1), soft_targets, reduction="batchmean")
            loss = loss + args.kd_weight * args.kd_temperature ** 2 * kd
        return loss

    common.train_epochs(qmodel, images, labels, optimizer, scheduler, args.epochs, args.batch_size,
                        generator, loss_fn=loss_fn, label=label)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, default=OUT_DIR / "fmnist-mbv2-fp32.pt")
    parser.add_argument("--qat", default="w4a8,w4a4", help="comma-separated wXaY configurations to train")
    parser.add_argument("--epochs", type=int, default=1, help="QAT epochs per configuration")
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--kd-weight", type=float, default=1.0, help="0 turns distillation off")
    parser.add_argument("--kd-temperature", type=float, default=4.0)
    parser.add_argument("--calib-count", type=int, default=500,
                        help="first N training images calibrate the ranges (as vkbnn-convert --calib-count)")
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR)
    parser.add_argument("--results", type=Path, default=REPO_ROOT / "training/results/qat-fmnist.json")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", type=Path, default=common.DEFAULT_DATA_DIR)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    common.make_deterministic(args.threads, args.seed)
    # Folding a near-zero BatchNorm scale into a conv makes denormal weights, and the fake
    # quantizers' gradients make more: they slowed a QAT step ten-fold on this CPU.
    torch.set_flush_denormal(True)
    script_start = time.time()

    train_images, train_labels = common.load_split("train", args.data_dir)
    test_images, test_labels = common.load_split("t10k", args.data_dir)
    calib_images = train_images[:args.calib_count]
    model = train_fmnist_mbv2.load_model(args.checkpoint)
    for p in model.parameters():
        p.requires_grad_(False)

    rows = []

    def record(name, w_bits, a_bits, method, accuracy, **extra):
        rows.append({"name": name, "weight_bits": w_bits, "activation_bits": a_bits, "method": method,
                     "top1": accuracy, "correct": round(accuracy * len(test_labels)), **extra})
        print(f"{name}: top-1 {accuracy:.2%}", flush=True)

    record("fp32", 32, 32, "none", common.evaluate(model, test_images, test_labels))
    fp32_top1 = rows[0]["top1"]

    for per_channel in (True, False):
        torch.manual_seed(args.seed)  # the calibration subsamples at random
        qmodel = quant.calibrate(quant.quantize_mbv2(model, 8, 8, per_channel=per_channel), calib_images)
        record("W8A8 PTQ" + ("" if per_channel else ", per-tensor weights"), 8, 8, "PTQ",
               common.evaluate(qmodel, test_images, test_labels),
               weights="per-channel" if per_channel else "per-tensor")

    for text in args.qat.split(","):
        w_bits, a_bits = parse_config(text)
        name = f"W{w_bits}A{a_bits}"
        torch.manual_seed(args.seed)
        qmodel = quant.calibrate(quant.quantize_mbv2(model, w_bits, a_bits), calib_images)
        before = common.evaluate(qmodel, test_images, test_labels)
        print(f"{name} PTQ (before QAT): top-1 {before:.2%}", flush=True)
        start = time.time()
        fine_tune(qmodel, model, train_images, train_labels, args, f"{name} QAT")
        seconds = time.time() - start
        record(f"{name} QAT", w_bits, a_bits, "QAT", common.evaluate(qmodel, test_images, test_labels),
               ptq_top1_before_qat=before, epochs=args.epochs, train_seconds=round(seconds, 1))
        args.out_dir.mkdir(parents=True, exist_ok=True)
        torch.save(qmodel.state_dict(), args.out_dir / f"fmnist-mbv2-{name.lower()}-qat.pt")

    for row in rows:
        row["delta_vs_fp32_points"] = round((row["top1"] - fp32_top1) * 100, 2)
    results = {
        "model": "fmnist-mbv2 (training/train_fmnist_mbv2.py)",
        "checkpoint": args.checkpoint.name,
        "test_images": len(test_labels),
        "measured_in": "PyTorch fake quantization (training/quant.py)",
        "scheme": {
            "batchnorm": "folded into the convolutions with running statistics, frozen during QAT",
            "weights": "symmetric per output channel, [-(2^(b-1)-1), 2^(b-1)-1], step by MSE search, "
                       "learned (LSQ, log-parametrized) in QAT",
            "activations": "per tensor; unsigned [0, 2^b-1] after ReLU6, asymmetric with integer zero "
                           "point elsewhere; range by MSE search over clipped min-max; step learned in QAT",
            "kept_at_8_bits": "network input, stem weights, classifier weights and input",
            "calibration_images": args.calib_count,
        },
        "qat": {"epochs": args.epochs, "lr": args.lr, "optimizer": "Adam, cosine to 0",
                "batch_size": args.batch_size, "distillation_weight": args.kd_weight,
                "distillation_temperature": args.kd_temperature, "seed": args.seed},
        "results": rows,
        "wall_seconds": round(time.time() - script_start, 1),
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, indent=2) + "\n")

    print(f"\n{'configuration':30s} {'top-1':>7s} {'vs fp32':>8s} {'PTQ before QAT':>15s}")
    for row in rows:
        before = f"{row['ptq_top1_before_qat']:.2%}" if "ptq_top1_before_qat" in row else ""
        print(f"{row['name']:30s} {row['top1']:7.2%} {row['delta_vs_fp32_points']:+8.2f} {before:>15s}")
    print(f"wrote {args.results}")


if __name__ == "__main__":
    main()
