"""Which onnxruntime providers each --device asks for."""

from __future__ import annotations

import pytest

from leadscore.errors import ConfigError
from leadscore.predictor.engine import providers_for

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
