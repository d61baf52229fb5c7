"""Trains a MobileNetV2-style fp32 Fashion-MNIST network, the starting point of the int8 work.

The network has MobileNetV2's structure scaled to 1x28x28 input: a 3x3 stem (conv + BatchNorm +
ReLU6), inverted residual blocks (1x1 expansion + BN + ReLU6, depthwise 3x3 + BN + ReLU6, linear
1x1 projection + BN, residual add where stride is 1 and the width is kept), a 1x1 head conv + BN +
ReLU6, global average pooling and one Linear layer. Depthwise layers and linear bottlenecks are
what make MobileNetV2 hard to quantize (per-tensor int8 weights collapse its depthwise layers),
so it is the network the paper's guideline is about.

Writes to --out-dir:
  fmnist-mbv2-fp32.pt        state dict
  fmnist-mbv2-fp32.onnx      opset 13, input "input" [1,1,28,28], output "logits" [1,10]
and assets/models/fmnist-mbv2-fp32.pytorch-accuracy.json (top-1 on all 10,000 test images, as
PyTorch measures it), then converts the ONNX file with vkbnn-convert into
assets/models/fmnist-mbv2-fp32.vkbnn and scores that with vkbnn-eval (--skip-vkbnn leaves out
both). --convert-only loads the .pt file instead of training.
"""

import argparse
import json
import os
import time
from pathlib import Path

# Before torch loads libgomp: idle OpenMP threads sleep instead of spinning. On 2 cores shared
# with a compiler, spinning threads held the cores the working thread needed and a training
# epoch took 2-5x longer; without contention passive waiting costs a few percent.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch
from torch import nn

import common

NAME = "fmnist-mbv2-fp32"
REPO_ROOT = common.REPO_ROOT

STEM_CHANNELS = 16
# (expansion t, out channels c, repeats n, first stride s) as in the MobileNetV2
# paper's table. Every block downsamples or sits at 14x14 or 7x7: a block at
# 28x28 (or expansion 4 there) made an epoch 1.3-2x slower on 2 CPU cores, where
# BatchNorm and the depthwise backward pass cost as much as the 1x1 convolutions.
# This one takes about 65 s an epoch with 8 blocks, 4 of them residual.
BLOCKS = [
    (2, 24, 2, 2),   # 28 -> 14, then one residual block
    (4, 32, 3, 2),   # 14 -> 7, then two residual blocks
    (4, 64, 2, 1),   # 7x7, 32 -> 64, then one residual block
]
HEAD_CHANNELS = 256


class ConvBNAct(nn.Module):
    """Conv (no bias: BatchNorm follows) + BatchNorm + ReLU6, or no activation
    for the linear bottleneck. The unit the quantizers work on (quant.py): BN
    folds into the conv and the activation decides signed or unsigned output."""

    def __init__(self, in_ch, out_ch, kernel, stride=1, groups=1, relu6=True):
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, kernel, stride, padding=kernel // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(out_ch)
        # Not in place: autograd then copies BN's output anyway, and it is slower.
        self.act = nn.ReLU6() if relu6 else nn.Identity()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class InvertedResidual(nn.Module):
    def __init__(self, in_ch, out_ch, stride, expansion):
        super().__init__()
        hidden = in_ch * expansion
        self.expand = ConvBNAct(in_ch, hidden, 1)
        self.depthwise = ConvBNAct(hidden, hidden, 3, stride, groups=hidden)
        # Linear bottleneck: ReLU6 on the narrow projection would destroy
        # information (MobileNetV2, section 3.2).
        self.project = ConvBNAct(hidden, out_ch, 1, relu6=False)
        self.residual = stride == 1 and in_ch == out_ch

    def forward(self, x):
        y = self.project(self.depthwise(self.expand(x)))
        return x + y if self.residual else y


class MobileNetV2Fmnist(nn.Module):
    def __init__(self, blocks=BLOCKS, stem_channels=STEM_CHANNELS, head_channels=HEAD_CHANNELS):
        super().__init__()
        self.stem = ConvBNAct(1, stem_channels, 3)
        layers = []
        in_ch = stem_channels
        for expansion, out_ch, repeats, stride in blocks:
            for i in range(repeats):
                layers.append(InvertedResidual(in_ch, out_ch, stride if i == 0 else 1, expansion))
                in_ch = out_ch
        self.blocks = nn.Sequential(*layers)
        self.head = ConvBNAct(in_ch, head_channels, 1)
        # AdaptiveAvgPool2d(1) exports as GlobalAveragePool.
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.classifier = nn.Linear(head_channels, 10)

    def forward(self, x):
        x = self.head(self.blocks(self.stem(x)))
        return self.classifier(self.flatten(self.pool(x)))


