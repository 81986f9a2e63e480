#!/usr/bin/python3
"""Export a ~5 MB defect classifier for the hot-swap benchmark.

The reference defect CNN (models/defect-cnn/export.py) with its dense layer
widened from 64 to 80 units: the same input, labels and metadata, about
5.2 MB of weights. Run with Debian's interpreter, which has torch and onnx:

    /usr/bin/python3 models/testdata/make_big.py OUT.onnx

The benchmark runs it into a temporary folder; nothing is committed.
"""

import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "defect-cnn"))
import export  # noqa: E402  (the reference recipe)


def main(out):
    torch.manual_seed(0)
    model = export.DefectCNN()
    side = export.INPUT_SIZE // 4
    model.classifier = nn.Sequential(
        nn.Flatten(),
        nn.Linear(64 * side * side, 80),
        nn.ReLU(),
        nn.Linear(80, len(export.LABELS)),
    )
    model.eval()
    export.export_onnx(model, out, {"lineside.version": "0.0.1-big"})
    print("wrote %s (%d bytes)" % (out, os.path.getsize(out)))


if __name__ == "__main__":
    main(sys.argv[1])
