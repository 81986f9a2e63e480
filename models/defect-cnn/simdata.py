"""Load simulator defect datasets and score the classifier on them.

Shared by train.py and evaluate.py. A dataset directory is what
`lineside sim dataset --kind defect` writes: images.npy (uint8, N x 64 x 64
gray, already reduced exactly as the agent's pre-processing does: BGR to
gray, then resize to 64x64 with INTER_AREA), labels.npy (int64 class indices)
and meta.json.
"""

import json
import os

import numpy as np
import torch

from export import LABELS, METADATA

# Normalisation of the model contract: x * scale, minus mean, over std.
SCALE = float(METADATA["lineside.input.scale"])
MEAN = float(METADATA["lineside.input.mean"])
STD = float(METADATA["lineside.input.std"])


def load_dataset(path):
    """Return (images uint8 N x 64 x 64, labels int64 N) of a dataset directory.

    Refuses directories whose meta.json is not a defect set with the model's
    labels in the model's order, so that class indices cannot silently shift.
    """
    with open(os.path.join(path, "meta.json")) as f:
        meta = json.load(f)
    if meta.get("kind") != "defect":
        raise ValueError("%s: kind %r, want 'defect'" % (path, meta.get("kind")))
    if meta.get("labels") != LABELS:
        raise ValueError("%s: labels %r, want %r" % (path, meta.get("labels"), LABELS))
    images = np.load(os.path.join(path, "images.npy"))
    labels = np.load(os.path.join(path, "labels.npy"))
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (64, 64):
        raise ValueError("%s: images %s %s, want uint8 N x 64 x 64" % (path, images.dtype, images.shape))
    if labels.shape != (len(images),) or labels.min() < 0 or labels.max() >= len(LABELS):
        raise ValueError("%s: labels do not match the images" % path)
    return images, labels.astype(np.int64)


def normalise(x):
    """Map raw pixel values (a float tensor) to the network's input range."""
    return (x * SCALE - MEAN) / STD


def predict(model, images, batch=512):
    """Return the predicted class index of every image (uint8 N x 64 x 64)."""
    model.eval()
    preds = []
    with torch.no_grad():
        for i in range(0, len(images), batch):
            x = normalise(torch.from_numpy(images[i:i + batch]).float().unsqueeze(1))
            preds.append(model.logits(x).argmax(1).numpy())
    return np.concatenate(preds)


def report(name, labels, preds):
    """Print accuracy, per-class recall and the confusion matrix; return the accuracy."""
    acc = float((preds == labels).mean())
    recalls = []
    for c, label in enumerate(LABELS):
        mask = labels == c
        recalls.append("%s %.4f" % (label, (preds[mask] == c).mean() if mask.any() else float("nan")))
    print("%s: n=%d accuracy %.4f | recall %s" % (name, len(labels), acc, ", ".join(recalls)))
    conf = np.zeros((len(LABELS), len(LABELS)), dtype=np.int64)
    np.add.at(conf, (labels, preds), 1)
    print("  confusion (rows true, columns predicted: %s)" % ", ".join(LABELS))
    for c, label in enumerate(LABELS):
        print("  %-8s %s" % (label, " ".join("%5d" % v for v in conf[c])))
    return acc
