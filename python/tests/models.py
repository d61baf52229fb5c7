"""Small ONNX models built at test time, with PyTorch as their reference."""

import torch
from torch import nn


class SmallNet(nn.Module):
    """Conv + BatchNorm + ReLU, max pooling, a second convolution, then a linear classifier."""

    def __init__(self, width=8, size=16, classes=5):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU())
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(2 * width * (size // 2) ** 2, classes))

    def forward(self, x):
        return self.classifier(self.features(x))


def export_small_net(path, size=16, seed=0):
    torch.manual_seed(seed)
    net = SmallNet(size=size)
    with torch.no_grad():
        bn = net.features[1]
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.2, 0.2)
    net.eval()
    torch.onnx.export(net, torch.randn(1, 3, size, size), str(path), opset_version=13,
                      input_names=["image"], output_names=["scores"])
    return net


class DeepConvs(nn.Module):
    """Enough 3x3 convolutions at 96x96 that one run takes lavapipe tens of milliseconds."""

    def __init__(self, width=32, depth=6):
        super().__init__()
        layers = [nn.Conv2d(3, width, 3, padding=1), nn.ReLU()]
        for _ in range(depth - 1):
            layers += [nn.Conv2d(width, width, 3, padding=1), nn.ReLU()]
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return self.body(x)


def export_deep_convs(path, size=96):
    torch.manual_seed(1)
    net = DeepConvs().eval()
    torch.onnx.export(net, torch.randn(1, 3, size, size), str(path), opset_version=13)
    return net
