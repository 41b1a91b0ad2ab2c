"""One ONNX graph for the whole scoring path after feature encoding, and its parity check.

``features`` float32 [N, F] -> every shipped member's raw margin (its log-odds: tree
ensembles from the converters' trees, the baseline as three float64 vector operations; names
prefixed) -> weighted sum in float64 -> calibrator (sigmoid, or the isotonic piecewise-linear function written as
``y0 + sum_k slope_k * (clip(s, x_k, x_k+1) - x_k)``) -> ``probability`` float32 [N].

The tail runs in float64 so the only float32 rounding is inside the tree ensembles and the
final cast; the parity check then compares against the native libraries' own margins passed
through the same blend and calibrator in numpy. Margins, not probabilities, because a
float32 probability of 0.9999999 has lost the digits its logit needs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnx.compose
from onnx import TensorProto, helper, numpy_helper

from leadscore.api.artifact import INPUT_TENSOR as INPUT
from leadscore.api.artifact import MEMBER_MARGIN as MARGIN
from leadscore.api.artifact import MEMBER_REFERENCE, member_tensor
from leadscore.api.artifact import MEMBERS_TENSOR as MEMBERS
from leadscore.api.artifact import OUTPUT_TENSOR as OUTPUT
from leadscore.errors import ParityError
from leadscore.trainer.calibration import IsotonicCalibrator, SigmoidCalibrator
from leadscore.trainer.ensemble import Blend

OPSET = 15
IR_VERSION = 8
PARITY_TOLERANCE = 1e-5

_TREE_ATTRIBUTES = ("nodes_falsenodeids", "nodes_featureids", "nodes_hitrates", "nodes_missing_value_tracks_true",
                    "nodes_modes", "nodes_nodeids", "nodes_treeids", "nodes_truenodeids", "nodes_values")


@dataclass(frozen=True)
class Member:
    """A shipped model's ONNX graph (``features`` -> ``margin`` [N, 1]) and its ensemble weight."""

    name: str
    model: onnx.ModelProto
    weight: float


def tree_margin_model(converted: onnx.ModelProto) -> onnx.ModelProto:
    """A converter's binary ``TreeEnsembleClassifier`` as a ``TreeEnsembleRegressor`` giving the
    raw margin: same trees, the positive class's leaf weights, no sigmoid, no ZipMap.

    Converters disagree on the binary layout (XGBoost and LightGBM write one weight column,
    CatBoost two with opposite signs); keeping class 1 when there are two columns, else
    the only one, gives the positive-class log-odds either way. The parity check proves it.
    """
    trees = [n for n in converted.graph.node if n.op_type == "TreeEnsembleClassifier"]
    if len(trees) != 1 or trees[0].input[0] != INPUT:
        raise ParityError(f"expected one TreeEnsembleClassifier reading {INPUT!r}, got "
                          f"{[n.op_type for n in converted.graph.node]}")
    attrs = {a.name: helper.get_attribute_value(a) for a in trees[0].attribute}
    classes = list(attrs["class_ids"])
    positive = 1 if 1 in classes else 0
    keep = [i for i, c in enumerate(classes) if c == positive]
    base = list(attrs.get("base_values") or [])
    attributes: dict[str, Any] = {  # onnx attribute values: ints, floats, strings and lists of them
        "n_targets": 1, "aggregate_function": "SUM", "post_transform": "NONE",
        "target_ids": [0] * len(keep),
        "target_nodeids": [attrs["class_nodeids"][i] for i in keep],
        "target_treeids": [attrs["class_treeids"][i] for i in keep],
        "target_weights": [attrs["class_weights"][i] for i in keep],
        **({"base_values": [base[positive] if len(base) > 1 else base[0]]} if base else {}),
        **{k: attrs[k] for k in _TREE_ATTRIBUTES if k in attrs},
    }
    regressor = helper.make_node("TreeEnsembleRegressor", [INPUT], [MARGIN], domain="ai.onnx.ml", name="trees",
                                 **attributes)
    n_features = converted.graph.input[0].type.tensor_type.shape.dim[1].dim_value
    graph = helper.make_graph(
        [regressor], "trees",
        inputs=[helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ["N", n_features])],
        outputs=[helper.make_tensor_value_info(MARGIN, TensorProto.FLOAT, ["N", 1])],
    )
    return helper.make_model(graph, ir_version=IR_VERSION, opset_imports=[
        helper.make_opsetid("", OPSET), helper.make_opsetid("ai.onnx.ml", 1)])


