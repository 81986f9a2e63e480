#!/usr/bin/python3
"""Score a pdm-lstm model over whole simulated lives, the way the agent runs it.

Reads the eval/ layout written by sensors/sim WritePdmDataset (EvalSpan > 0):
raw samples of every life back to back, and the windows ending every
``stride`` samples. Each valid window is hold-last filled, normalised with
the model's feature_mean/std and inferred; the resulting p_fail sequence of
each life drives the alert state machine (K = 3):

    p >= alarm for K consecutive windows, state not alarm -> alarm (an alarm is raised)
    p >= warn  for K consecutive windows, state ok        -> warn
    p <  warn, state warn or alarm                        -> ok

Each life starts in ok; a window with a gap beyond max_gap_s is not inferred
and changes nothing. A false alarm is a raised alarm whose window ends more
than horizon_h before the failure. A failure is warned (alarmed) with lead
time X when the state entered warn or alarm (alarm) X before the failure
and stayed there until the life's last window; "warned >= 1 h ahead" means
X >= 1 h. Rates are per asset-week of evaluated time (eval/meta.json).

    /usr/bin/python3 models/pdm-lstm/evaluate.py --model models/pdm-lstm/pdm-lstm.onnx --eval /tmp/pdm/test/eval

Python here has no ONNX Runtime, so --model rebuilds the network in torch
from the ONNX file's weights and metadata; the agent's Go evaluation runs the
same file through ONNX Runtime.
"""

import argparse
import json
import os
import sys

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from export import HIDDEN, PdmLSTM

K = 3
LEAD_H = 1.0


def load_eval(path):
    """Load an eval/ directory; samples come back hold-last filled per life."""
    with open(os.path.join(path, "meta.json")) as f:
        meta = json.load(f)
    arr = {n: np.load(os.path.join(path, n + ".npy")) for n in
           ("samples", "lives", "window_life", "window_end", "window_ttf", "window_valid")}
    filled = arr["samples"].copy()
    for _, _, off, n, _ in arr["lives"]:
        seg = filled[off:off + n]
        ok = ~np.isnan(seg)
        idx = np.where(ok, np.arange(n)[:, None], 0)
        np.maximum.accumulate(idx, axis=0, out=idx)
        seg[:] = np.where(ok.cumsum(axis=0) > 0, seg[idx, np.arange(seg.shape[1])], 0)
    arr["filled"] = filled
    arr["meta"] = meta
    return arr


def predict(model, ev, mean, std, batch=4096):
    """p_fail for every window (NaN for windows that are not valid)."""
    w = ev["meta"]["window"]
    ends = ev["window_end"].astype(np.int64)
    p = np.full(len(ends), np.nan, dtype=np.float32)
    todo = np.flatnonzero(ev["window_valid"])
    mean = np.asarray(mean, np.float32)
    std = np.asarray(std, np.float32)
    model.eval()
    with torch.no_grad():
        for i in range(0, len(todo), batch):
            sel = todo[i:i + batch]
            idx = ends[sel, None] - w + 1 + np.arange(w)
            x = (ev["filled"][idx] - mean) / std
            p[sel] = model(torch.from_numpy(x)).numpy()[:, 0]
    return p


def score(ev, p, warn, alarm, k=K, lead_h=LEAD_H):
    """Apply the alert state machine to p; return the figures as a dict."""
    horizon = ev["meta"]["horizon_h"]
    life, ttf = ev["window_life"], ev["window_ttf"]
    bounds = np.flatnonzero(np.diff(life)) + 1
    warn_leads, alarm_leads = [], []
    false_alarms = false_warns = far_alarms = 0
    for seg in np.split(np.arange(len(life)), bounds):
        state, above_w, above_a = "ok", 0, 0
        warn_since = alarm_since = None
        for j in seg:
            pj = p[j]
            if np.isnan(pj):
                continue
            above_a = above_a + 1 if pj >= alarm else 0
            above_w = above_w + 1 if pj >= warn else 0
            if state != "alarm" and above_a >= k:
                if state == "ok":
                    warn_since = ttf[j]
                    false_warns += ttf[j] > horizon
                state, alarm_since = "alarm", ttf[j]
                false_alarms += ttf[j] > horizon
                far_alarms += ttf[j] > 2 * horizon
            elif state == "ok" and above_w >= k:
                state, warn_since = "warn", ttf[j]
                false_warns += ttf[j] > horizon
            elif state != "ok" and pj < warn:
                state, warn_since, alarm_since = "ok", None, None
        warn_leads.append(warn_since if warn_since is not None else -1.0)
        alarm_leads.append(alarm_since if alarm_since is not None else -1.0)
    warn_leads, alarm_leads = np.array(warn_leads), np.array(alarm_leads)
    weeks = ev["meta"]["asset_weeks"]
    warned = warn_leads >= lead_h
    return {
        "failures": len(warn_leads),
        "asset_weeks": weeks,
        "warned_ahead": float(warned.mean()),
        "alarmed_ahead": float((alarm_leads >= lead_h).mean()),
        "median_warn_lead_h": float(np.median(warn_leads[warned])) if warned.any() else 0.0,
        "median_alarm_lead_h": float(np.median(alarm_leads[alarm_leads >= lead_h])) if (alarm_leads >= lead_h).any() else 0.0,
        "false_alarms": int(false_alarms),
        "false_alarms_per_asset_week": false_alarms / weeks,
        "false_alarms_beyond_2x_horizon": int(far_alarms),
        "false_warnings_per_asset_week": false_warns / weeks,
        "warn": float(warn),
        "alarm": float(alarm),
    }


