"""Trains a binarized ResNet-style Fashion-MNIST network, with or without Elastic-Link shortcuts.

The network has a real-valued stem (3x3 conv + BatchNorm) and classifier (Flatten + Linear);
every block between them binarizes its input with RSign and convolves it with +-alpha weights
(bnn_modules.Block). Training follows ReActNet's two steps: binary activations with real
weights, then binary weights too, starting from the first step's result. --teacher adds
distillation from the fp32 CNN of train_fmnist_cnn.py. The bundled models were trained with
  train_fmnist_bnn.py --el --teacher training/out/fmnist-cnn-fp32.pt
  train_fmnist_bnn.py --no-el --teacher training/out/fmnist-cnn-fp32.pt

Writes to --out-dir, NAME being fmnist-bnn-el (--el) or fmnist-bnn (--no-el):
  NAME.pt                       state dict (latent real weights; eval binarizes them)
  NAME.onnx                     opset 13, input "input" [1,1,28,28], output "logits" [1,10]
  NAME.pytorch-accuracy.json    top-1 on all 10,000 test images, as PyTorch measures it
and converts the ONNX file with vkbnn-convert into assets/models/NAME.vkbnn.
--convert-only skips training: it loads NAME.pt, checks its accuracy against the report,
re-exports the ONNX file and converts it.
"""

import argparse
import time
from pathlib import Path

import torch
from torch import nn
import torch.nn.functional as F

import common
from bnn_modules import Block, set_binary_weights
import train_fmnist_cnn

# (out channels, kernel, stride) of the binary blocks. The 1x1 blocks change
# the width in both directions, so the EL shortcuts use Expand and Squeeze.
# Downsampling in the first block keeps an epoch near 2.5 minutes on one
# thread; 3x3 and 1x1 blocks at 28x28 more than doubled that. Depth is where
# the shortcuts pay: with the first 8 blocks alone, the network without EL
# came within 0.6 points of the one with it (89.96% against 90.52%).
BLOCKS = [
    (32, 3, 2),   # 28 -> 14
    (64, 1, 1),   # Expand 32 -> 64
    (64, 3, 2),   # 14 -> 7
    (128, 1, 1),  # Expand 64 -> 128
    (64, 1, 1),   # Squeeze 128 -> 64
    (64, 3, 1),
    (128, 1, 1),  # Expand 64 -> 128
    (64, 1, 1),   # Squeeze 128 -> 64
    (64, 3, 1),
    (128, 1, 1),  # Expand 64 -> 128
    (128, 3, 1),
]
STEM_CHANNELS = 32
FINAL_SIZE = 7


def build_model(use_el, gamma_init=1.0):
    layers = [nn.Conv2d(1, STEM_CHANNELS, 3, padding=1, bias=False), nn.BatchNorm2d(STEM_CHANNELS)]
    in_ch = STEM_CHANNELS
    for out_ch, kernel, stride in BLOCKS:
        # Strided groups export the cleanest: Expand is a single Tile and
        # Squeeze a Reshape + ReduceMean like the contiguous order.
        layers.append(Block(in_ch, out_ch, kernel, stride, use_el, group_order="strided",
                            gamma_init=gamma_init))
        in_ch = out_ch
    # Flatten + Linear as in train_fmnist_cnn.py, where it beat global average
    # pooling: the 7x7 layout carries information.
    layers += [nn.Flatten(), nn.Linear(in_ch * FINAL_SIZE * FINAL_SIZE, 10)]
    return nn.Sequential(*layers)


def load_teacher(path):
    teacher = train_fmnist_cnn.build_model()
    teacher.load_state_dict(torch.load(path))
    teacher.eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher


def train_step(model, teacher, images, labels, args, lr, weight_decay, epochs, seed, label,
               after_epoch=None):
    """One step of the recipe: Adam, learning rate decaying linearly to 0.
    Returns common.train_epochs' per-epoch history."""
    generator = torch.Generator().manual_seed(seed)
    steps_per_epoch = (len(images) + args.batch_size - 1) // args.batch_size
    total_steps = epochs * steps_per_epoch
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1 - step / total_steps)

    def loss_fn(logits, x, y):
        loss = F.cross_entropy(logits, y)
        if teacher is not None:
            with torch.no_grad():
                soft_targets = F.softmax(teacher(x) / args.kd_temperature, 1)
            kd = F.kl_div(F.log_softmax(logits / args.kd_temperature, 1), soft_targets,
                          reduction="batchmean")
            loss = loss + args.kd_weight * args.kd_temperature ** 2 * kd
        return loss

    return common.train_epochs(model, images, labels, optimizer, scheduler, epochs, args.batch_size,
                               generator, loss_fn=loss_fn, label=label, after_epoch=after_epoch)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    common.add_binary_arguments(parser, epochs1=3, epochs2=3,
                                el_help="Elastic-Link shortcuts in every binary block (default: on)")
    parser.add_argument("--teacher", type=Path, help="state dict of train_fmnist_cnn.py's model to distil from")
    parser.add_argument("--kd-temperature", type=float, default=4.0)
    parser.add_argument("--kd-weight", type=float, default=1.0, help="weight of the KL term next to cross-entropy")
    args = parser.parse_args()

    common.make_deterministic(args.threads, args.seed)

    name = "fmnist-bnn-el" if args.el else "fmnist-bnn"
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
        teacher = load_teacher(args.teacher) if args.teacher else None
        start = time.time()
        train_step(model, teacher, train_images, train_labels, args, args.lr1, args.weight_decay1,
                   args.epochs1, args.seed, "step 1")
        step1_accuracy = common.evaluate(model, test_images, test_labels)
        print(f"step 1 test top-1: {step1_accuracy:.4f}", flush=True)
        # No weight decay for binary weights, as in ReActNet: it pulls the
        # latent weights towards 0, where their signs flip back and forth.
        set_binary_weights(model, True)
        train_step(model, teacher, train_images, train_labels, args, args.lr2, 0.0,
                   args.epochs2, args.seed + 1, "step 2")
        train_seconds = time.time() - start
        accuracy = common.evaluate(model, test_images, test_labels)
        print(f"test top-1 (PyTorch, 10000 images): {accuracy:.4f}; training took {train_seconds:.0f} s")
        args.out_dir.mkdir(parents=True, exist_ok=True)
        torch.save(model.state_dict(), state_path)
        report = common.accuracy_report(
            onnx_path.name, accuracy, len(test_labels),
            step1_top1=step1_accuracy,
            elastic_link=args.el,
            epochs_step1=args.epochs1,
            epochs_step2=args.epochs2,
            batch_size=args.batch_size,
            lr_step1=args.lr1,
            lr_step2=args.lr2,
            teacher=args.teacher.name if args.teacher else None,
            seed=args.seed,
            train_seconds=round(train_seconds, 1),
        )

    common.export_binary_model(model, paths, report, args.converter, args.asset_dir / f"{name}.vkbnn",
                               f"Fashion-MNIST binarized ResNet, {variant}, trained by training/train_fmnist_bnn.py")


if __name__ == "__main__":
    main()
