"""Fixtures of the chart's render tests: the pinned helm and the chart with its CRD templates."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.helm import Helm, chart_with_crds


@pytest.fixture(scope="session")
def helm(helm_bin: Path) -> Helm:
    return Helm(helm_bin)


@pytest.fixture(scope="session")
def chart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return chart_with_crds(tmp_path_factory.mktemp("crds"))
