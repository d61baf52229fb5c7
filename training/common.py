"""Fashion-MNIST helpers shared by the training and asset-export scripts."""

import gzip
import json
import os
import subprocess
import time
from pathlib import Path

import numpy as np

DEFAULT_DATA_DIR = Path(os.environ.get("FMNIST_DIR", "/usr/share/datasets/fashion-mnist"))

CLASS_NAMES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]

# Statistics of the training split on [0, 1] pixels. The C++ side must apply
# exactly the same preprocessing for its accuracy to be comparable.
MEAN = 0.2860
STD = 0.3530

_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path):
    """Reads an IDX file, gzip-compressed or plain, into a numpy array."""
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{path}: not an IDX file")
    dtype = _IDX_DTYPES[raw[2]]
    ndim = raw[3]
    header_end = 4 + 4 * ndim
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    count = int(np.prod(shape))
    if len(raw) != header_end + count * dtype.itemsize:
        raise ValueError(f"{path}: size does not match header shape {shape}")
    data = np.frombuffer(raw, dtype=dtype, count=count, offset=header_end)
    return data.reshape(shape).astype(dtype.newbyteorder("="))


def find_idx(data_dir, stem):
    """Path of the IDX file `stem` in data_dir, gzip-compressed or plain."""
    for name in (f"{stem}.gz", stem):
        candidate = Path(data_dir) / name
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"{stem}(.gz) not found in {data_dir}")


def load_split(split, data_dir=DEFAULT_DATA_DIR):
    """Returns (images uint8 [N, 28, 28], labels int64 [N]) for split 'train' or 't10k'."""
    if split not in ("train", "t10k"):
        raise ValueError(f"unknown split {split!r}")
    images = read_idx(find_idx(data_dir, f"{split}-images-idx3-ubyte"))
    labels = read_idx(find_idx(data_dir, f"{split}-labels-idx1-ubyte")).astype(np.int64)
    if images.ndim != 3 or images.shape[0] != labels.shape[0]:
        raise ValueError(f"{split}: images {images.shape} and labels {labels.shape} disagree")
    return images, labels


def normalize(images):
    """uint8 [N, H, W] -> float32 [N, 1, H, W], the network's input convention."""
    x = images.astype(np.float32)[:, None] / 255.0
    return (x - MEAN) / STD


def evaluate(model, images, labels, batch_size=500):
    """Top-1 accuracy of `model` (put in eval mode) on uint8 images."""
    # Imported here so the asset-export scripts work without torch.
    import torch

    model.eval()
    x = torch.from_numpy(normalize(images))
    y = torch.from_numpy(labels)
    correct = 0
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            logits = model(x[start:start + batch_size])
            correct += int((logits.argmax(1) == y[start:start + batch_size]).sum())
    return correct / len(x)


# Everything below imports torch/onnx inside the functions, like evaluate(),
# so that the asset-export scripts keep working without them.

REPO_ROOT = Path(__file__).resolve().parent.parent
LABELS_PATH = REPO_ROOT / "assets/models/fmnist-labels.txt"


def augment(x, generator):
    """Random horizontal flip per sample.

    Random crops (padding 1 or 2) cost 0.4-1.0 points of test accuracy in a
    5-epoch schedule of train_fmnist_cnn.py, so they are left out.
    """
    import torch

    flip = torch.rand(len(x), generator=generator) < 0.5
    return torch.where(flip[:, None, None, None], x.flip(3), x)


def cross_entropy_loss(logits, x, y):
    import torch.nn.functional as F

    return F.cross_entropy(logits, y)


