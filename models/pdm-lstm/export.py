#!/usr/bin/python3
"""Export the pdm-lstm failure predictor to ONNX with lineside metadata.

The network reads one window of sensor samples of one asset and returns the
probability that the asset fails within the horizon after the window's last
sample:

    LSTM(4 -> 64 hidden, 1 layer) over the window -> last hidden state
    -> dense(1) -> sigmoid

Input ``window`` is float32 ``N x W x 4`` (batch dimension dynamic, so the
agent runs one batch across all assets), features in the order of
``lineside.features``, already normalised by the agent as
``(x - feature_mean) / feature_std``; dropouts are filled with the
channel's last value before normalising. Output ``p_fail`` is float32
``N x 1``.

Run with Debian's interpreter, which has torch and onnx. train.py calls
``export_onnx`` with the trained weights and the training-set statistics;
this file alone can re-export a saved state_dict:

    /usr/bin/python3 models/pdm-lstm/export.py --weights pdm.pt --stats stats.json --out pdm-lstm.onnx
"""

import argparse
import json
import sys
import warnings

import onnx
import torch
from torch import nn

# Feature names in input order (lineside.features).
FEATURES = ["vibration_rms", "temperature", "current", "speed"]

HIDDEN = 64
OPSET = 13

# The model contract of DESIGN.md ("Model contract (ONNX metadata_props)").
# Window, statistics, thresholds and timing are filled in by export_onnx.
METADATA = {
    "lineside.task": "failure_prediction",
    "lineside.version": "0.0.0-untrained",
    "lineside.features": ",".join(FEATURES),
    "lineside.output": "probability",
}


class PdmLSTM(nn.Module):
    """LSTM over a normalised sensor window; forward returns p_fail [N, 1]."""

    def __init__(self, features=len(FEATURES), hidden=HIDDEN):
        super().__init__()
        self.lstm = nn.LSTM(features, hidden, num_layers=1, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def logits(self, x):
        """Raw score before the sigmoid, for training with BCEWithLogitsLoss."""
        _, (h, _) = self.lstm(x)
        return self.head(h[-1])

    def forward(self, x):
        return torch.sigmoid(self.logits(x))


def _csv(values):
    return ",".join("%.6g" % float(v) for v in values)


def contract(window, mean, std, warn, alarm, version, period_s, horizon_h,
             max_gap_s, stride_s):
    """Return the full lineside metadata for a trained model."""
    if len(mean) != len(FEATURES) or len(std) != len(FEATURES):
        raise ValueError("mean and std need %d values" % len(FEATURES))
    if min(std) <= 0:
        raise ValueError("feature std must be positive, got %s" % list(std))
    if not 0 < warn <= alarm < 1:
        raise ValueError("thresholds need 0 < warn <= alarm < 1, got %s, %s" % (warn, alarm))
    meta = dict(METADATA)
    meta.update({
        "lineside.version": version,
        "lineside.window": str(int(window)),
        "lineside.feature_mean": _csv(mean),
        "lineside.feature_std": _csv(std),
        "lineside.threshold.warn": "%.4g" % warn,
        "lineside.threshold.alarm": "%.4g" % alarm,
        "lineside.period_s": "%g" % period_s,
        "lineside.horizon_h": "%g" % horizon_h,
        "lineside.max_gap_s": "%g" % max_gap_s,
        "lineside.stride_s": "%g" % stride_s,
    })
    return meta


def export_onnx(model, out, window, metadata):
    """Write model to out as ONNX (opset 13) with the given metadata_props."""
    model.eval()
    dummy = torch.zeros(2, window, len(FEATURES), dtype=torch.float32)
    # The exporter warns that LSTM initial states may pin the batch size; here
    # they are built from the input's shape (Shape -> ConstantOfShape), so any
    # batch size runs.
    warnings.filterwarnings("ignore", message="Exporting a model to ONNX with a batch_size other than 1")
    warnings.filterwarnings("ignore", message="The shape inference of prim::Constant")
    with torch.no_grad():
        torch.onnx.export(
            model,
            dummy,
            out,
            input_names=["window"],
            output_names=["p_fail"],
            dynamic_axes={"window": {0: "batch"}, "p_fail": {0: "batch"}},
            opset_version=OPSET,
            do_constant_folding=True,
        )
    proto = onnx.load(out)
    for value in (proto.graph.input[0], proto.graph.output[0]):
        if value.type.tensor_type.shape.dim[0].dim_param != "batch":
            raise RuntimeError("%s: batch dimension of %s is not dynamic" % (out, value.name))
    onnx.helper.set_model_props(proto, {k: metadata[k] for k in sorted(metadata)})
    proto.doc_string = "lineside failure predictor (LSTM over sensor windows)"
    onnx.checker.check_model(proto)
    onnx.save(proto, out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", required=True, help="state_dict (.pt) written by train.py")
    parser.add_argument("--stats", required=True,
                        help="JSON with window, mean, std, warn, alarm, version, period_s, horizon_h, max_gap_s, stride_s")
    parser.add_argument("--out", required=True, help="path of the .onnx file to write")
    args = parser.parse_args(argv)

    torch.manual_seed(0)
    model = PdmLSTM()
    model.load_state_dict(torch.load(args.weights, map_location="cpu"))
    with open(args.stats) as f:
        s = json.load(f)
    meta = contract(s["window"], s["mean"], s["std"], s["warn"], s["alarm"], s["version"],
                    s["period_s"], s["horizon_h"], s["max_gap_s"], s["stride_s"])
    export_onnx(model, args.out, s["window"], meta)
    print("wrote %s (version %s)" % (args.out, meta["lineside.version"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