def linear_margin_model(median: np.ndarray, mean: np.ndarray, scale: np.ndarray, coef: np.ndarray,
                        intercept: float, n_features: int) -> onnx.ModelProto:
    """``((where(isnan(x), median, x) - mean) / scale) @ coef + intercept`` in float64."""
    b = _Builder()
    x = b.op("Cast", INPUT, to=TensorProto.DOUBLE)
    x = b.op("Where", b.op("IsNaN", x), b.const(median), x)
    z = b.op("MatMul", b.op("Div", b.op("Sub", x, b.const(mean)), b.const(scale)), b.const(coef.reshape(-1, 1)))
    b.nodes.append(helper.make_node("Add", [z, b.const([intercept])], [MARGIN], name="linear_margin"))
    graph = helper.make_graph(
        b.nodes, "linear",
        inputs=[helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ["N", n_features])],
        outputs=[helper.make_tensor_value_info(MARGIN, TensorProto.DOUBLE, ["N", 1])],
        initializer=b.initializers,
    )
    return helper.make_model(graph, ir_version=IR_VERSION, opset_imports=[helper.make_opsetid("", OPSET)])


def forest_margin_model(nodes: dict[str, list], leaves: dict[str, list], eps: float,
                        n_features: int) -> onnx.ModelProto:
    """A random forest's margin: its trees summing ``(p_leaf, 1 - p_leaf) / n_trees`` as two
    targets (``TreeEnsembleRegressor``, float32) -> float64 -> ``log(clip(p)) - log(clip(1 - p))``.

    Both class frequencies are summed rather than ``1 - p`` taken afterwards: near p = 1 a float32
    p keeps ~1e-7 absolute precision, which the logit multiplies by 1 / (1 - p); each sum keeps
    ~1e-7 *relative* precision, which the logit leaves at ~1e-7."""
    b = _Builder()
    trees = b.name("trees")
    count = len(leaves["node"])
    b.nodes.append(helper.make_node(
        "TreeEnsembleRegressor", [INPUT], [trees], domain="ai.onnx.ml", name=trees,
        n_targets=2, aggregate_function="SUM", post_transform="NONE", base_values=[0.0, 0.0],
        nodes_treeids=nodes["tree"], nodes_nodeids=nodes["node"], nodes_featureids=nodes["feature"],
        nodes_values=nodes["value"], nodes_modes=nodes["mode"], nodes_truenodeids=nodes["true"],
        nodes_falsenodeids=nodes["false"], nodes_missing_value_tracks_true=nodes["missing"],
        nodes_hitrates=[1.0] * len(nodes["node"]),
        target_ids=[0] * count + [1] * count, target_nodeids=leaves["node"] * 2,
        target_treeids=leaves["tree"] * 2, target_weights=leaves["positive"] + leaves["negative"]))
    clipped = b.op("Clip", b.op("Cast", trees, to=TensorProto.DOUBLE), b.const(eps), b.const(1.0 - eps))
    logs = b.op("Log", clipped)
    positive = b.op("Slice", logs, b.const([0], np.int64), b.const([1], np.int64), b.const([1], np.int64))
    negative = b.op("Slice", logs, b.const([1], np.int64), b.const([2], np.int64), b.const([1], np.int64))
    b.nodes.append(helper.make_node("Sub", [positive, negative], [MARGIN], name="forest_margin"))
    graph = helper.make_graph(
        b.nodes, "forest",
        inputs=[helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ["N", n_features])],
        outputs=[helper.make_tensor_value_info(MARGIN, TensorProto.DOUBLE, ["N", 1])],
        initializer=b.initializers,
    )
    return helper.make_model(graph, ir_version=IR_VERSION, opset_imports=[
        helper.make_opsetid("", OPSET), helper.make_opsetid("ai.onnx.ml", 1)])


def mlp_margin_model(median: np.ndarray, mean: np.ndarray, scale: np.ndarray, weights: Sequence[np.ndarray],
                     biases: Sequence[np.ndarray], n_features: int) -> onnx.ModelProto:
    """Impute, standardise, then ``relu(h @ W + b)`` per hidden layer and ``h @ W + b`` last, in float64."""
    b = _Builder()
    x = b.op("Cast", INPUT, to=TensorProto.DOUBLE)
    h = b.op("Div", b.op("Sub", b.op("Where", b.op("IsNaN", x), b.const(median), x), b.const(mean)), b.const(scale))
    for index, (w, bias) in enumerate(zip(weights, biases, strict=True)):
        z = b.op("MatMul", h, b.const(w))
        if index < len(weights) - 1:
            h = b.op("Relu", b.op("Add", z, b.const(bias)))
        else:
            b.nodes.append(helper.make_node("Add", [z, b.const(bias)], [MARGIN], name="mlp_margin"))
    graph = helper.make_graph(
        b.nodes, "mlp",
        inputs=[helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ["N", n_features])],
        outputs=[helper.make_tensor_value_info(MARGIN, TensorProto.DOUBLE, ["N", 1])],
        initializer=b.initializers,
    )
    return helper.make_model(graph, ir_version=IR_VERSION, opset_imports=[helper.make_opsetid("", OPSET)])


