"""Fixtures for the trainer's integration tests (helpers live in trainer_helpers.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from trainer_helpers import run_leadscore, synthetic_leads


@pytest.fixture
def run_cli(tmp_path: Path) -> Callable[..., object]:
    """``run_cli("train", ..., env={...})``: the CLI in a subprocess with cwd ``tmp_path``."""
    return lambda *args, env=None, timeout=900: run_leadscore(*args, cwd=tmp_path, env=env, timeout=timeout)


@pytest.fixture(scope="session")
def leads_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2,000 synthetic P&C leads (with the ground-truth column, which training must ignore)."""
    path = tmp_path_factory.mktemp("leads") / "leads.csv"
    synthetic_leads(2000, seed=11).to_csv(path, index=False)
    return path
