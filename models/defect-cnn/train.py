#!/usr/bin/python3
"""Train the reference defect classifier on simulator data and export it.

The training and validation sets come from lineside's own line simulator,
the same renderer the demo camera uses:

    lineside sim dataset --kind defect --out var/defect/train --n 16000 --seed 1001
    lineside sim dataset --kind defect --out var/defect/val   --n 2000  --seed 2002
    /usr/bin/python3 models/defect-cnn/train.py --data var/defect/train \\
        --val var/defect/val --out models/defect-cnn/defect-cnn.onnx --version 1.0.0

Each dataset directory holds images.npy (uint8, N x 64 x 64 gray),
labels.npy (int64 class indices in the order ok, scratch, spot, crack) and
meta.json. The network and the ONNX export (with the lineside.* metadata)
come from export.py next to this file; the pixel normalisation here,
(x / 255 - 0.5) / 0.25, is the one recorded in that metadata.

Training is deterministic on CPU (fixed seeds for torch, numpy and random,
two threads). The weights with the best validation accuracy are kept,
written as a state_dict next to the ONNX file, then exported.

A defect covers a few dozen of the 4096 pixels, anywhere on the part, and
the seed network's dense head must find it at every position. Trained on its
own, that head barely moves off chance for the first epochs. An auxiliary
head (global max pooling over the convolutional features, then a linear
layer) is trained alongside it: it teaches the convolutions to fire on
defects wherever they are, and the dense head learns to read them. The
auxiliary head exists only during training and is not exported.
"""

import argparse
import os
import random
import sys
import time

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from simdata import load_dataset, normalise, predict, report  # noqa: E402
from export import LABELS, DefectCNN, export_onnx  # noqa: E402


def seed_everything(seed):
    """Fix every source of randomness the recipe uses."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def gaussian_blur(x, sigma):
    """Blur each image of x (N x 1 x H x W) with its own Gaussian sigma (N), in pixels."""
    n, radius = x.shape[0], 3
    t = torch.arange(-radius, radius + 1, dtype=x.dtype)
    s = sigma.clamp(min=1e-3)[:, None]
    k1 = torch.exp(-0.5 * (t[None, :] / s) ** 2)
    k1 = k1 / k1.sum(1, keepdim=True)
    y = nn.functional.pad(x.reshape(1, n, *x.shape[2:]), (radius,) * 4, mode="reflect")
    y = nn.functional.conv2d(y, k1[:, None, None, :], groups=n)
    y = nn.functional.conv2d(y, k1[:, None, :, None], groups=n)
    return y.reshape(x.shape)


def shift(x, gen, most=3):
    """Move each image by up to most pixels in x and y, repeating the border."""
    n, _, h, w = x.shape
    padded = nn.functional.pad(x, (most,) * 4, mode="replicate")
    d = torch.randint(0, 2 * most + 1, (n, 2), generator=gen)
    return torch.stack([padded[i, :, d[i, 0]:d[i, 0] + h, d[i, 1]:d[i, 1] + w] for i in range(n)])


def augment(x, gen):
    """Augment a uint8-range float batch (N x 1 x 64 x 64) and return a copy.

    The part lies at any angle and position, and the line's lighting,
    exposure, focus and sensor noise drift. Per image: random horizontal and
    vertical flips and a shift of up to 3 pixels; extra Gaussian blur with
    sigma in [0, 0.8] pixel (on half of the images); a gain in [0.6, 1.4], a linear
    lighting gradient of up to ±35 % across the image and an offset in
    [-20, 20] grey levels; Gaussian noise with sigma in [0, 5].

    There is no 90-degree rotation: frames are 4:3 and are squeezed to a
    square input, so a turned image would show parts with the wrong aspect.
    """
    n = x.shape[0]
    flip_h = torch.rand(n, generator=gen) < 0.5
    flip_v = torch.rand(n, generator=gen) < 0.5
    x = torch.where(flip_h[:, None, None, None], x.flip(3), x)
    x = torch.where(flip_v[:, None, None, None], x.flip(2), x)
    x = shift(x, gen)
    sigma = 0.8 * torch.rand(n, generator=gen) * (torch.rand(n, generator=gen) < 0.5)
    x = torch.where((sigma > 0.05)[:, None, None, None], gaussian_blur(x, sigma), x)
    gain = 0.6 + 0.8 * torch.rand(n, 1, 1, 1, generator=gen)
    g = (torch.rand(n, 2, generator=gen) * 2 - 1) * 0.35
    ramp = torch.linspace(-0.5, 0.5, x.shape[2])
    light = 1 + g[:, 0, None, None, None] * ramp[None, None, :, None] + g[:, 1, None, None, None] * ramp[None, None, None, :]
    offset = -20 + 40 * torch.rand(n, 1, 1, 1, generator=gen)
    noise = torch.randn(x.shape, generator=gen) * 5 * torch.rand(n, 1, 1, 1, generator=gen)
    return (x * gain * light + offset + noise).clamp(0, 255)


class AuxHead(nn.Module):
    """Training-only head: global max pooling of the model's features, then linear."""

    def __init__(self, model):
        super().__init__()
        channels = [m for m in model.features if isinstance(m, nn.Conv2d)][-1].out_channels
        self.linear = nn.Linear(channels, len(LABELS))

    def forward(self, features):
        return self.linear(features.amax(dim=(2, 3)))


