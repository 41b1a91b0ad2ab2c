"""The collector's API and store suites (tests/unit/collector/) on both databases.

Same tests, same assertions; only ``store_url`` changes: a SQLite file, and a fresh
database on a real PostgreSQL server (the shared ``postgres_database`` fixture).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from unit.collector.test_collector_api import *  # noqa: F403  (the shared suite)
from unit.collector.test_collector_drift import *  # noqa: F403
from unit.collector.test_collector_feedback import *  # noqa: F403
from unit.collector.test_collector_performance import *  # noqa: F403
from unit.collector.test_collector_store import *  # noqa: F403

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'events.db'}"
    return request.getfixturevalue("postgres_database")