def build_model():
    return MobileNetV2Fmnist()


def train(model, images, labels, epochs, batch_size, max_lr, weight_decay, seed):
    """AdamW with a one-cycle learning rate, as train_fmnist_cnn.py."""
    # mkldnn's convolutions and BatchNorm run about 25% faster on NHWC; a
    # 1-channel input is already NHWC-contiguous. Back to NCHW afterwards.
    model.to(memory_format=torch.channels_last)
    generator = torch.Generator().manual_seed(seed)
    steps_per_epoch = (len(images) + batch_size - 1) // batch_size
    # No weight decay on BatchNorm and biases: it only shrinks the scales the
    # next BN undoes, and for int8 it buys nothing.
    decay = [p for n, p in model.named_parameters() if p.dim() > 1]
    no_decay = [p for n, p in model.named_parameters() if p.dim() <= 1]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=max_lr)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=max_lr, epochs=epochs, steps_per_epoch=steps_per_epoch)
    common.train_epochs(model, images, labels, optimizer, scheduler, epochs, batch_size, generator)
    model.to(memory_format=torch.contiguous_format)


def load_model(path):
    model = build_model()
    model.load_state_dict(torch.load(path))
    model.eval()
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--max-lr", type=float, default=4e-3)
    parser.add_argument("--weight-decay", type=float, default=5e-4)
    parser.add_argument("--out-dir", type=Path, default=Path(__file__).resolve().parent / "out")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", type=Path, default=common.DEFAULT_DATA_DIR)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--converter", type=Path, default=REPO_ROOT / "build/converter/vkbnn-convert")
    parser.add_argument("--evaluator", type=Path, default=REPO_ROOT / "build/tools/vkbnn-eval")
    parser.add_argument("--asset-dir", type=Path, default=REPO_ROOT / "assets/models")
    parser.add_argument("--convert-only", action="store_true",
                        help="load NAME.pt instead of training, then export, convert and evaluate")
    parser.add_argument("--skip-vkbnn", action="store_true", help="neither convert nor run vkbnn-eval")
    args = parser.parse_args()

    common.make_deterministic(args.threads, args.seed)

    state_path = args.out_dir / f"{NAME}.pt"
    onnx_path = args.out_dir / f"{NAME}.onnx"
    report_path = args.asset_dir / f"{NAME}.pytorch-accuracy.json"
    asset = args.asset_dir / f"{NAME}.vkbnn"
    test_images, test_labels = common.load_split("t10k", args.data_dir)

    if args.convert_only:
        model = load_model(state_path)
        accuracy = common.check_reported_accuracy(model, test_images, test_labels, report_path, state_path)
    else:
        train_images, train_labels = common.load_split("train", args.data_dir)
        model = build_model()
        print(f"{sum(p.numel() for p in model.parameters())} parameters", flush=True)
        start = time.time()
        train(model, train_images, train_labels, args.epochs, args.batch_size, args.max_lr,
              args.weight_decay, args.seed)
        train_seconds = time.time() - start
        accuracy = common.evaluate(model, test_images, test_labels)
        print(f"test top-1 (PyTorch, 10000 images): {accuracy:.4f}; training took {train_seconds:.0f} s")
        args.out_dir.mkdir(parents=True, exist_ok=True)
        torch.save(model.state_dict(), state_path)
        report = common.accuracy_report(
            onnx_path.name, accuracy, len(test_labels), epochs=args.epochs, batch_size=args.batch_size,
            max_lr=args.max_lr, seed=args.seed, train_seconds=round(train_seconds, 1))
        report_path.write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {state_path} and {report_path}")

    common.export_onnx(model, onnx_path)
    print(f"wrote {onnx_path}")
    if args.skip_vkbnn:
        return
    common.convert(args.converter, onnx_path, asset,
                   "Fashion-MNIST MobileNetV2-style network, fp32, trained by training/train_fmnist_mbv2.py")
    result = common.vkbnn_eval(args.evaluator, asset, args.data_dir)
    difference = abs(result["top1"] - accuracy) * 100
    print(f"top-1 on 10000 test images: PyTorch {accuracy:.2%}, vkbnn {result['top1']:.2%} "
          f"({result['device']}), difference {difference:.2f} points")
    if difference > 0.05:
        raise RuntimeError(f"vkbnn's accuracy differs from PyTorch's by {difference:.2f} points")


if __name__ == "__main__":
    main()
