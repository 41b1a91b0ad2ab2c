"""Each shipped member's raw margin (log-odds) on one engine, and the blend + calibration in numpy.

A member engine maps the encoded features (float32 [N, F], NaN = missing) to the member's
margin, float64 [N]: exactly what the member's part of ``model.onnx`` computes before the
weighted sum. Engines:

* ``onnxruntime``: the member's own sub-graph cut out of ``model.onnx`` (every member, always);
* ``native``: the library that trained it, from ``boosters/`` (XGBoost's in-place predictor,
  LightGBM's and CatBoost's ``predict``): at batch size the XGBoost and CatBoost predictors
  outrun onnxruntime's tree operators, one lead at a time they pay a per-call overhead;
* ``numpy``: the logistic baseline's three vector operations;
* ``lleaves``: a LightGBM member compiled by LLVM (``leadscore.engines.compiled``), a candidate
  only when the optional ``fast`` extra is installed.

``Tail`` is the rest of ``model.onnx``: ``calibrator(sum_i w_i * margin_i)`` in float64, then the
float32 rounding of its ``probability`` output.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from leadscore.api.artifact import (
    INPUT_TENSOR,
    MEMBER_MARGIN,
    MODEL_FILE,
    LinearParameters,
    ServingCard,
    member_tensor,
)
from leadscore.engines import compiled

Margin = Callable[[np.ndarray], np.ndarray]
"""float32 features [N, F] -> the member's margin, float64 [N]."""
Loader = Callable[[Path, int], Margin]
"""(native model file, threads) -> a member engine."""

ONNXRUNTIME = "onnxruntime"
NATIVE = "native"
NUMPY = "numpy"


def _xgboost(path: Path, threads: int) -> Margin:
    import xgboost

    booster = xgboost.Booster(model_file=str(path))
    booster.set_param({"nthread": threads})
    # In-place prediction skips building a DMatrix per call: the per-call cost that made XGBoost
    # 20x slower than onnxruntime for one lead.
    return lambda x: np.asarray(booster.inplace_predict(x, predict_type="margin", missing=np.nan),
                                dtype=np.float64).reshape(-1)


def _lightgbm(path: Path, threads: int) -> Margin:
    import lightgbm

    booster = lightgbm.Booster(model_file=str(path))
    return lambda x: np.asarray(booster.predict(x, raw_score=True, num_threads=threads), dtype=np.float64)


def _catboost(path: Path, threads: int) -> Margin:
    import catboost

    model = catboost.CatBoost()
    model.load_model(str(path), format="cbm")
    return lambda x: np.asarray(model.predict(x, prediction_type="RawFormulaVal", thread_count=threads),
                                dtype=np.float64)


def _logistic(path: Path, threads: int) -> Margin:
    """``((impute(x) - mean) / scale) @ coef + intercept`` in float64, as the export writes it,
    folded into ``impute(x) @ (coef / scale) + (intercept - (mean / scale) @ coef)``: one copy of
    the matrix instead of four (the same value to ~1e-12)."""
    params = LinearParameters.model_validate_json(path.read_text())
    median, mean, scale, coef = (np.asarray(v, dtype=np.float64)
                                 for v in (params.impute_median, params.scale_mean, params.scale_std, params.coef))
    weights = coef / scale
    offset = params.intercept - float((mean / scale) @ coef)

    def margin(x: np.ndarray) -> np.ndarray:
        filled = x.astype(np.float64)
        missing = np.isnan(filled)
        if missing.any():
            np.copyto(filled, np.broadcast_to(median, filled.shape), where=missing)
        return np.asarray(filled @ weights + offset, dtype=np.float64)

    return margin


def _faster() -> dict[str, dict[str, Loader]]:
    lightgbm: dict[str, Loader] = {NATIVE: _lightgbm}
    if compiled.available():
        lightgbm[compiled.LLEAVES] = compiled.lleaves_margin
    return {"xgboost": {NATIVE: _xgboost}, "lightgbm": lightgbm, "catboost": {NATIVE: _catboost},
            "lr": {NUMPY: _logistic}}


FASTER: dict[str, dict[str, Loader]] = _faster()
"""Per algorithm, the engines that may beat its ``onnxruntime`` sub-graph, and how to load each."""


def onnx_members(directory: Path, members: Sequence[str]) -> dict[str, bytes]:
    """Each member's sub-graph of ``model.onnx`` (``features`` -> its margin), serialized: the
    nodes and constants under the member's prefix. Tree margins are float32, the baseline's
    float64 (``leadscore.trainer.onnx_graph``)."""
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load(str(directory / MODEL_FILE))
    graph = model.graph
    out = {}
    for name in members:
        prefix, margin = member_tensor(name, ""), member_tensor(name, MEMBER_MARGIN)
        nodes = [n for n in graph.node if any(o.startswith(prefix) for o in n.output)]
        last = next((n for n in nodes if margin in n.output), None)
        if last is None:
            raise ValueError(f"model.onnx has no tensor {margin!r}")
        dtype = TensorProto.FLOAT if last.op_type.startswith("TreeEnsemble") else TensorProto.DOUBLE
        sub = helper.make_graph(
            nodes, name, inputs=[i for i in graph.input if i.name == INPUT_TENSOR],
            outputs=[helper.make_tensor_value_info(margin, dtype, None)],
            initializer=[t for t in graph.initializer if t.name.startswith(prefix)],
        )
        out[name] = helper.make_model(sub, ir_version=model.ir_version,
                                      opset_imports=list(model.opset_import)).SerializeToString()
    return out


def open_session(model: bytes | str, threads: int, spinning: bool) -> Any:  # -> onnxruntime.InferenceSession
    """A CPU session for a chain-shaped graph: all graph optimisations, ``threads`` intra-op
    workers that spin between runs only when asked (back-to-back batches gain; a server idling
    between requests would burn the cores its event loop needs)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    options.log_severity_level = 3
    return ort.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])


def onnx_margin(member: str, model: bytes, threads: int, spinning: bool) -> Margin:
    """A member's sub-graph on onnxruntime (tree margins come out float32 [N, 1])."""
    session = open_session(model, threads, spinning)
    output = [member_tensor(member, MEMBER_MARGIN)]
    return lambda x: np.asarray(session.run(output, {INPUT_TENSOR: x})[0], dtype=np.float64).reshape(-1)


class Tail:
    """``model.onnx`` after the members: weighted sum and calibrator in float64, float32 output."""

    def __init__(self, card: ServingCard) -> None:
        if card.calibration is None:
            raise ValueError("the model card records no calibration")
        self.weights = [float(m.weight) for m in card.members]
        parameters = card.calibration.parameters
        if card.calibration.method == "sigmoid":
            a, b = float(parameters["a"]), float(parameters["b"])
            self._calibrate: Callable[[np.ndarray], np.ndarray] = lambda s: _sigmoid(a * s + b)
        elif card.calibration.method == "isotonic":
            xs = np.asarray(parameters["x"], dtype=np.float64)
            ys = np.asarray(parameters["y"], dtype=np.float64)
            self._calibrate = lambda s: np.interp(s, xs, ys)
        else:
            raise ValueError(f"unknown calibration method {card.calibration.method!r}")

    def __call__(self, margins: Sequence[np.ndarray]) -> np.ndarray:
        score = margins[0] * self.weights[0]
        for margin, weight in zip(margins[1:], self.weights[1:], strict=True):
            score += margin * weight
        return self._calibrate(score).astype(np.float32).astype(np.float64)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    """Overflow-free logistic function: ``exp`` only ever sees non-positive arguments."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