def save_member(model: onnx.ModelProto, reference: np.ndarray, path: Path) -> None:
    """A member's own graph with its explanation reference point in the metadata (``MEMBER_REFERENCE``)."""
    helper.set_model_props(model, {MEMBER_REFERENCE: json.dumps([float(v) for v in reference])})
    path.write_bytes(model.SerializeToString())


def _prefixed(member: Member) -> tuple[onnx.GraphProto, str]:
    """The member's graph with every name but the shared ``features`` input prefixed by its
    algorithm (``onnx.compose``; onnx >= 1.19 leaves an input alone when asked, onnx#6994), and
    the name of its margin there."""
    graph = onnx.compose.add_prefix_graph(member.model.graph, member_tensor(member.name, ""), rename_inputs=False)
    return graph, member_tensor(member.name, MARGIN)


class _Builder:
    """Accumulates nodes and constants with unique names."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._count = 0

    def name(self, hint: str) -> str:
        self._count += 1
        return f"tail_{hint}_{self._count}"

    def const(self, value: np.ndarray | float | Sequence[float], dtype: type = np.float64) -> str:
        name = self.name("c")
        self.initializers.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def op(self, op_type: str, *inputs: str, **attrs: int) -> str:
        """One node; the tail's attributes (``to``, ``axis``, ``keepdims``) are all integers."""
        out = self.name(op_type.lower())
        node = helper.make_node(op_type, list(inputs), [out], name=out)
        node.attribute.extend(helper.make_attribute(key, value) for key, value in sorted(attrs.items()))
        self.nodes.append(node)
        return out


def _flat_margin(b: _Builder, margin: str) -> str:
    return b.op("Squeeze", b.op("Cast", margin, to=TensorProto.DOUBLE), b.const([1], np.int64))


def _calibrate(b: _Builder, score: str, calibrator: SigmoidCalibrator | IsotonicCalibrator) -> str:
    if isinstance(calibrator, SigmoidCalibrator):
        return b.op("Sigmoid", b.op("Add", b.op("Mul", score, b.const(calibrator.a_)), b.const(calibrator.b_)))
    x, y = calibrator.x_, calibrator.y_
    if len(x) == 1:
        return b.op("Add", b.op("Mul", score, b.const(0.0)), b.const(y[0]))
    lo, hi = x[:-1], x[1:]
    slope = np.diff(y) / np.diff(x)
    column = b.op("Unsqueeze", score, b.const([1], np.int64))
    clipped = b.op("Min", b.op("Max", column, b.const(lo)), b.const(hi))
    pieces = b.op("Mul", b.op("Sub", clipped, b.const(lo)), b.const(slope))
    total = b.op("ReduceSum", pieces, b.const([1], np.int64), keepdims=0)
    return b.op("Add", total, b.const(y[0]))


def build(members: Sequence[Member], blend: Blend, n_features: int) -> onnx.ModelProto:
    """The single scoring graph (see the module docstring)."""
    b = _Builder()
    nodes: list[onnx.NodeProto] = []
    initializers: list[onnx.TensorProto] = []
    weighted, flat = [], []
    for member in members:
        graph, margin = _prefixed(member)
        nodes += graph.node
        initializers += graph.initializer
        flat.append(_flat_margin(b, margin))
        weighted.append(b.op("Mul", flat[-1], b.const(member.weight)))
    score = weighted[0] if len(weighted) == 1 else b.op("Sum", *weighted)
    calibrated = _calibrate(b, score, blend.calibrator)
    b.nodes.append(helper.make_node("Cast", [calibrated], [OUTPUT], name="output_cast", to=TensorProto.FLOAT))
    outputs = [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["N"])]
    if len(members) > 1:  # an ensemble also answers its members' margins (agreement)
        columns = [b.op("Unsqueeze", m, b.const([1], np.int64)) for m in flat]
        b.nodes.append(helper.make_node("Concat", columns, [MEMBERS], name="members_concat", axis=1))
        outputs.append(helper.make_tensor_value_info(MEMBERS, TensorProto.DOUBLE, ["N", len(members)]))
    ml_version = max([1] + [o.version for m in members for o in m.model.opset_import if o.domain == "ai.onnx.ml"])
    graph = helper.make_graph(
        nodes + b.nodes, "leadscore",
        inputs=[helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ["N", n_features])],
        outputs=outputs,
        initializer=initializers + b.initializers,
    )
    model = helper.make_model(
        graph, producer_name="leadscore", ir_version=IR_VERSION,
        opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid("ai.onnx.ml", ml_version)],
    )
    onnx.checker.check_model(model, full_check=True)
    return model


