"""The predictor's deployer settings: the rate limit is off unless set, and bad values are refused."""

from __future__ import annotations

import pytest

from leadscore.errors import ConfigError
from leadscore.predictor.guards import guards_from, peer_host


def test_no_rate_limit_unless_the_deployer_sets_one() -> None:
    assert guards_from({}).rate_limit is None


def test_rate_limit_burst_defaults_to_ten_seconds_of_rate() -> None:
    guards = guards_from({"LEADSCORE_RATE_LIMIT": "5"})
    assert (guards.rate_limit, guards.burst, guards.rate_client_header) == (5.0, 50, None)
    guards = guards_from({"LEADSCORE_RATE_LIMIT": "0.5", "LEADSCORE_RATE_BURST": "3",
                          "LEADSCORE_RATE_CLIENT_HEADER": "X-Client-Id"})
    assert (guards.rate_limit, guards.burst, guards.rate_client_header) == (0.5, 3, "x-client-id")


@pytest.mark.parametrize(("env", "message"), [
    ({"LEADSCORE_RATE_LIMIT": "fast"}, "LEADSCORE_RATE_LIMIT: Input should be a valid number"),
    ({"LEADSCORE_RATE_LIMIT": "0"}, "LEADSCORE_RATE_LIMIT: Input should be greater than 0 (got '0')"),
    ({"LEADSCORE_RATE_LIMIT": "nan"}, "LEADSCORE_RATE_LIMIT: Input should be a finite number"),
    ({"LEADSCORE_RATE_LIMIT": "inf"}, "LEADSCORE_RATE_LIMIT: Input should be a finite number"),
    ({"LEADSCORE_RATE_LIMIT": "5", "LEADSCORE_RATE_BURST": "0"},
     "LEADSCORE_RATE_BURST: Input should be greater than or equal to 1"),
    ({"LEADSCORE_RATE_LIMIT": "5", "LEADSCORE_RATE_CLIENT_HEADER": "x client"},
     "LEADSCORE_RATE_CLIENT_HEADER: String should match pattern"),
    ({"LEADSCORE_MODEL_REPOSITORY_API": "sure"}, "LEADSCORE_MODEL_REPOSITORY_API: Input should be a valid boolean"),
    ({"LEADSCORE_MAX_BODY_BYTES": "512"}, "LEADSCORE_MAX_BODY_BYTES: Input should be greater than or equal to 1024"),
])
def test_bad_rate_settings_are_refused_naming_the_setting(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        guards_from(env)
    assert str(refused.value).startswith(message)


def test_guards_defaults_are_unchanged_when_nothing_is_set() -> None:
    guards = guards_from({"LEADSCORE_RATE_LIMIT": ""})  # empty counts as unset
    assert (guards.model_repository_api, guards.max_body_bytes, guards.rate_limit, guards.burst) == (
        False, 16 * 1024 * 1024, None, 1)


@pytest.mark.parametrize(("peer", "host"), [
    ("ipv4:10.0.0.7:51234", "10.0.0.7"), ("ipv6:[::1]:51234", "::1"), ("unix:/tmp/s", "/tmp/s"),
])
def test_grpc_peers_count_by_host_like_rest_clients(peer: str, host: str) -> None:
    assert peer_host(peer) == host
