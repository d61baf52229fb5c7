"""Exports small PyTorch modules whose graphs hold ArgMax/ArgMin, Gather at computed indices
(ArgMax feeding Gather: "pick the best box" without TopK) and 1-D convolutions, transposed
convolutions and pooling (audio / keyword-spotting CNNs), and element-wise ops whose computed
operands broadcast against each other, to ONNX (torch.onnx.export, opset 13),
with random weights and input and PyTorch's outputs.

Writes <name>.onnx, <name>.input.npy and <name>.expected<k>.npy (output k, float32; integer
and bool outputs are stored as float32 too, their dtype printed) to --out-dir and prints one line
per model: its name, the dtype of each output ("float32", "int64" or "bool") joined by commas,
then the ONNX op types its graph holds.
"""

import numpy as np
import torch
from torch import nn

import case_files


class Segmenter(nn.Module):
    """A segmentation head: per-pixel class scores, then the class of each pixel."""

    def __init__(self, classes=6):
        super().__init__()
        self.conv = nn.Conv2d(3, classes, 3, padding=1)

    def forward(self, x):
        return self.conv(x).argmax(dim=1)


class ArgMinLast(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)

    def forward(self, x):
        return torch.argmin(self.conv(x), dim=-1, keepdim=True)


class BestBox(nn.Module):
    """A detector's head without TopK: A anchors with 4 box values and C class scores each; the
    anchor with the best score gives the box, and its index is returned too."""

    def __init__(self, classes=3):
        super().__init__()
        self.head = nn.Conv2d(8, 4 + classes, 1)
        self.backbone = nn.Conv2d(3, 8, 3, padding=1)

    def forward(self, x):
        p = self.head(torch.relu(self.backbone(x)))   # [1, 4 + C, H, W]
        anchors = p.flatten(2)[0].transpose(0, 1)     # [A, 4 + C]
        boxes, scores = anchors[:, :4], anchors[:, 4:].amax(dim=1)
        best = scores.argmax()                        # a scalar index
        return boxes[best], best


class BestPerRow(nn.Module):
    """The best column of each row picked with index_select (a 1-D index tensor)."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 9)

    def forward(self, x):
        y = self.fc(x)                                # [R, 9]
        best = y.sum(dim=0).argmax(dim=0, keepdim=True)
        return y.index_select(1, best)


class ClassScale(nn.Module):
    """A learnt per-class value looked up at the predicted class: a constant table, computed
    indices."""

    def __init__(self, classes=5):
        super().__init__()
        self.conv = nn.Conv2d(3, classes, 1)
        self.table = nn.Parameter(torch.randn(classes, 2))

    def forward(self, x):
        cls = self.conv(x).mean(dim=(2, 3)).argmax(dim=1)   # [N]
        return self.table[cls]


class Detections(nn.Module):
    """Per anchor: its box and its best class as a float, side by side (Cast of the indices)."""

    def __init__(self, classes=4):
        super().__init__()
        self.head = nn.Conv2d(3, 4 + classes, 1)

    def forward(self, x):
        anchors = self.head(x).flatten(2).transpose(1, 2)          # [N, A, 4 + C]
        cls = anchors[..., 4:].argmax(dim=-1, keepdim=True)        # [N, A, 1]
        return torch.cat([anchors[..., :4], cls.float()], dim=-1)


class KeywordSpotter(nn.Module):
    """A small 1-D CNN over audio features [N, 10, L]: strided and dilated Conv1d with BatchNorm,
    depthwise Conv1d, MaxPool1d and AvgPool1d (ceil mode), and a ConvTranspose1d back up."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv1d(10, 16, 5, stride=2, padding=2), nn.BatchNorm1d(16), nn.ReLU(),
            nn.MaxPool1d(3, stride=2, padding=1),
            nn.Conv1d(16, 16, 3, padding=2, dilation=2, groups=16), nn.ReLU(),
            nn.Conv1d(16, 12, 1),
            nn.AvgPool1d(3, stride=2, ceil_mode=True, count_include_pad=False),
            nn.ConvTranspose1d(12, 8, 4, stride=2, padding=1, output_padding=1, groups=2, dilation=2),
        )

    def forward(self, x):
        return self.body(x)


class Deconv1d(nn.Module):
    def __init__(self):
        super().__init__()
        self.deconv = nn.ConvTranspose1d(4, 6, 3, stride=3, padding=1, bias=False)

    def forward(self, x):
        return torch.sigmoid(self.deconv(x, output_size=[x.shape[2] * 3 - 1]))


class BroadcastBoth(nn.Module):
    """Computed operands that broadcast against each other: a per-row statistic less a per-column
    one ([N, C, H, 1] - [N, C, 1, W]) and their comparison (as floats, and as the graph's bool
    output), a column statistic over the map (a first operand that broadcasts, of a Div), and at
    batch 2 the map less its maximum over channels ([N, 1, H, W] on [N, C, H, W]: two runs of
    broadcast axes)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        y = self.conv(x)
        rows, cols = y.mean(dim=3, keepdim=True), y.amax(dim=2, keepdim=True)
        return (rows - cols, (rows > cols).float(), cols / (y.abs() + 1), y - y.amax(dim=1, keepdim=True),
                rows <= cols)


def modules():
    return {
        "segment_argmax": (Segmenter(), (2, 3, 7, 5)),
        "argmin_keepdim": (ArgMinLast(), (1, 3, 4, 9)),
        "best_box": (BestBox(), (1, 3, 6, 5)),
        "best_per_row": (BestPerRow(), (4, 6)),
        "class_scale": (ClassScale(), (3, 3, 4, 4)),
        "detections": (Detections(), (2, 3, 3, 4)),
        "keyword_spotter": (KeywordSpotter(), (2, 10, 49)),
        "deconv1d_output_size": (Deconv1d(), (1, 4, 7)),
        "broadcast_both": (BroadcastBoth(), (2, 3, 6, 5)),
    }


def main():
    args = case_files.arguments(__doc__, seed=True)
    torch.manual_seed(args.seed)
    for name, (module, shape) in modules().items():
        module.eval()
        x = torch.randn(*shape)
        with torch.no_grad():
            for m in module.modules():
                if isinstance(m, nn.BatchNorm1d):
                    m.running_mean.uniform_(-0.5, 0.5)
                    m.running_var.uniform_(0.5, 2.0)
            ys = module(x)
        ys = ys if isinstance(ys, tuple) else (ys,)
        path = args.out_dir / f"{name}.onnx"
        names = [f"output{k}" for k in range(len(ys))]
        torch.onnx.export(module, x, str(path), opset_version=13, input_names=["input"], output_names=names)
        np.save(args.out_dir / f"{name}.input.npy", x.numpy())
        dtypes = []
        for k, y in enumerate(ys):
            dtypes.append({torch.int64: "int64", torch.bool: "bool"}.get(y.dtype, "float32"))
            np.save(args.out_dir / f"{name}.expected{k}.npy", y.numpy().astype(np.float32))
        print(name, ",".join(dtypes), *case_files.op_types(path))


if __name__ == "__main__":
    main()
