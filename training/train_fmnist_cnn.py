"""Trains the small fp32 Fashion-MNIST CNN used as vkbnn's reference model.

Writes to --out-dir:
  fmnist-cnn-fp32.pt        state dict
  fmnist-cnn-fp32.onnx      opset 13, input "input" [1,1,28,28], output "logits" [1,10]
  pytorch_accuracy.json     top-1 on all 10,000 test images, as PyTorch measures it
and converts the ONNX file with vkbnn-convert into --asset (the bundled model), with the labels
and the preprocessing the network was trained with.
"""

import argparse
import json
import time
from pathlib import Path

import torch
from torch import nn

import common

ONNX_NAME = "fmnist-cnn-fp32.onnx"
STATE_DICT_NAME = "fmnist-cnn-fp32.pt"
ACCURACY_NAME = "pytorch_accuracy.json"
REPO_ROOT = Path(__file__).resolve().parent.parent


def conv_block(in_ch, out_ch):
    # Bias is redundant before BatchNorm.
    return [nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=False), nn.BatchNorm2d(out_ch), nn.ReLU(inplace=True)]


def build_model():
    # Sized so that 5 epochs fit in a few minutes on 2 CPU cores. Flatten keeps
    # the spatial layout, which beats global average pooling at this width.
    return nn.Sequential(
        *conv_block(1, 24),
        nn.MaxPool2d(2),  # 28 -> 14
        *conv_block(24, 48),
        nn.MaxPool2d(2),  # 14 -> 7
        *conv_block(48, 96),
        nn.Flatten(),
        nn.Linear(96 * 7 * 7, 10),
    )


def train(model, images, labels, epochs, batch_size, max_lr, seed):
    """AdamW with a one-cycle learning rate, through common.train_epochs."""
    generator = torch.Generator().manual_seed(seed)
    steps_per_epoch = (len(images) + batch_size - 1) // batch_size
    optimizer = torch.optim.AdamW(model.parameters(), lr=max_lr, weight_decay=5e-4)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=max_lr, epochs=epochs, steps_per_epoch=steps_per_epoch)
    common.train_epochs(model, images, labels, optimizer, scheduler, epochs, batch_size, generator)


def convert(converter, onnx_path, asset):
    common.convert(converter, onnx_path, asset,
                   "Fashion-MNIST CNN, fp32, trained by training/train_fmnist_cnn.py")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--out-dir", type=Path, default=Path(__file__).resolve().parent / "out")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", type=Path, default=common.DEFAULT_DATA_DIR)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--max-lr", type=float, default=4e-3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--converter", type=Path, default=REPO_ROOT / "build/converter/vkbnn-convert")
    parser.add_argument("--asset", type=Path, default=REPO_ROOT / "assets/models/fmnist-cnn-fp32.vkbnn")
    args = parser.parse_args()

    common.make_deterministic(args.threads, args.seed)

    train_images, train_labels = common.load_split("train", args.data_dir)
    test_images, test_labels = common.load_split("t10k", args.data_dir)

    model = build_model()
    start = time.time()
    train(model, train_images, train_labels, args.epochs, args.batch_size, args.max_lr, args.seed)
    train_seconds = time.time() - start

    accuracy = common.evaluate(model, test_images, test_labels)
    print(f"test top-1 (PyTorch, 10000 images): {accuracy:.4f}; training took {train_seconds:.0f} s")

    args.out_dir.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), args.out_dir / STATE_DICT_NAME)
    common.export_onnx(model, args.out_dir / ONNX_NAME)
    report = common.accuracy_report(ONNX_NAME, accuracy, len(test_labels), epochs=args.epochs,
                                    seed=args.seed, train_seconds=round(train_seconds, 1))
    (args.out_dir / ACCURACY_NAME).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out_dir / ONNX_NAME} and {args.out_dir / ACCURACY_NAME}")
    convert(args.converter, args.out_dir / ONNX_NAME, args.asset)


if __name__ == "__main__":
    main()
