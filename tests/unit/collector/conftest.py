"""The collector's unit suite runs on a SQLite file; the integration copy adds PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'events.db'}"
