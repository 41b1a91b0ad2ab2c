"""Joining a Ray cluster, and turning Ray's failures into leadscore's errors (one line, one exit code).

An address is checked with a plain TCP connect first: ``ray.init`` against an address nothing
listens on retries for a minute before it fails, and the Job's log would show only Ray's retries.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from leadscore import errors as leadscore_errors
from leadscore.errors import ClusterError, ConfigError, LeadscoreError

ADDRESS_ENV = "RAY_ADDRESS"
CONNECT_TIMEOUT_S = 10.0
DEFAULT_GCS_PORT = 6379


def parse_address(address: str) -> tuple[str, int]:
    """``host:port`` (Ray's GCS address, ``ray start --head`` prints it), ``ray://host:port`` (Ray
    Client) or ``host`` (port 6379) as (host, port); anything else is a ``ConfigError``."""
    rest = address.removeprefix("ray://")
    host, _, port = rest.rpartition(":") if ":" in rest else (rest, "", str(DEFAULT_GCS_PORT))
    if not host or not port.isdigit() or not 0 < int(port) < 65536 or "/" in rest:
        raise ConfigError(f"--ray-address: expected host:port, ray://host:port or host (got {address!r})")
    return host.strip("[]"), int(port)


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """A ``ClusterError`` naming the address unless something accepts a TCP connection there."""
    host, port = parse_address(address)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return
    except OSError as exc:
        problem = exc.strerror or type(exc).__name__
        raise ClusterError(f"--ray-address: cannot reach the Ray cluster at {host}:{port} ({problem} within "
                           f"{timeout:g} s); is its head running (ray start --head, or the RayJob's head pod)?") \
            from None


@contextmanager
def session(address: str | None, num_cpus: int | None = None) -> Iterator[None]:
    """Ray joined for the block: ``address`` (or ``$RAY_ADDRESS``), else a local cluster on this
    machine's cores (``num_cpus`` of them when given). Ray's own failures inside the block leave as
    leadscore errors (``as_leadscore_error``); Ray is shut down either way."""
    import ray

    address = address or os.environ.get(ADDRESS_ENV) or None
    if address and address not in ("auto", "local"):
        check_reachable(address)
    options: dict[str, Any] = {"logging_level": "WARNING", "configure_logging": True}
    if address:
        options["address"] = address
    else:
        options.update(num_cpus=num_cpus, include_dashboard=False)
    try:
        ray.init(**options)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ClusterError(f"--ray-address: cannot join the Ray cluster at {address or 'a new local one'} "
                           f"({_first_line(exc)})") from None
    try:
        yield
    except Exception as exc:
        error = as_leadscore_error(exc)
        if error is exc:
            raise
        raise error from exc
    finally:
        ray.shutdown()


def as_leadscore_error(exc: BaseException) -> BaseException:
    """A ``ClusterError`` for a lost worker, node or object; anything else (a leadscore error already,
    ``boosting``'s naming the lost rank) as it is. (A worker's own
    ``LeadscoreError`` does not survive Ray's task errors, only its text: workers hand theirs back
    as data, ``error_text`` -> ``raise_error_text``.)"""
    import ray.exceptions as errors

    lost = (errors.ActorDiedError, errors.WorkerCrashedError, errors.NodeDiedError, errors.ObjectLostError,
            errors.RaySystemError, errors.ActorUnavailableError)
    return lost_worker(exc) if not isinstance(exc, LeadscoreError) and _chain_has(exc, lost) else exc


def lost_worker(exc: BaseException, what: str = "a worker") -> ClusterError:
    """The one-line ``ClusterError`` of a worker lost mid-run: ``what`` was lost, Ray's first line why."""
    return ClusterError(f"the Ray cluster lost {what} mid-run ({_first_line(exc)}); nothing was written")


def error_text(exc: LeadscoreError) -> str:
    """A worker's refusal as data (its class name and message), for the driver to raise again."""
    return json.dumps({"error": type(exc).__name__, "message": str(exc)})


def raise_error_text(text: str) -> None:
    """Raise the refusal ``error_text`` wrote, as its own leadscore error class (exit code and reason)."""
    error = json.loads(text)
    kind = getattr(leadscore_errors, error["error"], None)
    if not (isinstance(kind, type) and issubclass(kind, LeadscoreError)):
        kind = LeadscoreError
    raise kind(error["message"])


def _chain_has(exc: BaseException, kinds: tuple[type[BaseException], ...]) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, kinds):
            return True
        current = current.__cause__ or current.__context__
    return False


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
