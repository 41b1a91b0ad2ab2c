"""Where the boosters train: ``--device auto|cpu|cuda``.

CUDA counts as present when CatBoost sees a GPU and this XGBoost build has CUDA support;
then XGBoost trains with ``device="cuda"`` and CatBoost with ``task_type="GPU"``. LightGBM
(the pip wheel has no CUDA) and the baseline always train on the CPU, and every model is
scored on the CPU, so the ONNX parity check compares like with like.
"""

from __future__ import annotations

import os
import shutil
from typing import Literal

from leadscore.errors import ConfigError


def cuda_available() -> bool:
    if not (os.path.exists("/dev/nvidiactl") or shutil.which("nvidia-smi")):
        return False  # no driver: skip CatBoost's probe, which logs a CUDA error line
    import xgboost
    from catboost.utils import get_gpu_device_count

    try:
        gpus = get_gpu_device_count()
    except Exception:  # CatBoost raises when the driver is absent or broken
        return False
    return gpus > 0 and bool(xgboost.build_info().get("USE_CUDA"))


def resolve_device(requested: str) -> Literal["cpu", "cuda"]:
    if requested == "cpu":
        return "cpu"
    if requested == "auto":
        return "cuda" if cuda_available() else "cpu"
    if requested == "cuda":
        if not cuda_available():
            raise ConfigError("--device cuda: no CUDA GPU is visible to CatBoost/XGBoost on this node "
                              "(use --device auto or cpu, or schedule on a GPU node)")
        return "cuda"
    raise ConfigError(f"--device: expected auto, cpu or cuda, got {requested!r}")
