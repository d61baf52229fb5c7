"""Exports a torchvision network with random weights to ONNX, with an input and PyTorch's output.

Any classification model torchvision lists (resnet18, vit_b_16, ...) and the segmentation models
(fcn_resnet50, deeplabv3_mobilenet_v3_large, lraspp_mobilenet_v3_large; their "out" output).

BatchNorm running statistics are randomized too: with the defaults (mean 0, var 1) folding
BatchNorm into the convolutions would be an identity and a wrong fold would go unnoticed. With
--keep-batchnorm the BatchNormalization nodes stay in the ONNX graph (PyTorch's exporter folds
them into the convolutions in eval mode), so the converter's own fold is what gets tested.

Writes <model>.onnx, <model>.input.npy and <model>.expected.npy to --out-dir.
"""

import argparse
import warnings
from pathlib import Path

import numpy as np
import torch
import torchvision


def randomize_batchnorm(model, generator):
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d) and m.running_mean is not None:
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=generator) * 0.1)
            m.running_var.copy_(torch.rand(c, generator=generator) * 0.5 + 0.75)
            m.weight.data.copy_(torch.rand(c, generator=generator) * 0.5 + 0.75)
            m.bias.data.copy_(torch.randn(c, generator=generator) * 0.1)


class SegmentationOutput(torch.nn.Module):
    """A segmentation model's "out" tensor, as its ONNX export's single output."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x)["out"]


def randomize_constant_parameters(model, generator):
    """Parameters their initialisation leaves constant (ViT's zero classifier head, which makes the
    output all zero, LayerNorm's unit weights and zero biases, zero attention biases) random too."""
    for p in model.parameters():
        if p.numel() > 1 and bool((p == p.flatten()[0]).all()):
            p.data.copy_(torch.randn(p.shape, generator=generator) * (0.5 if p.dim() == 1 else 0.02))


def build(name, size):
    if name in torchvision.models.list_models(module=torchvision.models.segmentation):
        kwargs = {"weights_backbone": None, "aux_loss": False} if not name.startswith("lraspp") else {
            "weights_backbone": None}
        return SegmentationOutput(torchvision.models.get_model(name, weights=None, **kwargs))
    if name not in torchvision.models.list_models(module=torchvision.models):
        raise SystemExit(f"{name} is not a torchvision classification or segmentation model")
    # The vision transformers take their image size as a parameter (their position embeddings and
    # window masks depend on it). GoogLeNet and Inception v3 return their auxiliary logits only in
    # training mode.
    kwargs = {"image_size": size} if name.startswith("vit_") else {}
    return torchvision.models.get_model(name, weights=None, **kwargs)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True, help="a torchvision model name, e.g. resnet18")
    parser.add_argument("--out-dir", required=True, type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--keep-batchnorm", action="store_true",
                        help="export BatchNormalization nodes instead of folding them into the convolutions")
    parser.add_argument("--randomize-constant-parameters", action="store_true",
                        help="also randomize parameters initialised to one value (e.g. ViT's zero head)")
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    model = build(args.model, args.size)
    randomize_batchnorm(model, generator)
    if args.randomize_constant_parameters:
        randomize_constant_parameters(model, generator)
    model.eval()

    x = torch.randn(1, 3, args.size, args.size, generator=generator)
    with torch.no_grad():
        y = model(x)

    args.out_dir.mkdir(parents=True, exist_ok=True)
    # The exporter warns about constant folding in training mode; the model is in eval mode.
    warnings.filterwarnings("ignore", message="It is recommended that constant folding be turned off")
    # PRESERVE exports the eval-mode model without the exporter's Conv+BatchNorm fusion.
    training = torch.onnx.TrainingMode.PRESERVE if args.keep_batchnorm else torch.onnx.TrainingMode.EVAL
    torch.onnx.export(model, x, str(args.out_dir / f"{args.model}.onnx"), opset_version=13,
                      input_names=["input"], output_names=["output"], training=training)
    np.save(args.out_dir / f"{args.model}.input.npy", x.numpy().astype(np.float32))
    np.save(args.out_dir / f"{args.model}.expected.npy", y.numpy().astype(np.float32))


if __name__ == "__main__":
    main()
