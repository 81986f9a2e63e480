#!/usr/bin/python3
"""Train the pdm-lstm failure predictor on simulator data and export it.

Inputs are two datasets written by sensors/sim WritePdmDataset with
different seeds: --train (training windows) and --val (training-style
windows for early stopping plus eval/ sequences for choosing thresholds).
Steps:

1. feature mean/std over every sample of every training window (these go
   into the metadata; the agent normalises, the graph does not);
2. Adam on BCE-with-logits, fixed seeds, 2 threads, keeping the weights
   with the lowest validation loss;
3. warn/alarm thresholds chosen on the validation lives with
   evaluate.choose_thresholds (at most 0.5 false alarms per asset-week there,
   half the target, to leave a margin for fresh seeds);
4. export to ONNX with export.export_onnx.

    /usr/bin/python3 models/pdm-lstm/train.py --train /tmp/pdm/train --val /tmp/pdm/val \\
        --out models/pdm-lstm/pdm-lstm.onnx --version 1.0.0
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import torch
from torch import nn

import evaluate
from export import FEATURES, PdmLSTM, contract, export_onnx

SEED = 7


def load_windows(path):
    """Windows, targets and meta.json of a dataset directory."""
    with open(os.path.join(path, "meta.json")) as f:
        meta = json.load(f)
    if meta.get("kind") != "pdm" or meta["features"] != FEATURES:
        raise SystemExit("%s: not a pdm dataset with features %s" % (path, FEATURES))
    x = np.load(os.path.join(path, "windows.npy"))
    y = np.load(os.path.join(path, "targets.npy"))
    if np.isnan(x).any():
        raise SystemExit("%s: windows hold NaN; the writer fills dropouts" % path)
    return x, y, meta


def val_loss(model, x, y, loss_fn, batch=2048):
    model.eval()
    total = 0.0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            total += loss_fn(model.logits(x[i:i + batch])[:, 0], y[i:i + batch]).item() * len(x[i:i + batch])
    return total / len(x)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", required=True, help="training dataset directory")
    parser.add_argument("--val", required=True, help="validation dataset directory (with eval/)")
    parser.add_argument("--out", required=True, help="path of the .onnx file to write")
    parser.add_argument("--version", default="1.0.0", help="lineside.version to record")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--minutes", type=float, default=30, help="safety stop: end training after this wall time")
    parser.add_argument("--report", help="write the validation figures and statistics here as JSON")
    args = parser.parse_args(argv)

    torch.set_num_threads(2)
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    t0 = time.time()

    x, y, meta = load_windows(args.train)
    vx, vy, vmeta = load_windows(args.val)
    for key in ("window", "period_s", "horizon_h", "max_gap_s"):
        if meta[key] != vmeta[key]:
            raise SystemExit("train and val differ in %s" % key)
    if meta["seed"] == vmeta["seed"]:
        raise SystemExit("train and val use the same seed %d" % meta["seed"])
    flat = x.reshape(-1, len(FEATURES)).astype(np.float64)
    mean, std = flat.mean(axis=0), flat.std(axis=0)
    norm = lambda a: torch.from_numpy(((a - mean) / std).astype(np.float32))
    tx, ty, tvx, tvy = norm(x), torch.from_numpy(y), norm(vx), torch.from_numpy(vy)
    print("train %d windows (%.1f%% positive), val %d; mean %s std %s" % (
        len(y), 100 * y.mean(), len(vy), np.round(mean, 3), np.round(std, 3)))

    model = PdmLSTM()
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs)
    loss_fn = nn.BCEWithLogitsLoss()
    best, best_state = float("inf"), None
    for epoch in range(args.epochs):
        model.train()
        order = torch.from_numpy(rng.permutation(len(ty)))
        total = 0.0
        for i in range(0, len(order), args.batch):
            idx = order[i:i + args.batch]
            opt.zero_grad()
            loss = loss_fn(model.logits(tx[idx])[:, 0], ty[idx])
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            total += loss.item() * len(idx)
        sched.step()
        vl = val_loss(model, tvx, tvy, loss_fn)
        print("epoch %2d train %.4f val %.4f (%.0fs)" % (epoch + 1, total / len(ty), vl, time.time() - t0))
        if vl < best:
            best, best_state = vl, {k: v.clone() for k, v in model.state_dict().items()}
        if time.time() - t0 > args.minutes * 60:
            print("stopping: %.1f minutes spent" % ((time.time() - t0) / 60))
            break
    model.load_state_dict(best_state)

    ev = evaluate.load_eval(os.path.join(args.val, "eval"))
    p = evaluate.predict(model, ev, mean, std)
    chosen = evaluate.choose_thresholds(ev, p)
    print("validation (seed %d): %s" % (vmeta["seed"], json.dumps(chosen)))

    stride_s = ev["meta"]["stride"] * meta["period_s"]
    md = contract(meta["window"], mean, std, chosen["warn"], chosen["alarm"], args.version,
                  meta["period_s"], meta["horizon_h"], meta["max_gap_s"], stride_s)
    export_onnx(model, args.out, meta["window"], md)
    elapsed = time.time() - t0
    print("wrote %s (version %s) in %.1f minutes" % (args.out, args.version, elapsed / 60))
    if args.report:
        with open(args.report, "w") as f:
            json.dump({"validation": chosen, "metadata": md, "best_val_loss": best,
                       "train_seed": meta["seed"], "val_seed": vmeta["seed"],
                       "minutes": elapsed / 60}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
