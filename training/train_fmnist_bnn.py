"""Trains a binarized ResNet-style Fashion-MNIST network, with or without Elastic-Link shortcuts.

The network has a real-valued stem (3x3 conv + BatchNorm) and classifier (Flatten + Linear);
every block between them binarizes its input with RSign and convolves it with +-alpha weights
(bnn_modules.Block). Training follows ReActNet's two steps: binary activations with real
weights, then binary weights too, starting from the first step's result. --teacher adds
distillation from the fp32 CNN of train_fmnist_cnn.py. --init continues the second step from a
converted model (vkbnn_weights.load_bnn, BatchNorm frozen at the folded values). The bundled
models were trained with
  train_fmnist_bnn.py --no-el --teacher training/out/fmnist-cnn-fp32.pt
  train_fmnist_bnn.py --el --teacher assets/models/fmnist-cnn-fp32.vkbnn --epochs1 5 --epochs2 7 \
      --schedule cosine --optimizer adamw --weight-decay2 1e-2
(the second in 43 minutes on one core; 3 + 3 epochs with the defaults gave the EL network 90.71%).

Writes to --out-dir, NAME being fmnist-bnn-el (--el) or fmnist-bnn (--no-el):
  NAME.pt                       state dict (latent real weights; eval binarizes them)
  NAME.onnx                     opset 13, input "input" [1,1,28,28], output "logits" [1,10]
  NAME.pytorch-accuracy.json    top-1 on all 10,000 test images, as PyTorch measures it
  --results-dir/NAME.curve.json per epoch the train loss and accuracy and the test top-1
and converts the ONNX file with vkbnn-convert into --asset-dir/NAME.vkbnn, printing the
converter's per-layer report.
--convert-only skips training: it loads NAME.pt, checks its accuracy against the report,
re-exports the ONNX file and converts it.
"""

import argparse
import math
import time
from pathlib import Path

import torch
from torch import nn
import torch.nn.functional as F

import common
from bnn_modules import BinaryConv2d, BinaryLinear, Block, set_binary_weights
import train_fmnist_cnn
import vkbnn_weights

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
    """train_fmnist_cnn.py's model from its state dict (.pt) or its converted .vkbnn file."""
    teacher = train_fmnist_cnn.build_model()
    if path.suffix == ".vkbnn":
        vkbnn_weights.load_cnn(teacher, path)
    else:
        teacher.load_state_dict(torch.load(path))
    teacher.eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher


def decay_groups(model, weight_decay, binary_weights):
    """Parameter groups: weight decay on the real convolution and linear
    weights, none on the binary ones (ReActNet: decay pulls their latent
    values towards 0, where the signs flip back and forth) and none on
    BatchNorm, thresholds, RPReLU and EL gamma (per-channel offsets and
    scales, not weights)."""
    decayed, plain = [], []
    for module in model.modules():
        for name, p in module.named_parameters(recurse=False):
            is_weight = name == "weight" and isinstance(module, (nn.Conv2d, nn.Linear))
            is_binary = binary_weights and isinstance(module, (BinaryConv2d, BinaryLinear))
            (decayed if is_weight and not is_binary else plain).append(p)
    return [{"params": decayed, "weight_decay": weight_decay}, {"params": plain, "weight_decay": 0.0}]