def train(args):
    seed_everything(args.seed)
    torch.set_num_threads(args.threads)
    train_x, train_y = load_dataset(args.data)
    val_x, val_y = load_dataset(args.val)
    print("train %s: %d images; val %s: %d images" % (args.data, len(train_y), args.val, len(val_y)))

    model = DefectCNN()
    if args.init:
        model.load_state_dict(torch.load(args.init, map_location="cpu"))
        print("starting from %s" % args.init)
    aux = AuxHead(model)
    opt = torch.optim.Adam(list(model.parameters()) + list(aux.parameters()), lr=args.lr)
    steps = args.epochs * ((len(train_y) + args.batch - 1) // args.batch)
    if args.schedule == "cosine":
        warm = max(1, steps // 20)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: min(1.0, (i + 1) / warm) * 0.5 * (
            1 + np.cos(np.pi * min(i, steps) / steps)))
    else:
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps, pct_start=0.2)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(args.seed)
    xs = torch.from_numpy(train_x).float().unsqueeze(1)
    ys = torch.from_numpy(train_y)

    best_acc, best_state, start = -1.0, None, time.time()
    for epoch in range(1, args.epochs + 1):
        model.train()
        order = torch.randperm(len(ys), generator=gen)
        total, seen = 0.0, 0
        for i in range(0, len(order), args.batch):
            idx = order[i:i + args.batch]
            x = normalise(augment(xs[idx], gen))
            features = model.features(x)
            loss = loss_fn(model.classifier(features), ys[idx])
            if args.aux_weight > 0:
                loss = loss + args.aux_weight * loss_fn(aux(features), ys[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
            seen += len(idx)
        pred = predict(model, val_x)
        acc = float((pred == val_y).mean())
        print("epoch %d/%d  loss %.4f  val acc %.4f  (%.0fs)" % (
            epoch, args.epochs, total / seen, acc, time.time() - start), flush=True)
        if acc >= best_acc:
            best_acc = acc
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
            if args.checkpoint:
                torch.save(best_state, args.checkpoint)
    model.load_state_dict(best_state)
    print("training took %.0fs; best val acc %.4f" % (time.time() - start, best_acc))
    report("val", val_y, predict(model, val_x))
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="training set directory (lineside sim dataset)")
    parser.add_argument("--val", required=True, help="validation set directory, from another seed")
    parser.add_argument("--out", required=True, help="ONNX file to write")
    parser.add_argument("--weights", help="state_dict to write (default: --out with .pt)")
    parser.add_argument("--init", help="state_dict to start from (continue training) instead of random weights")
    parser.add_argument("--version", default="1.0.0", help="lineside.version of the model (default 1.0.0)")
    parser.add_argument("--epochs", type=int, default=12, help="passes over the training set (default 12)")
    parser.add_argument("--batch", type=int, default=64, help="batch size (default 64)")
    parser.add_argument("--lr", type=float, default=3e-3, help="peak learning rate (default 3e-3)")
    parser.add_argument("--schedule", choices=["cosine", "onecycle"], default="cosine",
                        help="learning-rate schedule: cosine decay after a 5 %% warm-up, or OneCycle (default cosine)")
    parser.add_argument("--checkpoint", help="state_dict to rewrite whenever validation accuracy improves")
    parser.add_argument("--aux-weight", type=float, default=1.0,
                        help="weight of the auxiliary max-pooling head's loss; 0 disables it (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="seed of torch, numpy and random (default 0)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    args = parser.parse_args(argv)

    model = train(args)
    weights = args.weights or os.path.splitext(args.out)[0] + ".pt"
    torch.save(model.state_dict(), weights)
    model.eval()
    export_onnx(model, args.out, {"lineside.version": args.version})
    print("wrote %s and %s (version %s, labels %s)" % (weights, args.out, args.version, ",".join(LABELS)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
