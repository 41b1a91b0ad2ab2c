"""Start a server as a child process, wait for it against a deadline, stop it cleanly.

Every server gets its own process group (so helpers it forks, such as MLflow's uvicorn
workers, stop with it) and its own log file, whose tail is put into the error when the
server dies or is not ready in time: the first thing one needs when a fixture fails.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


class ServerStartError(RuntimeError):
    """A server whose binary exists did not come up: a real failure, never a skip."""


@dataclass
class ServerProcess:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    stop_signal: signal.Signals = signal.SIGTERM

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, chars: int = 3000) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return text[-chars:]

    def stop(self, grace: float = 20.0) -> None:
        """Send ``stop_signal`` to the whole process group, SIGKILL it after ``grace`` seconds."""
        if not self.alive():
            return
        _signal_group(self.popen.pid, self.stop_signal)
        try:
            self.popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            _signal_group(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=grace)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # it already exited
        os.killpg(pgid, sig)


def start_process(
    name: str,
    args: Sequence[str | os.PathLike[str]],
    log_path: Path,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    stop_signal: signal.Signals = signal.SIGTERM,
) -> ServerProcess:
    """Start ``args`` in a new session with stdout and stderr going to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        popen = subprocess.Popen(
            [str(a) for a in args],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
        )
    return ServerProcess(name=name, popen=popen, log_path=log_path, stop_signal=stop_signal)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(
    check: Callable[[], bool],
    *,
    what: str,
    timeout: float,
    process: ServerProcess | None = None,
    interval: float = 0.25,
) -> None:
    """Poll ``check`` until it is true; raise ServerStartError when ``process`` dies or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and not process.alive():
            raise ServerStartError(
                f"{process.name} exited with code {process.popen.returncode} before {what}; "
                f"log {process.log_path}:\n{process.log_tail()}"
            )
        if check():
            return
        if time.monotonic() > deadline:
            tail = f"; log {process.log_path}:\n{process.log_tail()}" if process else ""
            raise ServerStartError(f"timed out after {timeout:.0f}s waiting for {what}{tail}")
        time.sleep(interval)


def http_ok(
    url: str, *, context: ssl.SSLContext | None = None, headers: Mapping[str, str] | None = None
) -> bool:
    """True when ``url`` answers 2xx; connection errors and other statuses are False."""
    request = urllib.request.Request(url, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=5, context=context) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False
