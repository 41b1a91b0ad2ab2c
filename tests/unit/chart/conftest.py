"""Fixtures of the chart's render tests: the pinned helm and the chart with its CRD templates."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.helm import CHART, Helm


@pytest.fixture(scope="session")
def helm(helm_bin: Path) -> Helm:
    return Helm(helm_bin)


@pytest.fixture(scope="session")
def chart() -> Path:
    return CHART
