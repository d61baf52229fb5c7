"""Exports small PyTorch modules built around ConvTranspose2d, Gather, DepthToSpace/SpaceToDepth,
Expand, Tile and MatMul of computed operands to ONNX (torch.onnx.export, opset 13), with random
weights and input and PyTorch's output.

Writes <name>.onnx, <name>.input.npy and <name>.expected.npy to --out-dir and prints one line per
model: its name, then the ONNX op types its graph holds (so the test can tell which ops each
export exercises).
"""

import torch
from torch import nn

import case_files


class Deconv(nn.Module):
    """A ConvTranspose2d, optionally with the output size asked for in forward, then an activation."""

    def __init__(self, *args, act=None, output_size=None, **kwargs):
        super().__init__()
        self.deconv = nn.ConvTranspose2d(*args, **kwargs)
        self.act = act
        self.output_size = output_size

    def forward(self, x):
        y = self.deconv(x, output_size=self.output_size) if self.output_size else self.deconv(x)
        return self.act(y) if self.act else y


class Tokens(nn.Module):
    """A ViT-like head: patches to tokens [N, T, D], then `select` picks from them."""

    def __init__(self, select):
        super().__init__()
        self.embed = nn.Conv2d(3, 8, 2, stride=2)
        self.select = select

    def forward(self, x):
        return self.select(self.embed(x).flatten(2).transpose(1, 2))


class Map(nn.Module):
    """A convolution, then `f` of its output (so that f works on an activation)."""

    def __init__(self, f, channels=8):
        super().__init__()
        self.conv = nn.Conv2d(3, channels, 3, padding=1)
        self.f = f

    def forward(self, x):
        return self.f(self.conv(x))


class Attention(nn.Module):
    """Multi-head self-attention over ViT-like tokens: MatMul of two computed operands."""

    def __init__(self):
        super().__init__()
        self.tokens = Tokens(lambda t: t)
        self.attention = nn.MultiheadAttention(8, 2, batch_first=True)

    def forward(self, x):
        t = self.tokens(x)
        return self.attention(t, t, t, need_weights=False)[0]


def vit_tiny():
    """torchvision's VisionTransformer, 2 layers of width 64 on 32x32 images (16x16 patches); the
    head and the 1-D parameters (biases, LayerNorm affines), zero or one at initialisation, random."""
    from torchvision.models.vision_transformer import VisionTransformer
    model = VisionTransformer(image_size=32, patch_size=16, num_layers=2, num_heads=2, hidden_dim=64, mlp_dim=128,
                              num_classes=10)
    nn.init.normal_(model.heads.head.weight)
    for p in model.parameters():
        if p.dim() == 1:
            p.data.normal_(0, 0.5)
    return model


def modules():
    return {
        # The U-Net/FPN 2x upsampling; output_padding; every attribute at once; depthwise; no bias.
        "deconv_k4s2p1": (Deconv(8, 6, 4, stride=2, padding=1, act=nn.ReLU()), (1, 8, 6, 7)),
        "deconv_output_padding": (Deconv(5, 4, 3, stride=2, padding=1, output_padding=1), (2, 5, 5, 4)),
        "deconv_all_attributes": (Deconv(6, 4, (3, 2), stride=(2, 3), padding=(2, 0), output_padding=(1, 2),
                                         groups=2, dilation=(2, 1), act=nn.LeakyReLU(0.1)), (1, 6, 5, 6)),
        "deconv_depthwise_no_bias": (Deconv(4, 4, 4, stride=2, padding=1, groups=4, bias=False, act=nn.Sigmoid()),
                                     (1, 4, 5, 5)),
        "deconv_output_size": (Deconv(3, 5, 3, stride=3, padding=1, output_size=[14, 12]), (1, 3, 5, 4)),
        "class_token": (Tokens(lambda t: t[:, 0]), (2, 3, 8, 8)),
        "token_columns": (Tokens(lambda t: t[:, :, 5]), (1, 3, 8, 6)),
        "index_select": (Tokens(lambda t: t.index_select(1, torch.tensor([3, 0, 3, 7]))), (1, 3, 8, 8)),
        "last_token": (Tokens(lambda t: t[:, -1]), (1, 3, 6, 6)),
        "pixel_shuffle": (Map(lambda y: nn.functional.pixel_shuffle(y, 2)), (1, 3, 5, 6)),
        "pixel_unshuffle": (Map(lambda y: nn.functional.pixel_unshuffle(y, 2)), (1, 3, 6, 4)),
        "expand": (Map(lambda y: y.mean((2, 3), keepdim=True).expand(-1, -1, 5, 3) * 2.0), (2, 3, 5, 3)),
        "expand_rank": (Map(lambda y: y.mean((2, 3)).expand(2, 4, 8) + 1.0), (1, 3, 4, 4)),
        "repeat": (Map(lambda y: y.repeat(1, 2, 1, 3)), (1, 3, 4, 5)),
        "attention": (Attention(), (2, 3, 8, 6)),
        "batched_matmul": (Map(lambda y: torch.matmul(y, y.transpose(2, 3)) @ y[:, :1]), (2, 3, 5, 4)),
        "vit_tiny": (vit_tiny(), (1, 3, 32, 32)),
    }


def main():
    args = case_files.arguments(__doc__, seed=True)
    torch.manual_seed(args.seed)
    case_files.export_torch_modules(modules(), args.out_dir)


if __name__ == "__main__":
    main()
