#!/usr/bin/python3
"""Export the reference defect classifier to ONNX with lineside metadata.

The network is the small seed CNN every lineside installation ships with:

    conv(1->32, 3x3, pad 1) + ReLU -> maxpool 2
    conv(32->64, 3x3, pad 1) + ReLU -> maxpool 2
    flatten -> dense(64) + ReLU -> dense(4) -> softmax

Input ``image`` is float32 ``N x 1 x 64 x 64`` (gray, NCHW, batch dimension
dynamic); output ``scores`` is float32 ``N x 4`` class probabilities in the
order of ``lineside.labels``.

Run with Debian's interpreter, which has torch and onnx:

    /usr/bin/python3 models/defect-cnn/export.py --out models/defect-cnn/defect-cnn.onnx
    /usr/bin/python3 models/defect-cnn/export.py --weights trained.pt --version 0.2.0 --out ...

Without ``--weights`` the weights are the random initialisation drawn with
``torch.manual_seed(0)``: the file is deterministic but the model is
untrained. A training recipe imports ``DefectCNN``, ``METADATA`` and
``export_onnx`` from this file.
"""

import argparse
import sys

import onnx
import torch
from torch import nn

# Side length of the square gray input, in pixels.
INPUT_SIZE = 64

# Class names in output order; "ok" is the good part.
LABELS = ["ok", "scratch", "spot", "crack"]

# The model contract of DESIGN.md ("Model contract (ONNX metadata_props)").
# Pixels are scaled to [0, 1] by 1/255, then centred on 0.5 and divided by
# 0.25, so the network sees values in [-2, 2]. Mean and std are fixed
# constants rather than dataset statistics so that retraining never changes
# the pre-processing the agent applies.
METADATA = {
    "lineside.task": "defect_classification",
    "lineside.version": "0.1.0-untrained",
    "lineside.labels": ",".join(LABELS),
    "lineside.ok_label": "ok",
    "lineside.input.layout": "NCHW",
    "lineside.input.color": "gray",
    "lineside.input.scale": "0.00392156862745098",
    "lineside.input.mean": "0.5",
    "lineside.input.std": "0.25",
    "lineside.output": "probabilities",
}

OPSET = 13


class DefectCNN(nn.Module):
    """Seed CNN for 64x64 gray part images; forward returns probabilities."""

    def __init__(self, num_classes=len(LABELS)):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(64 * (INPUT_SIZE // 4) * (INPUT_SIZE // 4), 64),
            nn.ReLU(),
            nn.Linear(64, num_classes),
        )

    def logits(self, x):
        """Raw class scores, for training with nn.CrossEntropyLoss."""
        return self.classifier(self.features(x))

    def forward(self, x):
        return torch.softmax(self.logits(x), dim=1)


def build_model(weights=None):
    """Return a DefectCNN in eval mode, seeded, optionally loading a state_dict."""
    torch.manual_seed(0)
    model = DefectCNN()
    if weights:
        model.load_state_dict(torch.load(weights, map_location="cpu"))
    model.eval()
    return model


def export_onnx(model, out, metadata=None):
    """Write model to out as ONNX (opset 13) with lineside metadata_props."""
    meta = dict(METADATA)
    meta.update(metadata or {})
    dummy = torch.zeros(1, 1, INPUT_SIZE, INPUT_SIZE, dtype=torch.float32)
    with torch.no_grad():
        torch.onnx.export(
            model,
            dummy,
            out,
            input_names=["image"],
            output_names=["scores"],
            dynamic_axes={"image": {0: "batch"}, "scores": {0: "batch"}},
            opset_version=OPSET,
            do_constant_folding=True,
        )
    proto = onnx.load(out)
    onnx.helper.set_model_props(proto, {k: meta[k] for k in sorted(meta)})
    proto.doc_string = "lineside reference defect classifier (seed CNN)"
    onnx.checker.check_model(proto)
    onnx.save(proto, out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="path of the .onnx file to write")
    parser.add_argument("--weights", help="state_dict (.pt) to load; random seed-0 weights when absent")
    parser.add_argument("--version", help="lineside.version to record (default %s)" % METADATA["lineside.version"])
    args = parser.parse_args(argv)

    model = build_model(args.weights)
    extra = {"lineside.version": args.version} if args.version else {}
    export_onnx(model, args.out, extra)
    print("wrote %s (version %s)" % (args.out, extra.get("lineside.version", METADATA["lineside.version"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