def choose_thresholds(ev, p, max_fa=0.5, max_fw=2.0):
    """Pick (warn, alarm) on validation lives: most failures warned and
    alarmed >= 1 h ahead with at most max_fa false alarms and max_fw false
    warnings per asset-week."""
    best, best_key = None, None
    for alarm in [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.97, 0.98, 0.99]:
        for ratio in (0.5, 0.6, 0.7, 0.8, 0.9):
            s = score(ev, p, ratio * alarm, alarm)
            if s["false_alarms_per_asset_week"] > max_fa or s["false_warnings_per_asset_week"] > max_fw:
                continue
            key = (s["warned_ahead"] + s["alarmed_ahead"], -s["false_alarms_per_asset_week"])
            if best_key is None or key > best_key:
                best, best_key = s, key
    if best is None:
        raise SystemExit("no thresholds meet %.2g false alarms per asset-week on validation" % max_fa)
    return best


def _gates(a):
    """ONNX LSTM gate order (i, o, f, c) to torch order (i, f, c, o)."""
    i, o, f, c = np.split(a, 4, axis=0)
    return np.concatenate([i, f, c, o], axis=0)


def load_onnx(path):
    """Rebuild the torch PdmLSTM from a pdm-lstm .onnx file; return it and its metadata."""
    proto = onnx.load(path)
    meta = {p.key: p.value for p in proto.metadata_props}
    lstm = [n for n in proto.graph.node if n.op_type == "LSTM"]
    if len(lstm) != 1:
        raise SystemExit("%s: want one LSTM node, found %d" % (path, len(lstm)))
    init = {t.name: numpy_helper.to_array(t) for t in proto.graph.initializer}
    W, R, B = (init[n] for n in lstm[0].input[1:4])
    head_w = [a for n, a in init.items() if a.size == HIDDEN and a.ndim == 2]
    head_b = [a for n, a in init.items() if a.size == 1]
    if len(head_w) != 1 or len(head_b) != 1:
        raise SystemExit("%s: cannot find the dense layer's weights" % path)
    model = PdmLSTM()
    sd = {
        "lstm.weight_ih_l0": _gates(W[0]),
        "lstm.weight_hh_l0": _gates(R[0]),
        "lstm.bias_ih_l0": _gates(B[0][:4 * HIDDEN]),
        "lstm.bias_hh_l0": _gates(B[0][4 * HIDDEN:]),
        "head.weight": head_w[0].reshape(1, HIDDEN),
        "head.bias": head_b[0].reshape(1),
    }
    model.load_state_dict({k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in sd.items()})
    return model, meta


def floats(s):
    return [float(v) for v in s.split(",")]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="pdm-lstm .onnx file")
    parser.add_argument("--eval", required=True, help="eval/ directory of a dataset")
    parser.add_argument("--warn", type=float, help="override lineside.threshold.warn")
    parser.add_argument("--alarm", type=float, help="override lineside.threshold.alarm")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    model, meta = load_onnx(args.model)
    ev = load_eval(args.eval)
    if int(meta["lineside.window"]) != ev["meta"]["window"]:
        raise SystemExit("model window %s != eval window %d" % (meta["lineside.window"], ev["meta"]["window"]))
    p = predict(model, ev, floats(meta["lineside.feature_mean"]), floats(meta["lineside.feature_std"]))
    warn = args.warn if args.warn is not None else float(meta["lineside.threshold.warn"])
    alarm = args.alarm if args.alarm is not None else float(meta["lineside.threshold.alarm"])
    s = score(ev, p, warn, alarm)
    s["seed"] = ev["meta"]["seed"]
    print(json.dumps(s, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
