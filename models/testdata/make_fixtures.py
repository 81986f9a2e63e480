#!/usr/bin/python3
"""Write the small ONNX fixtures the inference tests load.

Run from the repository root with Debian's interpreter (it has python3-onnx):

    /usr/bin/python3 models/testdata/make_fixtures.py

Every graph is built with onnx.helper, so no torch is needed and each file
stays well under 200 KB. Weights come from a fixed numpy seed; the output is
the same on every run.

  bad-rank.onnx            input of rank 3 (N x 64 x 64): refused, want rank 4
  bad-output.onnx          3 outputs per image but 4 labels: refused
  wrong-task.onnx          lineside.task failure_prediction: refused by the classifier
  not-a-model.onnx         plain text, not protobuf: refused by ONNX Runtime
  tiny-nhwc-rgb-logits.onnx a valid 8x8 RGB NHWC model returning logits; its
                           output is a known linear function of the input, so
                           tests can compute the expected scores by hand
"""

import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
OPSET = 13

DEFECT_META = {
    "lineside.task": "defect_classification",
    "lineside.version": "0.0.1-fixture",
    "lineside.labels": "ok,scratch,spot,crack",
    "lineside.ok_label": "ok",
    "lineside.input.layout": "NCHW",
    "lineside.input.color": "gray",
    "lineside.input.scale": "0.00392156862745098",
    "lineside.input.mean": "0.5",
    "lineside.input.std": "0.25",
}

# Weights of tiny-nhwc-rgb-logits.onnx: logits = mean_rgb(x) @ TINY_W + TINY_B,
# where mean_rgb averages the normalised input over height and width.
TINY_W = np.array([[1.0, -1.0], [0.5, 2.0], [-2.0, 0.25]], dtype=np.float32)
TINY_B = np.array([0.1, -0.2], dtype=np.float32)


def save(graph, meta, name):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="lineside-fixtures")
    model.ir_version = 8
    helper.set_model_props(model, {k: meta[k] for k in sorted(meta)})
    onnx.checker.check_model(model)
    path = os.path.join(HERE, name)
    onnx.save(model, path)
    print("wrote %s (%d bytes)" % (path, os.path.getsize(path)))


def dense_head(src, in_features, out_features, seed):
    """Nodes and initialisers for scores = softmax(src @ W)."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((in_features, out_features)).astype(np.float32)
    nodes = [
        helper.make_node("MatMul", [src, "w"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["scores"], axis=1),
    ]
    return nodes, [numpy_helper.from_array(w, "w")]


def bad_rank():
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 64, 64])
    scores = helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["batch", 4])
    pool = helper.make_node("ReduceMean", ["image"], ["pooled"], axes=[2], keepdims=0)
    head, init = dense_head("pooled", 64, 4, seed=1)
    graph = helper.make_graph([pool] + head, "bad_rank", [image], [scores], init)
    save(graph, DEFECT_META, "bad-rank.onnx")


def gray_pooled_graph(name, classes, seed):
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 1, 64, 64])
    scores = helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["batch", classes])
    pool = helper.make_node("ReduceMean", ["image"], ["pooled"], axes=[2, 3], keepdims=0)
    head, init = dense_head("pooled", 1, classes, seed)
    return helper.make_graph([pool] + head, name, [image], [scores], init)


def bad_output():
    save(gray_pooled_graph("bad_output", 3, seed=2), DEFECT_META, "bad-output.onnx")


def wrong_task():
    meta = {
        "lineside.task": "failure_prediction",
        "lineside.version": "0.0.1-fixture",
        "lineside.window": "32",
        "lineside.features": "vibration,temperature",
        "lineside.feature_mean": "0,20",
        "lineside.feature_std": "1,5",
        "lineside.threshold.warn": "0.5",
        "lineside.threshold.alarm": "0.8",
    }
    save(gray_pooled_graph("wrong_task", 4, seed=3), meta, "wrong-task.onnx")


def tiny_nhwc_rgb_logits():
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 8, 8, 3])
    logits = helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 2])
    nodes = [
        helper.make_node("ReduceMean", ["image"], ["pooled"], axes=[1, 2], keepdims=0),
        helper.make_node("MatMul", ["pooled", "w"], ["prod"]),
        helper.make_node("Add", ["prod", "b"], ["logits"]),
    ]
    init = [numpy_helper.from_array(TINY_W, "w"), numpy_helper.from_array(TINY_B, "b")]
    graph = helper.make_graph(nodes, "tiny_nhwc_rgb_logits", [image], [logits], init)
    meta = {
        "lineside.task": "defect_classification",
        "lineside.version": "0.0.1-fixture",
        "lineside.labels": "ok,defect",
        "lineside.ok_label": "ok",
        "lineside.input.layout": "NHWC",
        "lineside.input.color": "rgb",
        "lineside.input.scale": "0.00392156862745098",
        "lineside.input.mean": "0.485,0.456,0.406",
        "lineside.input.std": "0.229,0.224,0.225",
        "lineside.output": "logits",
    }
    save(graph, meta, "tiny-nhwc-rgb-logits.onnx")


def not_a_model():
    path = os.path.join(HERE, "not-a-model.onnx")
    with open(path, "w") as f:
        f.write("this is a text file, not an ONNX model\n")
    print("wrote %s" % path)


def main():
    bad_rank()
    bad_output()
    wrong_task()
    tiny_nhwc_rgb_logits()
    not_a_model()


if __name__ == "__main__":
    main()
