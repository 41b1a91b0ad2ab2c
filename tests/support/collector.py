"""``leadscore collector`` as a real server process on a free loopback port, for the tests
that post to it over HTTP the way KServe's logger and the CRMs do."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from support.processes import free_port, http_ok, start_process, wait_until

MODULE_LAUNCHER = (sys.executable, "-m", "leadscore")
"""The CLI of the test's own interpreter: the code under test, not an installed console script."""


@contextmanager
def running_collector(
    db: str,
    log_path: Path,
    *,
    launcher: Sequence[str] = MODULE_LAUNCHER,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 60,
) -> Iterator[str]:
    """The collector on event store ``db`` (an SQLAlchemy URL); yields its base URL once
    ``/healthz`` answers and stops it afterwards."""
    port = free_port()
    args = [*launcher, "collector", "--db", db, "--port", str(port), "--log-level", "warning"]
    process = start_process("collector", args, log_path, env=env, cwd=cwd)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: http_ok(f"{url}/healthz"), what="collector /healthz", timeout=timeout, process=process)
        yield url
    finally:
        process.stop()
