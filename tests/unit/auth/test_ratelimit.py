"""The token bucket the collector and the predictor share."""

from __future__ import annotations

import pytest

from leadscore.auth.ratelimit import RateLimitedError, RateLimiter, default_burst, shared_limiter


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


def test_the_default_burst_is_ten_seconds_of_rate_and_at_least_one_request() -> None:
    assert (default_burst(5.0), default_burst(0.05)) == (50, 1)


def test_one_limiter_per_setting_in_a_process() -> None:
    assert shared_limiter(3.0, 4) is shared_limiter(3.0, 4)
    assert shared_limiter(3.0, 4) is not shared_limiter(3.0, 5)
