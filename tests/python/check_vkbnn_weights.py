"""Checks training/vkbnn_weights.py: the networks of train_fmnist_bnn.py and train_fmnist_cnn.py,
with every parameter and BatchNorm statistic randomized, are exported, converted with
vkbnn-convert and read back into freshly initialized networks, which must then compute what the
originals do (in eval mode, within 1e-5 of the logits' size) and must not before the read (so the check can fail).
The binary network is also trained a step after the read, with BatchNorm frozen, to check that
its running statistics stay what the file says.

Prints one line per network; exits non-zero on the first mismatch.
"""

import argparse
import sys
from pathlib import Path

import torch
from torch import nn

TRAINING = Path(__file__).resolve().parents[2] / "training"
sys.path.insert(0, str(TRAINING))
import common  # noqa: E402
import train_fmnist_bnn  # noqa: E402
import train_fmnist_cnn  # noqa: E402
import vkbnn_weights  # noqa: E402
from bnn_modules import ELink, RPReLU, RSign, set_binary_weights  # noqa: E402


def randomize(model, generator):
    """Every parameter and BatchNorm statistic to random values of the sizes training gives."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.5, generator=generator)
                m.running_var.uniform_(0.5, 2.0, generator=generator)
                m.weight.uniform_(0.5, 1.5, generator=generator)
                m.bias.normal_(0, 0.3, generator=generator)
            elif isinstance(m, RSign):
                m.bias.normal_(0, 0.2, generator=generator)
            elif isinstance(m, ELink):
                m.gamma.uniform_(0.2, 1.5, generator=generator)
            elif isinstance(m, RPReLU):
                m.shift_in.normal_(0, 0.2, generator=generator)
                m.prelu.weight.uniform_(0.05, 0.5, generator=generator)
                m.shift_out.normal_(0, 0.2, generator=generator)
            elif isinstance(m, (nn.Conv2d, nn.Linear)):
                m.weight.normal_(0, 0.1, generator=generator)
                if m.bias is not None:
                    m.bias.normal_(0, 0.1, generator=generator)


def check(name, original, fresh, load, path, converter, generator):
    original.eval()
    common.export_onnx(original, path.with_suffix(".onnx"))
    common.convert(converter, path.with_suffix(".onnx"), path, name, capture=True)
    x = torch.randn(16, 1, 28, 28, generator=generator)
    with torch.no_grad():
        expected = original(x)
        fresh.eval()
        before = (fresh(x) - expected).abs().max().item()
        load(fresh, path)
        fresh.eval()
        after = (fresh(x) - expected).abs().max().item()
    scale = expected.abs().max().item()
    print(f"{name}: max |difference| {before:.3g} before reading {path.name}, {after:.3g} after "
          f"(logits up to {scale:.3g})")
    # The folds round differently from the unfolded layers: 1e-5 relative to the logits'
    # size (observed: 1.0e-6 for the CNN, 4.4e-6 for the BNN); a flipped sign would cost far more.
    if before < 1e-2 * scale or after > 1e-5 * scale:
        sys.exit(f"{name}: the network read back from {path} does not compute the original's logits")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--converter", type=Path, required=True)
    parser.add_argument("--out-dir", type=Path, required=True)
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(5)

    cnn = train_fmnist_cnn.build_model()
    randomize(cnn, generator)
    check("cnn", cnn, train_fmnist_cnn.build_model(), vkbnn_weights.load_cnn, args.out_dir / "cnn.vkbnn",
          args.converter, generator)

    bnn, fresh = train_fmnist_bnn.build_model(True), train_fmnist_bnn.build_model(True)
    randomize(bnn, generator)
    set_binary_weights(bnn, True)
    set_binary_weights(fresh, True)
    check("bnn-el", bnn, fresh, vkbnn_weights.load_bnn, args.out_dir / "bnn-el.vkbnn", args.converter, generator)

    vkbnn_weights.freeze_batchnorm(fresh)
    bn = fresh[1]
    stats = bn.running_mean.clone(), bn.running_var.clone()
    fresh.train()
    loss = fresh(torch.randn(8, 1, 28, 28, generator=generator)).square().mean()
    loss.backward()
    if not (torch.equal(stats[0], bn.running_mean) and torch.equal(stats[1], bn.running_var)):
        sys.exit("freeze_batchnorm: a training forward pass changed the running statistics")
    if bn.weight.grad is None:
        sys.exit("freeze_batchnorm: the frozen BatchNorm's affine gets no gradient")
    print("bnn-el: BatchNorm frozen in training")


if __name__ == "__main__":
    main()
