"""The process helpers behind every fixture: failures carry the log, stop takes the whole group."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from support.polling import eventually
from support.processes import ServerStartError, free_port, start_process, wait_until


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_wait_until_reports_exit_code_and_log_when_the_server_dies(tmp_path: Path) -> None:
    process = start_process("doomed", ["sh", "-c", "echo cannot bind port; exit 3"], tmp_path / "doomed.log")

    with pytest.raises(ServerStartError, match=r"(?s)doomed exited with code 3 .*cannot bind port"):
        wait_until(lambda: False, what="never", timeout=30, process=process)


def test_wait_until_times_out_with_the_log_when_the_server_never_gets_ready(tmp_path: Path) -> None:
    process = start_process("slow", ["sh", "-c", "echo still warming up; exec sleep 60"], tmp_path / "slow.log")
    try:
        eventually(lambda: process.log_path.read_text(), what="the log line", timeout=30)
        with pytest.raises(ServerStartError, match=r"(?s)timed out after 1s waiting for readiness.*warming up"):
            wait_until(lambda: False, what="readiness", timeout=1, process=process)
    finally:
        process.stop()


def test_stop_ends_the_children_too_when_the_server_forked_them(tmp_path: Path) -> None:
    process = start_process("parent", ["sh", "-c", "sleep 300 & echo $!; wait"], tmp_path / "parent.log")
    child = int(eventually(lambda: process.log_path.read_text().strip(), what="the child's pid", timeout=30))
    assert _alive(child)

    process.stop(grace=10)

    assert not process.alive()
    eventually(lambda: not _alive(child), what="the child to be gone", timeout=10)


def test_free_port_is_bindable_on_loopback_when_returned() -> None:
    port = free_port()

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", port))
    assert 1024 <= port <= 65535