def train_step(model, teacher, images, labels, args, lr, weight_decay, epochs, seed, label,
               after_epoch=None, schedule="linear", decoupled_decay=False):
    """One step of the recipe: Adam, the learning rate decaying to 0 linearly
    or along a cosine. decoupled_decay is AdamW with decay_groups(); without
    it, Adam's L2 term on every parameter (the bundled models before the
    cosine recipe). Returns common.train_epochs' per-epoch history."""
    generator = torch.Generator().manual_seed(seed)
    steps_per_epoch = (len(images) + args.batch_size - 1) // args.batch_size
    total_steps = epochs * steps_per_epoch
    if decoupled_decay:
        binary = any(getattr(m, "binary_weights", False) for m in model.modules())
        optimizer = torch.optim.AdamW(decay_groups(model, weight_decay, binary), lr=lr)
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    if schedule == "cosine":
        decay = lambda step: 0.5 * (1 + math.cos(math.pi * step / total_steps))
    else:
        decay = lambda step: 1 - step / total_steps
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, decay)

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
    parser.add_argument("--weight-decay2", type=float, default=0.0,
                        help="weight decay of step 2 (--optimizer adamw: on the real weights only)")
    parser.add_argument("--schedule", choices=("linear", "cosine"), default="linear",
                        help="learning-rate decay to 0 within each step")
    parser.add_argument("--optimizer", choices=("adam", "adamw"), default="adam",
                        help="adam: L2 on every parameter; adamw: decoupled weight decay on the real "
                             "weights only (decay_groups)")
    parser.add_argument("--teacher", type=Path,
                        help="train_fmnist_cnn.py's model to distil from: its state dict (.pt) or its .vkbnn")
    parser.add_argument("--init", type=Path,
                        help="continue training a converted model (.vkbnn, vkbnn_weights.load_bnn) with its "
                             "BatchNorm frozen: step 2 only, --epochs1 must be 0")
    parser.add_argument("--kd-temperature", type=float, default=4.0)
    parser.add_argument("--kd-weight", type=float, default=1.0, help="weight of the KL term next to cross-entropy")
    parser.add_argument("--results-dir", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args()
    if args.init and args.epochs1:
        parser.error("--init continues the binary-weight step: it needs --epochs1 0")
    decoupled = args.optimizer == "adamw"

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

        def record_test_accuracy(epoch, stats):
            stats["test_top1"] = common.evaluate(model, test_images, test_labels)

        start = time.time()
        if args.init:
            set_binary_weights(model, True)
            vkbnn_weights.load_bnn(model, args.init)
            vkbnn_weights.freeze_batchnorm(model)
            curve1 = []
            init_accuracy = common.evaluate(model, test_images, test_labels)
            print(f"{args.init}: test top-1 {init_accuracy:.4f}", flush=True)
        else:
            curve1 = train_step(model, teacher, train_images, train_labels, args, args.lr1, args.weight_decay1,
                                args.epochs1, args.seed, "step 1", after_epoch=record_test_accuracy,
                                schedule=args.schedule, decoupled_decay=decoupled)
        step1_accuracy = curve1[-1]["test_top1"] if curve1 else None
        set_binary_weights(model, True)
        # With adam, --weight-decay2 would reach the binary weights too; ReActNet trains
        # them without (decay pulls the latent weights towards 0, where signs flip).
        curve2 = train_step(model, teacher, train_images, train_labels, args, args.lr2,
                            args.weight_decay2, args.epochs2, args.seed + 1, "step 2",
                            after_epoch=record_test_accuracy, schedule=args.schedule, decoupled_decay=decoupled)
        train_seconds = time.time() - start
        accuracy = curve2[-1]["test_top1"]
        print(f"test top-1 (PyTorch, 10000 images): {accuracy:.4f}; training took {train_seconds:.0f} s")
        args.out_dir.mkdir(parents=True, exist_ok=True)
        torch.save(model.state_dict(), state_path)
        recipe = {
            "step1_top1": step1_accuracy,
            "elastic_link": args.el,
            "epochs_step1": args.epochs1,
            "epochs_step2": args.epochs2,
            "batch_size": args.batch_size,
            "lr_step1": args.lr1,
            "lr_step2": args.lr2,
            "schedule": args.schedule,
            "optimizer": args.optimizer,
            "weight_decay_step1": args.weight_decay1,
            "weight_decay_step2": args.weight_decay2,
            "init": args.init.name if args.init else None,
            "init_top1": init_accuracy if args.init else None,
            "teacher": args.teacher.name if args.teacher else None,
            "kd_temperature": args.kd_temperature,
            "kd_weight": args.kd_weight,
            "seed": args.seed,
            "threads": args.threads,
            "train_seconds": round(train_seconds, 1),
        }
        common.write_curve(args.results_dir, name, "training/train_fmnist_bnn.py", len(test_labels), recipe, accuracy, curve1, curve2)

        report = common.accuracy_report(onnx_path.name, accuracy, len(test_labels), **recipe)

    common.export_binary_model(model, paths, report, args.converter, args.asset_dir / f"{name}.vkbnn",
                               f"Fashion-MNIST binarized ResNet, {variant}, trained by training/train_fmnist_bnn.py")


if __name__ == "__main__":
    main()
