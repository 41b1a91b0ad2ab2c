"""Which onnxruntime providers each --device asks for, and the scorer's two sessions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from leadscore.errors import ConfigError
from leadscore.predictor.engine import SMALL_BATCH, OnnxScorer, providers_for

CPU = ["CPUExecutionProvider"]
GPU = ["CUDAExecutionProvider", "CPUExecutionProvider"]


@pytest.mark.parametrize(
    ("device", "available", "expected"),
    [
        ("auto", CPU, CPU),
        ("auto", GPU, GPU),
        ("cpu", GPU, CPU),
        ("cuda", GPU, GPU),
    ],
)
def test_providers_for_prefers_cuda_only_when_available_and_allowed(
    device: str, available: list[str], expected: list[str]
) -> None:
    assert providers_for(device, available) == expected  # type: ignore[arg-type]


def test_providers_for_refuses_cuda_with_a_hint_when_onnxruntime_has_no_cuda() -> None:
    with pytest.raises(ConfigError, match="--device cuda: onnxruntime has no CUDA provider here"):
        providers_for("cuda", CPU)


def _sum_sigmoid_model(path: Path, n_features: int) -> Path:
    """``probability = sigmoid(sum of features)``: a stand-in for an exported scoring graph."""
    from onnx import TensorProto, helper, numpy_helper, save

    nodes = [
        helper.make_node("ReduceSum", ["features", "axis"], ["total"], keepdims=0),
        helper.make_node("Sigmoid", ["total"], ["probability"]),
    ]
    graph = helper.make_graph(
        nodes,
        "sum_sigmoid",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", n_features])],
        [helper.make_tensor_value_info("probability", TensorProto.FLOAT, ["N"])],
        initializer=[numpy_helper.from_array(np.array([1], dtype=np.int64), "axis")],
    )
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8), str(path))
    return path


def test_small_and_large_batches_score_alike_on_their_separate_sessions(tmp_path: Path) -> None:
    x = np.random.default_rng(0).normal(size=(3 * SMALL_BATCH, 5)).astype(np.float32)
    scorer = OnnxScorer(_sum_sigmoid_model(tmp_path / "model.onnx", 5), device="cpu", threads=2)
    whole = scorer.predict(x)
    one_by_one = np.concatenate([scorer.predict(x[i : i + 1]) for i in range(len(x))])
    expected = 1.0 / (1.0 + np.exp(-x.astype(np.float64).sum(axis=1)))
    np.testing.assert_allclose(whole, expected, atol=1e-6)
    np.testing.assert_array_equal(one_by_one, whole)
