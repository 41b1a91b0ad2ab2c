"""The predictor's deployer settings: the rate limit is off unless set, and bad values are refused."""

from __future__ import annotations

import pytest

from leadscore.errors import ConfigError
from leadscore.predictor.guards import guards_from, peer_host


def test_no_rate_limit_unless_the_deployer_sets_one() -> None:
    assert guards_from({}).rate is None


def test_rate_limit_burst_defaults_to_ten_seconds_of_rate() -> None:
    guards = guards_from({"LEADSCORE_RATE_LIMIT": "5"})
    assert (guards.rate, guards.burst, guards.client_header) == (5.0, 50, None)
    guards = guards_from({"LEADSCORE_RATE_LIMIT": "0.5", "LEADSCORE_RATE_BURST": "3",
                          "LEADSCORE_RATE_CLIENT_HEADER": "X-Client-Id"})
    assert (guards.rate, guards.burst, guards.client_header) == (0.5, 3, "x-client-id")


@pytest.mark.parametrize(("env", "message"), [
    ({"LEADSCORE_RATE_LIMIT": "fast"}, "LEADSCORE_RATE_LIMIT/LEADSCORE_RATE_BURST: expected numbers"),
    ({"LEADSCORE_RATE_LIMIT": "0"}, "LEADSCORE_RATE_LIMIT must be > 0"),
    ({"LEADSCORE_RATE_LIMIT": "nan"}, "LEADSCORE_RATE_LIMIT must be > 0"),
    ({"LEADSCORE_RATE_LIMIT": "inf"}, "LEADSCORE_RATE_LIMIT must be > 0 and finite"),
    ({"LEADSCORE_RATE_LIMIT": "5", "LEADSCORE_RATE_BURST": "0"}, "LEADSCORE_RATE_BURST >= 1"),
    ({"LEADSCORE_RATE_LIMIT": "5", "LEADSCORE_RATE_CLIENT_HEADER": "x client"}, "expected a header name"),
])
def test_bad_rate_settings_are_refused_naming_the_setting(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        guards_from(env)


@pytest.mark.parametrize(("peer", "host"), [
    ("ipv4:10.0.0.7:51234", "10.0.0.7"), ("ipv6:[::1]:51234", "::1"), ("unix:/tmp/s", "/tmp/s"),
])
def test_grpc_peers_count_by_host_like_rest_clients(peer: str, host: str) -> None:
    assert peer_host(peer) == host
