"""Shared by the trainer's integration tests: run ``leadscore`` as a user would, in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

LEADSCORE = Path(sys.executable).parent / "leadscore"
# Small and quick: the searches run one thread each so parallel suites do not starve.
FAST = ["--algorithms", "lr,lightgbm", "--trials", "2", "--threads", "1", "--seed", "3"]


def run_leadscore(*args: str, cwd: Path, env: Mapping[str, str] | None = None,
                  timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """The CLI in a subprocess; MLflow's and the Job's env defaults cleared unless given."""
    full_env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "MLFLOW_TRACKING_URI": "", **(env or {})}
    full_env.pop("LEADSCORE_TERMINATION_PATH", None)
    return subprocess.run([str(LEADSCORE), *args], cwd=cwd, env=full_env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def synthetic_leads(rows: int, seed: int, vertical: str = "pc") -> pd.DataFrame:
    from leadscore.data import synth

    return synth.generate(vertical, rows, seed)  # type: ignore[arg-type]
