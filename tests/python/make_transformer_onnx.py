"""Exports small Swin- and MaxViT-style networks to ONNX (torch.onnx.export, opset 13) with random weights and
input and PyTorch's output.

- "shifted_windows": two transformer blocks written out here (not torchvision's code): LayerNorm,
  padding of the token grid to whole windows (the pads computed with %, which exports as Mod),
  a cyclic shift by torch.roll, window partition, multi-head attention with a relative position
  bias gathered from a table and, in the shifted block, the shifted-window mask built by slice
  assignment (ScatterND), the reverse shift and crop, a GELU MLP.
- "swin_tiny": torchvision's SwinTransformer with two stages of two blocks (patch merging between
  them) on a 32x32 image.
- "einsum_attention": attention whose products are torch.einsum over [batch, groups, heads,
  tokens, dim] tensors, as MaxViT writes them, and a product whose output axes are permuted.
- "maxvit_tiny": torchvision's MaxVit, one stage of one block (MBConv, window and grid
  attention) on a 64x64 image.

Writes <name>.onnx, <name>.input.npy and <name>.expected.npy to --out-dir and prints one line per
model: its name, then the ONNX op types its graph holds.
"""

import torch
from torch import nn
from torch.nn import functional as F

import case_files


class ShiftedWindowBlock(nn.Module):
    """One Swin block over tokens [B, H, W, C]: windows of `window` x `window`, shifted by `shift`."""

    def __init__(self, dim, heads, window, shift):
        super().__init__()
        self.heads, self.window, self.shift = heads, window, shift
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))
        self.bias_table = nn.Parameter(torch.randn((2 * window - 1) ** 2, heads))
        # The table row of each (query, key) pair of a window: their offset along both axes.
        ys, xs = torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")
        coords = torch.stack([ys.flatten(), xs.flatten()])
        offsets = coords[:, :, None] - coords[:, None, :] + window - 1
        self.register_buffer("bias_index", (offsets[0] * (2 * window - 1) + offsets[1]).flatten())

    def region_mask(self, height, width, like):
        """-100 between tokens of a window that came from different regions of the unshifted grid."""
        w, s = self.window, self.shift
        regions = like.new_zeros((height, width))
        label = 0
        for rows in (slice(0, -w), slice(-w, -s), slice(-s, None)):
            for cols in (slice(0, -w), slice(-w, -s), slice(-s, None)):
                regions[rows, cols] = label
                label += 1
        regions = regions.view(height // w, w, width // w, w).transpose(1, 2).reshape(-1, w * w)
        differ = regions.unsqueeze(1) - regions.unsqueeze(2)
        return differ.masked_fill(differ != 0, -100.0)

    def forward(self, x):
        batch, height, width, channels = x.shape
        w, s, heads = self.window, self.shift, self.heads
        shortcut = x
        x = self.norm1(x)
        x = F.pad(x, (0, 0, 0, (w - width % w) % w, 0, (w - height % w) % w))
        padded_h, padded_w = x.shape[1], x.shape[2]
        if s:
            x = torch.roll(x, shifts=(-s, -s), dims=(1, 2))
        windows = x.view(batch, padded_h // w, w, padded_w // w, w, channels)
        windows = windows.permute(0, 1, 3, 2, 4, 5).reshape(-1, w * w, channels)
        qkv = self.qkv(windows).reshape(windows.shape[0], w * w, 3, heads, channels // heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attention = (q * (channels // heads) ** -0.5) @ k.transpose(-2, -1)
        bias = self.bias_table[self.bias_index].view(w * w, w * w, heads).permute(2, 0, 1)
        attention = attention + bias.unsqueeze(0)
        if s:
            mask = self.region_mask(padded_h, padded_w, x)
            count = mask.shape[0]
            attention = attention.view(-1, count, heads, w * w, w * w) + mask.unsqueeze(1).unsqueeze(0)
            attention = attention.view(-1, heads, w * w, w * w)
        out = (attention.softmax(-1) @ v).transpose(1, 2).reshape(-1, w * w, channels)
        out = self.proj(out).view(batch, padded_h // w, padded_w // w, w, w, channels)
        out = out.permute(0, 1, 3, 2, 4, 5).reshape(batch, padded_h, padded_w, channels)
        if s:
            out = torch.roll(out, shifts=(s, s), dims=(1, 2))
        x = shortcut + out[:, :height, :width, :]
        return x + self.mlp(self.norm2(x))


class ShiftedWindows(nn.Module):
    """A patch embedding to a 14x14 grid (not a whole number of 4x4 windows), a plain and a shifted
    block, then a classifier on the mean token."""

    def __init__(self, dim=16, heads=2, window=4):
        super().__init__()
        self.embed = nn.Conv2d(3, dim, 2, stride=2)
        self.blocks = nn.Sequential(ShiftedWindowBlock(dim, heads, window, 0),
                                    ShiftedWindowBlock(dim, heads, window, window // 2))
        self.head = nn.Linear(dim, 10)

    def forward(self, x):
        tokens = self.embed(x).permute(0, 2, 3, 1)
        return self.head(self.blocks(tokens).mean(dim=(1, 2)))


class EinsumAttention(nn.Module):
    """Tokens [B, G, T, C] (G groups of T tokens) through multi-head attention written with einsum."""

    def __init__(self, dim=16, heads=2):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.mix = nn.Linear(dim, dim)

    def forward(self, x):
        batch, groups, tokens, dim = x.shape
        qkv = self.qkv(x).view(batch, groups, tokens, 3, self.heads, dim // self.heads).permute(3, 0, 1, 4, 2, 5)
        q, k, v = qkv[0], qkv[1], qkv[2]
        scores = torch.einsum("bghid,bghjd->bghij", q, k) * (dim // self.heads) ** -0.5
        attention = scores.softmax(-1)
        heads_first = torch.einsum("bghij,bghjd->bghid", attention, v)
        # The same product with its output axes in another order than the MatMul's.
        tokens_first = torch.einsum("bghij,bghjd->bgihd", attention, v)
        out = heads_first.transpose(2, 3) + 0.5 * tokens_first.flip(-1)
        return self.mix(out.reshape(batch, groups, tokens, dim))


def randomize_vectors(model):
    """The 1-D parameters (biases, LayerNorm affines), zero or one at initialisation, random."""
    for p in model.parameters():
        if p.dim() == 1:
            p.data.normal_(0, 0.5)
    return model


def swin_tiny():
    from torchvision.models.swin_transformer import SwinTransformer
    return SwinTransformer(patch_size=[2, 2], embed_dim=16, depths=[2, 2], num_heads=[2, 2], window_size=[4, 4],
                           num_classes=10)


def maxvit_tiny():
    from torchvision.models.maxvit import MaxVit
    return MaxVit(input_size=(64, 64), stem_channels=8, partition_size=4, block_channels=[16], block_layers=[1],
                  head_dim=8, stochastic_depth_prob=0.0, num_classes=10)


def models():
    return {
        "shifted_windows": (ShiftedWindows(), (1, 3, 28, 28)),
        "swin_tiny": (swin_tiny(), (1, 3, 32, 32)),
        "einsum_attention": (EinsumAttention(), (2, 3, 5, 16)),
        "maxvit_tiny": (maxvit_tiny(), (1, 3, 64, 64)),
    }


def main():
    args = case_files.arguments(__doc__, seed=True)
    torch.manual_seed(args.seed)
    case_files.export_torch_modules(models(), args.out_dir, prepare=randomize_vectors)


if __name__ == "__main__":
    main()
