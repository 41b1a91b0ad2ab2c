"""How often a client may call: a token bucket per client, shared by the collector and the predictor.

A client is whatever the server can tell callers apart by: the collector uses the authenticated
user (else the address), the predictor the peer address (or a header a trusted proxy sets).
Buckets live in the server process: with several worker processes each has its own.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Annotated

from pydantic import Field


class RateLimitedError(Exception):
    """429 / RESOURCE_EXHAUSTED: the client sent more than its share; ``retry_after`` seconds
    until the next request may go."""

    def __init__(self, client: str, retry_after: float) -> None:
        super().__init__(f"rate limit: {client} sent more requests than this server accepts; "
                         f"retry after {retry_after:.1f} s")
        self.retry_after = retry_after


@dataclass
class RateLimiter:
    """A token bucket per client: ``rate`` requests a second on average, ``burst`` at once."""

    rate: float
    burst: int
    max_clients: int = 10_000
    """Buckets kept before the full ones (clients idle long enough to be back at ``burst``) are
    forgotten: a stream of new addresses or header values cannot grow memory without bound."""
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def retry_after(self, client: str, now: float | None = None) -> float:
        """0 when the request may go now (and is counted); else seconds until it may."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if client not in self._buckets and len(self._buckets) >= self.max_clients:
                self._forget_full(now)
            tokens, last = self._buckets.get(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[client] = (tokens - 1.0, now)
                return 0.0
            self._buckets[client] = (tokens, now)
            return (1.0 - tokens) / self.rate

    def _forget_full(self, now: float) -> None:
        """Drop the buckets that have refilled: forgetting them changes no answer."""
        full = [c for c, (tokens, last) in self._buckets.items() if tokens + (now - last) * self.rate >= self.burst]
        for client in full:
            del self._buckets[client]

    def admit(self, client: str) -> None:
        """Count one request of ``client``; raises ``RateLimitedError`` when it is over its rate."""
        wait = self.retry_after(client)
        if wait > 0:
            raise RateLimitedError(client, wait)


Rate = Annotated[float, Field(gt=0, allow_inf_nan=False, description="Requests a second per client.")]
"""A rate setting: positive and finite."""
Burst = Annotated[int, Field(ge=1, description="Requests a client may send at once.")]


def default_burst(rate: float) -> int:
    """The burst when none is set: ten seconds of ``rate``, at least one request."""
    return max(1, round(rate * 10))


@lru_cache(maxsize=8)
def shared_limiter(rate: float, burst: int) -> RateLimiter:
    """One limiter per setting in this process, so a server's REST and gRPC listeners draw on
    the same buckets (each spawned worker process builds its own)."""
    return RateLimiter(rate, burst)
