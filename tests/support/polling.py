"""Waiting in tests: poll against a deadline, never a bare sleep."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(probe: Callable[[], T], *, what: str, timeout: float = 60.0, interval: float = 0.25) -> T:
    """Call ``probe`` until it returns something truthy and return that; fail the test at the deadline.

    Deadlines are generous by default because the machine has two shared cores.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last value: {value!r})")
        time.sleep(interval)
