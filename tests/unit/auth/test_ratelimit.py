"""The token bucket the collector and the predictor share."""

from __future__ import annotations

import pytest

from leadscore.auth.ratelimit import RateLimitedError, RateLimiter, parse_rate, shared_limiter
from leadscore.errors import ConfigError


def test_a_client_gets_its_burst_then_waits_for_the_refill() -> None:
    limiter = RateLimiter(rate=2.0, burst=3)
    assert [limiter.retry_after("crm", now=0.0) for _ in range(4)] == [0.0, 0.0, 0.0, pytest.approx(0.5)]
    assert limiter.retry_after("crm", now=0.5) == 0.0
    assert limiter.retry_after("other", now=0.5) == 0.0  # per client


def test_admit_raises_with_the_wait() -> None:
    limiter = RateLimiter(rate=0.001, burst=1)
    limiter.admit("crm")
    with pytest.raises(RateLimitedError, match="rate limit: crm sent more requests") as refused:
        limiter.admit("crm")
    assert 999 < refused.value.retry_after <= 1000


def test_idle_clients_are_forgotten_so_new_names_cannot_grow_memory_without_bound() -> None:
    limiter = RateLimiter(rate=1.0, burst=2, max_clients=3)
    for n in range(3):
        limiter.retry_after(f"c{n}", now=0.0)
    limiter.retry_after("busy", now=0.0)  # at the cap, none refilled yet: kept, over the cap
    assert len(limiter._buckets) == 4
    limiter.retry_after("c9", now=1.0)  # c0..c2 and busy are full again at t=1: forgotten
    assert set(limiter._buckets) == {"c9"}
    drained = RateLimiter(rate=1.0, burst=2, max_clients=1)
    assert [drained.retry_after("crm", now=0.0) for _ in range(3)][-1] > 0
    drained.retry_after("stranger", now=0.1)
    assert drained.retry_after("crm", now=0.1) > 0  # a client still waiting is never forgotten


def test_parse_rate_defaults_the_burst_and_refuses_nonsense() -> None:
    assert parse_rate("", None, "R", "B") is None
    assert parse_rate("0.05", None, "R", "B") == (0.05, 1)
    assert parse_rate("5", "7", "R", "B") == (5.0, 7)
    for rate, burst in (("-1", None), ("5", "0"), ("nan", None), ("inf", None)):
        with pytest.raises(ConfigError, match="R must be > 0 and finite and B >= 1"):
            parse_rate(rate, burst, "R", "B")
    with pytest.raises(ConfigError, match="R/B: expected numbers"):
        parse_rate("5", "many", "R", "B")


def test_one_limiter_per_setting_in_a_process() -> None:
    assert shared_limiter(3.0, 4) is shared_limiter(3.0, 4)
    assert shared_limiter(3.0, 4) is not shared_limiter(3.0, 5)
