"""Trains a binarized MobileNet on Fashion-MNIST, with or without Elastic-Link shortcuts.

A real 3x3 stride-2 stem (28 -> 14) and a real classifier (Flatten + Linear) around
depthwise-separable blocks in which both convolutions are binary: RSign, then a binary 3x3
depthwise convolution (groups = channels), BatchNorm, [+ EL], RPReLU; then RSign, a binary 1x1
pointwise convolution, BatchNorm, [+ EL], RPReLU (two bnn_modules.Block each). --el and --no-el
train the same network by the same recipe, ReActNet's two steps of train_fmnist_bnn.py (binary
activations with real weights, then binary weights too), and record the curves of both: per
epoch the train loss and the test top-1, in training/results/NAME.curve.json. The bundled
model was trained with
  train_fmnist_bmobilenet.py --el
and the curve it is compared with by
  train_fmnist_bmobilenet.py --no-el --asset-dir training/out

Writes to --out-dir, NAME being fmnist-bmobilenet-el (--el) or fmnist-bmobilenet (--no-el):
  NAME.pt, NAME.onnx, NAME.pytorch-accuracy.json   as train_fmnist_bnn.py does
and converts the ONNX file with vkbnn-convert into --asset-dir/NAME.vkbnn, printing the
converter's per-layer report. --convert-only skips training, as in train_fmnist_bnn.py.
"""

import argparse
import time
from pathlib import Path

import torch
from torch import nn

import common
from bnn_modules import Block, set_binary_weights
import train_fmnist_bnn

# (out channels, stride) of the depthwise-separable blocks, at 14x14 after the
# stem. Small enough that both runs train side by side on two busy cores in
# about a quarter of an hour each (the first try, 32 -> 64 -> 128 channels with
# two blocks at 14x14, took 20 minutes an epoch there). The pointwise
# convolutions widen 16 -> 32 -> 64, so the EL shortcuts around them use
# Expand; the stride-2 depthwise convolution's shortcut average-pools.
BLOCKS = [
    (32, 2),    # 14 -> 7
    (64, 1),
    (64, 1),
    (64, 1),
]
STEM_CHANNELS = 16
FINAL_SIZE = 7


def build_model(use_el, gamma_init=1.0):
    layers = [nn.Conv2d(1, STEM_CHANNELS, 3, stride=2, padding=1, bias=False),
              nn.BatchNorm2d(STEM_CHANNELS)]
    in_ch = STEM_CHANNELS
    for out_ch, stride in BLOCKS:
        layers.append(Block(in_ch, in_ch, 3, stride, use_el, group_order="strided",
                            gamma_init=gamma_init, groups=in_ch))
        layers.append(Block(in_ch, out_ch, 1, 1, use_el, group_order="strided",
                            gamma_init=gamma_init))
        in_ch = out_ch
    layers += [nn.Flatten(), nn.Linear(in_ch * FINAL_SIZE * FINAL_SIZE, 10)]
    return nn.Sequential(*layers)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    common.add_binary_arguments(parser, epochs1=1, epochs2=2,
                                el_help="Elastic-Link shortcuts around every binary convolution (default: on)")
    parser.add_argument("--results-dir", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args()
    # train_fmnist_bnn.train_step distils when given a teacher; this script trains without.
    args.kd_temperature = args.kd_weight = None

    common.make_deterministic(args.threads, args.seed)

    name = "fmnist-bmobilenet-el" if args.el else "fmnist-bmobilenet"
    variant = "with Elastic-Link" if args.el else "without Elastic-Link"
    paths = common.run_paths(args.out_dir, name)
    state_path, onnx_path, report_path = paths
    test_images, test_labels = common.load_split("t10k", args.data_dir)

    model = build_model(args.el, args.gamma_init)
    report = None
    if args.convert_only:
        common.load_binary_state(model, state_path, test_images, test_labels, report_path)
    else:
        train_images, train_labels = common.load_split("train", args.data_dir)

        def record_test_accuracy(epoch, stats):
            stats["test_top1"] = common.evaluate(model, test_images, test_labels)

        start = time.time()
        curve1 = train_fmnist_bnn.train_step(model, None, train_images, train_labels, args, args.lr1,
                                             args.weight_decay1, args.epochs1, args.seed, "step 1",
                                             after_epoch=record_test_accuracy)
        # No weight decay for binary weights, as in train_fmnist_bnn.py.
        set_binary_weights(model, True)
        curve2 = train_fmnist_bnn.train_step(model, None, train_images, train_labels, args, args.lr2,
                                             0.0, args.epochs2, args.seed + 1, "step 2",
                                             after_epoch=record_test_accuracy)
        train_seconds = time.time() - start
        accuracy = curve2[-1]["test_top1"] if curve2 else common.evaluate(model, test_images, test_labels)
        print(f"test top-1 (PyTorch, 10000 images): {accuracy:.4f}; training took {train_seconds:.0f} s")
        args.out_dir.mkdir(parents=True, exist_ok=True)
        torch.save(model.state_dict(), state_path)
        recipe = {
            "elastic_link": args.el,
            "epochs_step1": args.epochs1,
            "epochs_step2": args.epochs2,
            "batch_size": args.batch_size,
            "lr_step1": args.lr1,
            "lr_step2": args.lr2,
            "weight_decay_step1": args.weight_decay1,
            "gamma_init": args.gamma_init,
            "seed": args.seed,
            "threads": args.threads,
            "train_seconds": round(train_seconds, 1),
        }
        common.write_curve(args.results_dir, name, "training/train_fmnist_bmobilenet.py", len(test_labels), recipe, accuracy, curve1, curve2)
        report = common.accuracy_report(onnx_path.name, accuracy, len(test_labels), **recipe)

    common.export_binary_model(model, paths, report, args.converter, args.asset_dir / f"{name}.vkbnn",
                               f"Fashion-MNIST binarized MobileNet, {variant}, "
                               "trained by training/train_fmnist_bmobilenet.py")


if __name__ == "__main__":
    main()
