"""Gradual magnitude pruning of the MobileNetV2-style Fashion-MNIST network to 30% sparsity,
then int8: the paper's claim that an int8 MobileNetV2 with 30% sparsity beats its fp32 model.

Starting from train_fmnist_mbv2.py's fp32 checkpoint, each stage of --stages (default 10%, 20%,
30%) zeroes the smallest weights of every convolution and of the classifier until that layer
reaches the stage's sparsity, then fine-tunes the whole network (BatchNorm in training mode)
with the masks frozen: pruned weights stay exactly 0 (multi-stage fine-tuning). Then:
  - the sparse fp32 network is evaluated in PyTorch and exported to ONNX
    (--out-dir/fmnist-mbv2-pruned30-fp32.onnx; the zeros survive the export's BatchNorm folding),
  - PyTorch simulates its int8 quantization (quant.py: BatchNorm folded, weights symmetric per
    output channel, activations per tensor, calibrated on the first 500 training images), and
    the dense network's, for reference,
  - unless --skip-vkbnn: vkbnn-convert quantizes the sparse ONNX model to int8
    (--quantize int8 --calib train-images --calib-count 500 --calib-method auto) and vkbnn-eval
    scores it and the dense fp32 model (assets/models/fmnist-mbv2-fp32.vkbnn) on the 10,000
    test images.
Writes training/results/prune-fmnist.json, which says whether sparse int8 beats dense fp32.
"""

import argparse
import json
import os
import time
from pathlib import Path

# Before torch loads libgomp: idle OpenMP threads sleep instead of spinning. On 2 cores shared
# with a compiler, spinning threads held the cores the working thread needed and a training
# epoch took 5-10x longer; without contention passive waiting costs a few percent.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import onnx
from onnx import numpy_helper
import torch

import common
import quant
import train_fmnist_mbv2

REPO_ROOT = common.REPO_ROOT
OUT_DIR = Path(__file__).resolve().parent / "out"
DATA_DIR = common.DEFAULT_DATA_DIR
# Within this many points of dense fp32, sparse int8 counts as matching it (10 of the 10,000
# test images; retraining with another seed moves the accuracy by more than that).
MATCH_POINTS = 0.1


def prunable(model):
    """Every convolution (stem, 1x1, depthwise, head) and the classifier, with the BatchNorm
    that follows each convolution (None for the classifier)."""
    units = [m for m in model.modules() if isinstance(m, train_fmnist_mbv2.ConvBNAct)]
    return [(u.conv, u.bn) for u in units] + [(model.classifier, None)]


def importance(layer, bn):
    """|w| of the weight as the network applies it: with BatchNorm folded in. Each output
    channel's BN scale gamma / sigma multiplies its weights, and it varies by orders of
    magnitude between channels, so the raw |w| would prune the wrong channels' weights. (A
    global threshold across layers is ruled out by the same scales: each layer is pruned to
    the stage's sparsity on its own.)"""
    w = layer.weight.detach().abs()
    if bn is not None:
        scale = (bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)).abs()
        w = w * scale.view(-1, *([1] * (w.dim() - 1)))
    return w


def compute_masks(model, target):
    """Per layer, keeps all but the round(target * n) least important weights. Weights pruned
    in an earlier stage are 0, hence the least important: the masks only ever grow."""
    masks = []
    for layer, bn in prunable(model):
        score = importance(layer, bn).flatten()
        n_prune = int(round(target * score.numel()))
        mask = torch.ones_like(score)
        if n_prune > 0:
            # Stable sort so ties (the zeros of earlier stages) are broken the same way every run.
            order = torch.sort(score, stable=True).indices
            mask[order[:n_prune]] = 0
        masks.append((layer, mask.view_as(layer.weight)))
    return masks


def apply_masks(masks):
    with torch.no_grad():
        for layer, mask in masks:
            layer.weight.mul_(mask)


def fine_tune(model, masks, images, labels, epochs, args, seed, label):
    """AdamW with a one-cycle learning rate (a short warm-up lets the network settle after the
    cut), masks re-applied after every step so pruned weights stay 0 (Adam's moments would
    otherwise move them). No weight decay: the stage that matters is the last one, and it is
    short."""
    model.to(memory_format=torch.channels_last)
    generator = torch.Generator().manual_seed(seed)
    steps_per_epoch = (len(images) + args.batch_size - 1) // args.batch_size
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=args.lr, epochs=epochs, steps_per_epoch=steps_per_epoch, pct_start=0.15)
    common.train_epochs(model, images, labels, optimizer, scheduler, epochs, args.batch_size, generator,
                        label=label, after_step=lambda: apply_masks(masks))
    model.to(memory_format=torch.contiguous_format)


