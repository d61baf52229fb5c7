"""What the generator scripts share: their command line, and the files a case is written as for the
C++ tests (<name>.onnx, <name>.input.npy that tests/support's run_exported() feeds it, and
<name>.expected.npy to compare with), each case reported as a line that starts with its name."""

import argparse
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch


def arguments(description, seed=False):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out-dir", required=True, type=Path)
    if seed:
        parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    # The tests read the reports from the script's output: PyTorch's warnings (building models,
    # tracing them) would read as cases.
    warnings.filterwarnings("ignore")
    return args


def save_arrays(out_dir, name, x, expected):
    np.save(out_dir / f"{name}.input.npy", np.ascontiguousarray(x, np.float32))
    np.save(out_dir / f"{name}.expected.npy", np.ascontiguousarray(expected, np.float32))


def op_types(path):
    return sorted({n.op_type for n in onnx.load(str(path)).graph.node})


def export_torch_modules(modules, out_dir, prepare=lambda module: module):
    """Each {name: (module, input shape)} exported at opset 13 with a random input and PyTorch's
    output, and reported with the ONNX op types the export holds."""
    for name, (module, shape) in modules.items():
        module = prepare(module).eval()
        x = torch.randn(*shape)
        with torch.no_grad():
            y = module(x)
        path = out_dir / f"{name}.onnx"
        torch.onnx.export(module, x, str(path), opset_version=13, input_names=["input"], output_names=["output"])
        save_arrays(out_dir, name, x.numpy(), y.numpy())
        print(name, *op_types(path))
