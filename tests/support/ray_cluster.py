"""A real local Ray cluster for the ``ray`` tests: ``ray start --head --block`` on 127.0.0.1 with two
CPUs, in its own process group (so its GCS, raylet and workers stop with it), stopped by its PID.

The ``ray`` command comes from the test virtualenv (pyproject's ``ray`` extra, which ``dev`` holds):
the cluster runs the same Ray and the same leadscore as the driver, as a ``trainer-ray`` pod would.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from support.processes import ServerProcess, free_port, start_process, wait_until

RAY = Path(sys.executable).parent / "ray"
START_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class RayCluster:
    address: str
    """``127.0.0.1:<port>``: what ``--ray-address`` takes."""
    process: ServerProcess
    cpus: int

    token: str
    """The cluster's token (Ray's token authentication, ``RAY_AUTH_MODE=token``)."""

    @property
    def env(self) -> dict[str, str]:
        """What a driver needs besides ``--ray-address``: the token, never a ``~/.ray/auth_token`` that
        another Ray on this machine may have written."""
        return {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": self.token}


def _up(process: ServerProcess) -> bool:
    """True once ``ray start`` says the head runs (GCS, raylet and its CPUs registered): it prints
    that line only after the node is up, and a ``ray status`` poll costs seconds on a loaded machine."""
    return "Ray runtime started." in process.log_tail(20_000)


@contextmanager
def running_ray(workdir: Path, cpus: int = 2) -> Iterator[RayCluster]:
    """The head (with ``cpus`` worker CPUs) on loopback; its temp dir short (Ray's Unix sockets) and private."""
    port = free_port()
    address = f"127.0.0.1:{port}"
    temp = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))
    token = secrets.token_hex(32)
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "OMP_WAIT_POLICY": "PASSIVE", "RAY_AUTH_MODE": "token",
           "RAY_AUTH_TOKEN": token}
    process = start_process(
        "ray", [RAY, "start", "--head", "--block", "--node-ip-address", "127.0.0.1", "--port", str(port),
                "--num-cpus", str(cpus), "--include-dashboard", "false", "--disable-usage-stats",
                "--object-store-memory", str(400 * 2**20), "--temp-dir", str(temp)],
        workdir / "ray.log", env=env)
    try:
        wait_until(lambda: _up(process), what=f"the Ray head at {address}", timeout=START_TIMEOUT_S,
                   process=process, interval=1.0)
        yield RayCluster(address=address, process=process, cpus=cpus, token=token)
    finally:
        process.stop(grace=15)  # ray start drains for up to 30 s on SIGTERM; the group is killed after
        shutil.rmtree(temp, ignore_errors=True)
