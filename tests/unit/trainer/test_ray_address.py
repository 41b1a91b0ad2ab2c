"""``--ray-address``: what it accepts, and the one-line refusal when nothing listens there; Ray's
lost-worker errors as leadscore's one line (no Ray cluster needed)."""

from __future__ import annotations

import socket

import pytest

from leadscore.errors import ClusterError, ConfigError
from leadscore.trainer.distributed.cluster import as_leadscore_error, check_reachable, lost_worker, parse_address


@pytest.mark.parametrize(("address", "expected"), [
    ("10.0.0.5:6379", ("10.0.0.5", 6379)),
    ("ray://head.ray.svc:10001", ("head.ray.svc", 10001)),
    ("head.ray.svc", ("head.ray.svc", 6379)),
    ("[::1]:6380", ("::1", 6380)),
])
def test_an_address_is_host_and_port(address: str, expected: tuple[str, int]) -> None:
    assert parse_address(address) == expected


@pytest.mark.parametrize("address", ["", ":6379", "head:port", "head:0", "head:70000", "http://head:8265/api"])
def test_a_malformed_address_names_the_flag_and_the_value(address: str) -> None:
    with pytest.raises(ConfigError, match=r"^--ray-address: expected host:port, ray://host:port or host \(got "):
        parse_address(address)


def test_an_address_nothing_listens_on_is_a_cluster_error_at_once() -> None:
    with socket.socket() as sock:  # a port that was just free, closed again: refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ClusterError, match=rf"^--ray-address: cannot reach the Ray cluster at 127.0.0.1:{port} "
                                           r"\(Connection refused within 2 s\)") as caught:
        check_reachable(f"127.0.0.1:{port}", timeout=2)
    assert caught.value.exit_code == 9 and caught.value.reason == "ClusterUnavailable"


def test_a_workers_refusal_comes_back_as_its_own_error_class() -> None:
    from leadscore.errors import DatasetError
    from leadscore.trainer.distributed.cluster import error_text, raise_error_text

    with pytest.raises(DatasetError, match=r"^dataset s3://b/x.parquet: the file is empty$") as caught:
        raise_error_text(error_text(DatasetError("dataset s3://b/x.parquet: the file is empty")))
    assert caught.value.exit_code == 3


def test_a_lost_worker_is_one_cluster_error_line_and_a_named_one_stays_as_it_is() -> None:
    from ray.exceptions import WorkerCrashedError

    crashed = WorkerCrashedError()
    error = as_leadscore_error(crashed)
    assert isinstance(error, ClusterError) and error.exit_code == 9
    assert str(error) == ("the Ray cluster lost a worker mid-run (The worker died unexpectedly while executing this "
                          "task. Check python-core-worker-*.log files for more information.); nothing was written")
    named = lost_worker(crashed, "an XGBoost worker (Ray task _train_part), rank 1 of 2,")
    assert str(named).startswith("the Ray cluster lost an XGBoost worker (Ray task _train_part), rank 1 of 2, mid-run")
    assert as_leadscore_error(named) is named  # boosting's naming is kept, not wrapped again
    other = ValueError("not Ray's")
    assert as_leadscore_error(other) is other