def train_epochs(model, images, labels, optimizer, scheduler, epochs, batch_size, generator,
                 loss_fn=cross_entropy_loss, label="", after_step=None, after_epoch=None):
    """The training loop all the Fashion-MNIST scripts share.

    Shuffles with `generator`, flips half of each batch (augment), and steps
    `optimizer` and then `scheduler` once per batch. loss_fn(logits, x, y)
    gives the loss (distillation adds its term there); after_step(), if given,
    runs after every optimizer step (pruning re-applies its masks there).
    Prints one line per epoch, prefixed by `label`. Returns one dict per
    epoch (train_loss, train_acc, seconds), to which after_epoch(epoch, stats),
    if given, can add entries (a test accuracy) before the line is printed.
    """
    import torch

    x_all = torch.from_numpy(normalize(images))
    y_all = torch.from_numpy(labels)
    steps_per_epoch = (len(x_all) + batch_size - 1) // batch_size
    prefix = f"{label} " if label else ""
    history = []
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
            loss = loss_fn(logits, x, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            if after_step is not None:
                after_step()
            loss_sum += loss.item() * len(idx)
            correct += int((logits.argmax(1) == y).sum())
        stats = {"train_loss": loss_sum / len(x_all), "train_acc": correct / len(x_all),
                 "seconds": round(time.time() - start, 1)}
        if after_epoch is not None:
            after_epoch(epoch, stats)
        extra = "".join(f", {k} {v:.4f}" for k, v in stats.items() if k not in ("train_loss", "train_acc", "seconds"))
        print(f"{prefix}epoch {epoch + 1}/{epochs}: train loss {stats['train_loss']:.4f}, "
              f"train acc {stats['train_acc']:.4f}{extra}, {stats['seconds']:.0f} s", flush=True)
        history.append(stats)
    return history


def export_onnx(model, path):
    """ONNX as vkbnn-convert takes it: opset 13, input "input" [1,1,28,28],
    output "logits" [1,10], constants folded (in eval mode the exporter also
    folds BatchNorm into the convolutions)."""
    import onnx
    import torch

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


def convert(converter, onnx_path, asset, description, extra_args=(), capture=False):
    """Runs vkbnn-convert with the labels and the preprocessing the networks
    are trained with (gray, 28x28, MEAN/STD); extra_args go before them.
    With capture, returns the converter's report instead of printing it."""
    asset = Path(asset)
    asset.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run([
        str(converter), str(onnx_path), "-o", str(asset), *extra_args,
        "--labels", str(LABELS_PATH),
        "--mean", str(MEAN), "--std", str(STD),
        "--input-size", "28x28", "--channel-order", "gray",
        "--description", description,
    ], check=True, capture_output=capture, text=True)
    return result.stdout


def vkbnn_eval(evaluator, model_path, data_dir=DEFAULT_DATA_DIR):
    """Top-1 accuracy of a .vkbnn model on all 10,000 test images, as
    vkbnn-eval measures it (on its default Vulkan device)."""
    # lavapipe and the loader want a runtime directory; a bare shell may lack one.
    env = dict(os.environ)
    if not env.get("XDG_RUNTIME_DIR"):
        env["XDG_RUNTIME_DIR"] = "/tmp/xdg"
    Path(env["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True)
    result = subprocess.run([
        str(evaluator), str(model_path),
        "--images", str(find_idx(data_dir, "t10k-images-idx3-ubyte")),
        "--labels", str(find_idx(data_dir, "t10k-labels-idx1-ubyte")),
        "--json",
    ], check=True, capture_output=True, text=True, env=env)
    return json.loads(result.stdout)


def accuracy_report(onnx_name, accuracy, total, **extra):
    """The *.pytorch-accuracy.json record: top-1 and count on the test split,
    the preprocessing, and whatever the script adds (epochs, seed, ...)."""
    return {
        "model": onnx_name,
        "top1": accuracy,
        "correct": round(accuracy * total),
        "total": total,
        **extra,
        "preprocessing": {"scale": 1 / 255, "mean": MEAN, "std": STD},
    }


def write_curve(results_dir, name, script, test_images, recipe, accuracy, curve1, curve2):
    """Writes <results_dir>/<name>.curve.json: the recipe and per-epoch stats of both steps."""
    curve = [{"step": step, "epoch": i + 1, **stats}
             for step, history in ((1, curve1), (2, curve2)) for i, stats in enumerate(history)]
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{name}.curve.json"
    path.write_text(json.dumps({
        "model": f"{name} ({script})",
        "test_images": test_images,
        **recipe,
        "final_test_top1": accuracy,
        "curve": curve,
    }, indent=2) + "\n")
    print(f"wrote {path}")


def make_deterministic(threads, seed):
    """Same seed, same result: seeds torch and numpy and makes torch's kernels deterministic."""
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.use_deterministic_algorithms(True)


def check_reported_accuracy(model, test_images, test_labels, report_path, state_path):
    """For --convert-only: the saved weights must reproduce the accuracy the report records,
    which is returned."""
    accuracy = evaluate(model, test_images, test_labels)
    reported = json.loads(Path(report_path).read_text())["top1"]
    print(f"test top-1 (PyTorch, 10000 images): {accuracy:.4f}, report says {reported:.4f}")
    if accuracy != reported:
        raise RuntimeError(f"{state_path} does not give the accuracy of {report_path}")
    return accuracy


def add_binary_arguments(parser, epochs1, epochs2, el_help):
    """The options train_fmnist_bnn.py and train_fmnist_bmobilenet.py share: the two-step recipe
    (binary activations for epochs1, then binary weights too for epochs2), Elastic-Link, and where
    the data, the outputs, the converter and the model assets are."""
    import argparse

    repo_root = Path(__file__).resolve().parent.parent
    parser.add_argument("--el", action=argparse.BooleanOptionalAction, default=True, help=el_help)
    parser.add_argument("--epochs1", type=int, default=epochs1, help="epochs of step 1 (binary activations)")
    parser.add_argument("--epochs2", type=int, default=epochs2, help="epochs of step 2 (binary weights too)")
    parser.add_argument("--lr1", type=float, default=2e-3)
    parser.add_argument("--lr2", type=float, default=1e-3)
    parser.add_argument("--weight-decay1", type=float, default=1e-5)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--gamma-init", type=float, default=1.0, help="initial EL scale gamma")
    parser.add_argument("--out-dir", type=Path, default=Path(__file__).resolve().parent / "out")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--converter", type=Path, default=repo_root / "build/converter/vkbnn-convert")
    parser.add_argument("--asset-dir", type=Path, default=repo_root / "assets/models")
    parser.add_argument("--convert-only", action="store_true",
                        help="load NAME.pt instead of training, then export and convert")


def run_paths(out_dir, name):
    """Where a training run keeps NAME's state dict, ONNX export and PyTorch accuracy report."""
    return out_dir / f"{name}.pt", out_dir / f"{name}.onnx", out_dir / f"{name}.pytorch-accuracy.json"


def load_binary_state(model, state_path, test_images, test_labels, report_path):
    """For --convert-only: loads a binary model's trained latent weights (binary weights on) and
    returns their test accuracy, which must be the one the report records."""
    import torch
    from bnn_modules import set_binary_weights

    set_binary_weights(model, True)
    model.load_state_dict(torch.load(state_path))
    return check_reported_accuracy(model, test_images, test_labels, report_path, state_path)


def check_binary_onnx(path, model):
    """The export binarizes what the engine expects it to: every binary block
    reads Sign(Add(x, b)) and convolves it with +-alpha_c weights that are the
    eval model's binarized weights. Returns the number of binary convolutions."""
    import onnx
    from onnx import numpy_helper
    from bnn_modules import Block, binarize_weight

    graph = onnx.load(str(path)).graph
    producers = {out: node for node in graph.node for out in node.output}
    initializers = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    binary_convs = [n for n in graph.node if n.op_type == "Conv"
                    and producers.get(n.input[0]) is not None and producers[n.input[0]].op_type == "Sign"]
    expected = [block.conv for block in model if isinstance(block, Block)]
    if len(binary_convs) != len(expected):
        raise RuntimeError(f"{path}: {len(binary_convs)} Sign -> Conv pairs, expected {len(expected)}")
    for node, conv in zip(binary_convs, expected):
        if producers[producers[node.input[0]].input[0]].op_type != "Add":
            raise RuntimeError(f"{path}: {node.name} does not read Sign(Add(x, b))")
        weight = initializers[node.input[1]]
        magnitudes = np.abs(weight.reshape(len(weight), -1))
        if (magnitudes == 0).any() or (magnitudes != magnitudes[:, :1]).any():
            raise RuntimeError(f"{path}: {node.name} weights are not +-alpha per output channel")
        if not np.array_equal(weight, binarize_weight(conv.weight).detach().numpy()):
            raise RuntimeError(f"{path}: {node.name} weights differ from the eval model's")
    return len(binary_convs)


def export_binary_model(model, paths, report, converter, asset, description):
    """Exports a trained binary model to ONNX, checks the export (check_binary_onnx), writes the
    accuracy report unless it is None (--convert-only keeps the old one) and converts the ONNX file
    into the asset. `paths` are run_paths'."""
    state_path, onnx_path, report_path = paths
    export_onnx(model, onnx_path)
    binary_convs = check_binary_onnx(onnx_path, model)
    print(f"{onnx_path}: {binary_convs} binary convolutions with +-alpha weights")
    if report is not None:
        report_path.write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {state_path}, {onnx_path} and {report_path}")
    print(convert(converter, onnx_path, asset, description, capture=True))