def onnx_sparsity(path):
    """(zero weights, weights) over the Conv and Gemm weight initializers of an ONNX file."""
    graph = onnx.load(str(path)).graph
    initializers = {t.name: t for t in graph.initializer}
    zeros = total = 0
    for node in graph.node:
        if node.op_type in ("Conv", "Gemm") and node.input[1] in initializers:
            w = numpy_helper.to_array(initializers[node.input[1]])
            zeros += int((w == 0).sum())
            total += w.size
    return zeros, total


def simulated_int8(model, calib_images, test_images, test_labels, seed):
    torch.manual_seed(seed)  # the calibration subsamples at random
    qmodel = quant.calibrate(quant.quantize_mbv2(model, 8, 8), calib_images)
    return common.evaluate(qmodel, test_images, test_labels)


def verdict(sparse, dense):
    points = (sparse - dense) * 100
    if points > 0:
        word = "beats"
    elif points >= -MATCH_POINTS:
        word = "matches"
    else:
        word = "is below"
    return word, round(points, 2)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, default=OUT_DIR / "fmnist-mbv2-fp32.pt")
    parser.add_argument("--stages", default="0.1,0.2,0.3", help="sparsity after each stage")
    parser.add_argument("--stage-epochs", default="1,1,1", help="fine-tuning epochs after each stage")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--calib-count", type=int, default=500)
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR)
    parser.add_argument("--results", type=Path, default=REPO_ROOT / "training/results/prune-fmnist.json")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--converter", type=Path, default=REPO_ROOT / "build/converter/vkbnn-convert")
    parser.add_argument("--evaluator", type=Path, default=REPO_ROOT / "build/tools/vkbnn-eval")
    parser.add_argument("--dense-vkbnn", type=Path, default=REPO_ROOT / "assets/models/fmnist-mbv2-fp32.vkbnn",
                        help="the dense fp32 model as train_fmnist_mbv2.py converted it")
    parser.add_argument("--skip-vkbnn", action="store_true",
                        help="PyTorch only: no int8 conversion, no vkbnn-eval (before the converter quantizes)")
    parser.add_argument("--vkbnn-only", action="store_true",
                        help="skip pruning: load the pruned state dict, convert and evaluate with vkbnn")
    args = parser.parse_args()

    common.make_deterministic(args.threads, args.seed)
    # Folding a near-zero BatchNorm scale into a conv makes denormal weights, and the fake
    # quantizers' gradients make more: they slowed a QAT step ten-fold on this CPU.
    torch.set_flush_denormal(True)
    script_start = time.time()

    stages = [float(s) for s in args.stages.split(",")]
    stage_epochs = [int(e) for e in args.stage_epochs.split(",")]
    if len(stages) != len(stage_epochs):
        raise SystemExit("--stages and --stage-epochs need the same number of entries")
    percent = round(stages[-1] * 100)
    name = f"fmnist-mbv2-pruned{percent}"
    state_path = args.out_dir / f"{name}-fp32.pt"
    onnx_path = args.out_dir / f"{name}-fp32.onnx"
    int8_path = args.out_dir / f"{name}-int8.vkbnn"
    args.out_dir.mkdir(parents=True, exist_ok=True)

    train_images, train_labels = common.load_split("train", args.data_dir)
    test_images, test_labels = common.load_split("t10k", args.data_dir)
    calib_images = train_images[:args.calib_count]
    dense = train_fmnist_mbv2.load_model(args.checkpoint)

    if args.vkbnn_only:
        results = json.loads(args.results.read_text())
    else:
        dense_fp32 = common.evaluate(dense, test_images, test_labels)
        print(f"dense fp32 (PyTorch): {dense_fp32:.2%}", flush=True)
        model = train_fmnist_mbv2.load_model(args.checkpoint)
        stage_rows = []
        for i, (target, epochs) in enumerate(zip(stages, stage_epochs)):
            start = time.time()
            masks = compute_masks(model, target)
            apply_masks(masks)
            before = common.evaluate(model, test_images, test_labels)
            fine_tune(model, masks, train_images, train_labels, epochs, args, args.seed + i,
                      f"stage {i + 1} ({target:.0%})")
            after = common.evaluate(model, test_images, test_labels)
            zeros, total = quant.sparsity(layer for layer, _ in prunable(model))
            stage_rows.append({"target_sparsity": target, "measured_sparsity": zeros / total,
                               "epochs": epochs, "top1_after_pruning": before,
                               "top1_after_fine_tuning": after, "seconds": round(time.time() - start, 1)})
            print(f"stage {i + 1}: sparsity {zeros / total:.2%}, top-1 {before:.2%} after pruning, "
                  f"{after:.2%} after fine-tuning", flush=True)
        sparse_fp32 = stage_rows[-1]["top1_after_fine_tuning"]
        torch.save(model.state_dict(), state_path)
        common.export_onnx(model, onnx_path)
        onnx_zeros, onnx_total = onnx_sparsity(onnx_path)
        print(f"wrote {onnx_path}: {onnx_zeros}/{onnx_total} conv/gemm weights are 0 ({onnx_zeros / onnx_total:.2%})")

        sparse_int8_sim = simulated_int8(model, calib_images, test_images, test_labels, args.seed)
        dense_int8_sim = simulated_int8(dense, calib_images, test_images, test_labels, args.seed)
        zeros, total = quant.sparsity(layer for layer, _ in prunable(model))
        results = {
            "model": "fmnist-mbv2 (training/train_fmnist_mbv2.py)",
            "checkpoint": args.checkpoint.name,
            "test_images": len(test_labels),
            "pruning": {
                "method": "gradual magnitude pruning, per layer, |weight| with BatchNorm folded in; "
                          "every conv (stem, 1x1, depthwise, head) and the classifier",
                "stages": stage_rows,
                "fine_tuning": {"optimizer": "AdamW, one-cycle, no weight decay", "lr": args.lr,
                                "batch_size": args.batch_size, "batchnorm": "training mode",
                                "masks": "frozen, re-applied after every step"},
            },
            "sparsity": {"pytorch": zeros / total, "zero_weights": zeros, "weights": total,
                         "onnx": onnx_zeros / onnx_total},
            "onnx": onnx_path.name,
            "accuracy": {
                "dense_fp32_pytorch": dense_fp32,
                "sparse_fp32_pytorch": sparse_fp32,
                "sparse_int8_simulated_pytorch": sparse_int8_sim,
                "dense_int8_simulated_pytorch": dense_int8_sim,
            },
            "simulated_int8": "training/quant.py: BatchNorm folded, weights symmetric per output channel "
                              "[-127, 127], activations per tensor (unsigned after ReLU6, else asymmetric), "
                              f"ranges by MSE search on the first {args.calib_count} training images",
            "seed": args.seed,
            "pytorch_wall_seconds": round(time.time() - script_start, 1),
        }

    accuracy = results["accuracy"]
    if not args.skip_vkbnn:
        common.convert(args.converter, onnx_path, int8_path,
                       f"Fashion-MNIST MobileNetV2-style network, {percent}% sparse, int8, "
                       "by training/prune_fmnist.py",
                       extra_args=["--quantize", "int8",
                                   "--calib", str(common.find_idx(args.data_dir, "train-images-idx3-ubyte")),
                                   "--calib-count", str(args.calib_count), "--calib-method", "auto"])
        int8_eval = common.vkbnn_eval(args.evaluator, int8_path, args.data_dir)
        dense_eval = common.vkbnn_eval(args.evaluator, args.dense_vkbnn, args.data_dir)
        accuracy["sparse_int8_vkbnn"] = int8_eval["top1"]
        accuracy["dense_fp32_vkbnn"] = dense_eval["top1"]
        results["vkbnn"] = {"device": int8_eval["device"], "int8_model": int8_path.name,
                            "dense_fp32_model": args.dense_vkbnn.name}
        print(f"vkbnn on {int8_eval['device']}: sparse int8 {int8_eval['top1']:.2%}, "
              f"dense fp32 {dense_eval['top1']:.2%}")

    # The claim is about the deployed int8 model: vkbnn's where it ran, else PyTorch's simulation.
    if "sparse_int8_vkbnn" in accuracy:
        sparse_key, dense_key = "sparse_int8_vkbnn", "dense_fp32_vkbnn"
    else:
        sparse_key, dense_key = "sparse_int8_simulated_pytorch", "dense_fp32_pytorch"
    word, points = verdict(accuracy[sparse_key], accuracy[dense_key])
    results["conclusion"] = {
        "compared": [sparse_key, dense_key],
        "difference_points": points,
        "statement": f"{percent}% sparse int8 ({sparse_key}, {accuracy[sparse_key]:.2%}) {word} dense fp32 "
                     f"({dense_key}, {accuracy[dense_key]:.2%}): {points:+.2f} points",
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, indent=2) + "\n")
    for key, value in accuracy.items():
        print(f"{key:32s} {value:.2%}")
    print(f"sparsity {results['sparsity']['pytorch']:.2%} (ONNX {results['sparsity']['onnx']:.2%})")
    print(results["conclusion"]["statement"])
    print(f"wrote {args.results}")


if __name__ == "__main__":
    main()
