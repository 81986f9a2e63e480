#!/usr/bin/python3
"""Score trained defect classifier weights on simulator datasets.

Use datasets rendered from seeds the model never saw in training, at the
default conditions and shifted ones:

    lineside sim dataset --kind defect --out var/defect/test --n 4000 --seed 3003
    lineside sim dataset --kind defect --out var/defect/light --n 2000 --seed 4004 --lighting 2
    /usr/bin/python3 models/defect-cnn/evaluate.py \\
        --weights models/defect-cnn/defect-cnn.pt var/defect/test var/defect/light

For each directory it prints the accuracy, the recall of every class and the
confusion matrix. It exits non-zero when a set misses --min-accuracy.
"""

import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export import build_model  # noqa: E402
from simdata import load_dataset, predict, report  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", required=True, help="state_dict written by train.py")
    parser.add_argument("--min-accuracy", type=float, default=0.0, help="fail below this accuracy")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("sets", nargs="+", help="dataset directories")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    model = build_model(args.weights)
    ok = True
    for path in args.sets:
        images, labels = load_dataset(path)
        acc = report(os.path.basename(os.path.normpath(path)), labels, predict(model, images))
        ok = ok and acc >= args.min_accuracy
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