def session(model: bytes | str | os.PathLike[str], threads: int = 0):  # -> onnxruntime.InferenceSession
    """An onnxruntime session tuned for batch scoring of tree ensembles on the CPU."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads or (os.cpu_count() or 1)
    # Batch scoring runs batches back to back, so workers that spin between them lose nothing
    # and skip a wake-up per batch: 1.2x rows/s for XGBoost and CatBoost, 1.1x for LightGBM
    # on 100k rows and 2 quiet cores. (The predictor, which idles between requests, sleeps.)
    options.add_session_config_entry("session.intra_op.allow_spinning", "1")
    options.log_severity_level = 3
    source = model if isinstance(model, bytes) else str(model)
    return ort.InferenceSession(source, sess_options=options, providers=["CPUExecutionProvider"])


def predict(sess, x: np.ndarray, batch_size: int = 65536) -> np.ndarray:
    """Calibrated probabilities for a float32 matrix, in batches."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    out = [sess.run([OUTPUT], {INPUT: x[i : i + batch_size]})[0] for i in range(0, len(x), batch_size)]
    return np.concatenate(out) if out else np.empty(0, dtype=np.float32)


def predict_with_members(sess, x: np.ndarray, members: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """``predict`` as float64 and, when ``members`` is asked for and the graph has them, the
    members' margins [N, M] float64 from the same run (else None)."""
    outputs = [OUTPUT] + ([MEMBERS] if members and MEMBERS in {o.name for o in sess.get_outputs()} else [])
    probability, *margins = sess.run(outputs, {INPUT: np.ascontiguousarray(x, dtype=np.float32)})
    return (np.asarray(probability, dtype=np.float64).reshape(-1),
            np.asarray(margins[0], dtype=np.float64) if margins else None)


def predict_members(sess, x: np.ndarray, batch_size: int = 65536) -> np.ndarray | None:
    """The members' margins [N, M] of an ensemble's graph; None when it has no such output."""
    if MEMBERS not in {o.name for o in sess.get_outputs()}:
        return None
    x = np.ascontiguousarray(x, dtype=np.float32)
    out = [sess.run([MEMBERS], {INPUT: x[i : i + batch_size]})[0] for i in range(0, len(x), batch_size)]
    return np.concatenate(out).astype(np.float64) if out else np.empty((0, 0))


def check_member_parity(model_bytes: bytes, x: np.ndarray, native: np.ndarray, a: np.ndarray, b: np.ndarray,
                        tolerance: float = PARITY_TOLERANCE) -> float:
    """Max |ONNX - native| of the members' own calibrated probabilities ``sigmoid(a * margin + b)``
    (what agreement is computed from); raises ``ParityError`` above ``tolerance``."""
    from scipy.special import expit

    margins = predict_members(session(model_bytes), x)
    if margins is None:
        raise ParityError(f"the ONNX ensemble has no {MEMBERS!r} output; nothing was published")
    diff = np.abs(expit(margins * a + b) - expit(np.asarray(native, dtype=np.float64) * a + b))
    worst = float(diff.max()) if diff.size else 0.0
    if not np.isfinite(worst) or worst > tolerance:
        raise ParityError(f"the ONNX members' calibrated probabilities differ from the native models' by "
                          f"{worst:.3g} (> {tolerance:g}); nothing was published")
    return worst


def check_parity(model: onnx.ModelProto, x: np.ndarray, native: np.ndarray,
                 tolerance: float = PARITY_TOLERANCE) -> float:
    """Max |ONNX - native| over ``x``; raises ``ParityError`` above ``tolerance``."""
    onnx_p = predict(session(model.SerializeToString()), x).astype(np.float64)
    expected = np.asarray(native, dtype=np.float64)
    diff = float(np.max(np.abs(onnx_p - expected))) if len(x) else 0.0
    if not np.isfinite(diff) or diff > tolerance:
        worst = int(np.nanargmax(np.abs(onnx_p - expected)))
        raise ParityError(
            f"ONNX model differs from the native models by {diff:.3g} (> {tolerance:g}) on test row "
            f"{worst}: onnx {onnx_p[worst]:.8f} vs native {expected[worst]:.8f}; nothing was published"
        )
    return diff
