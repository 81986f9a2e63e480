#!/usr/bin/python3
"""Write the ONNX fixtures of the model-update tests (rollback at run time).

Run from the repository root with Debian's interpreter (it has python3-onnx):

    /usr/bin/python3 models/testdata/make_update_fixtures.py

Both models are valid 64x64 gray defect classifiers with the reference
model's contract, so they pass loading and the smoke inference on a mid-gray
frame, and misbehave only on real frames:

  nan-on-dark.onnx  scores = softmax(log(mean(x)) * w): finite for the
                    mid-gray smoke frame (normalised mean > 0), NaN for a
                    darker frame such as the conveyor belt (mean < 0), so
                    every real inference fails.
  slow.onnx         tiles the image to 512x512 and multiplies it by itself
                    four times (with tanh to stay finite) before a dense
                    head: right answers shape-wise, tens of times slower
                    than the reference CNN.
"""

import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
OPSET = 13

META = {
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


def save(nodes, inits, name):
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 1, 64, 64])
    scores = helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["batch", 4])
    graph = helper.make_graph(nodes, name.replace("-", "_").replace(".onnx", ""), [image], [scores], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="lineside-fixtures")
    model.ir_version = 8
    helper.set_model_props(model, {k: META[k] for k in sorted(META)})
    onnx.checker.check_model(model)
    path = os.path.join(HERE, name)
    onnx.save(model, path)
    print("wrote %s (%d bytes)" % (path, os.path.getsize(path)))


def nan_on_dark():
    w = numpy_helper.from_array(np.array([[1.0, -1.0, 0.5, -0.5]], dtype=np.float32), "w")
    nodes = [
        helper.make_node("ReduceMean", ["image"], ["m"], axes=[1, 2, 3], keepdims=0),
        helper.make_node("Unsqueeze", ["m", "ax"], ["m2"]),
        helper.make_node("Log", ["m2"], ["l"]),
        helper.make_node("MatMul", ["l", "w"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["scores"], axis=1),
    ]
    ax = numpy_helper.from_array(np.array([1], dtype=np.int64), "ax")
    save(nodes, [w, ax], "nan-on-dark.onnx")


def slow():
    rng = np.random.default_rng(3)
    inits = [
        numpy_helper.from_array(np.array([1, 1, 8, 8], dtype=np.int64), "reps"),
        numpy_helper.from_array(np.array([1, 512, 512], dtype=np.int64), "sq"),
        numpy_helper.from_array(np.float32(1.0 / 512), "k"),
        numpy_helper.from_array(rng.standard_normal((512, 4)).astype(np.float32) * 0.01, "w"),
    ]
    nodes = [
        helper.make_node("Tile", ["image", "reps"], ["t"]),
        helper.make_node("Reshape", ["t", "sq"], ["x0"]),
    ]
    src = "x0"
    for i in range(4):
        nodes += [
            helper.make_node("MatMul", [src, src], ["p%d" % i]),
            helper.make_node("Mul", ["p%d" % i, "k"], ["q%d" % i]),
            helper.make_node("Tanh", ["q%d" % i], ["x%d" % (i + 1)]),
        ]
        src = "x%d" % (i + 1)
    nodes += [
        helper.make_node("ReduceMean", [src], ["r"], axes=[1], keepdims=0),
        helper.make_node("MatMul", ["r", "w"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["scores"], axis=1),
    ]
    save(nodes, inits, "slow.onnx")


if __name__ == "__main__":
    nan_on_dark()
    slow()
