"""Relays between the host's loopback and a private network namespace, through Unix sockets.

A namespace made by a test has nothing but its own loopback (and whatever the test adds), so
nothing in it can reach another address, and nothing outside can reach it except through these
relays: a socat on each side of a Unix socket in the test's work directory.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path

from support.processes import free_port, start_process, wait_until

# ``enter(*args)``: ``args`` prefixed to run inside the namespace (nsenter ...).
Enter = Callable[..., Sequence[str]]


def listening(port: int) -> bool:
    """Whether something accepts connections on the host's 127.0.0.1:``port``."""
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def relay_in(stack: ExitStack, enter: Enter, workdir: Path, host: str, port: int) -> int:
    """A port on the host's 127.0.0.1 that reaches ``host:port`` inside the namespace."""
    local = free_port()
    socket_path = workdir / f"forward-{local}.sock"
    inner = start_process(f"forward {host}:{port} (namespace side)",
                          enter("socat", f"UNIX-LISTEN:{socket_path},fork", f"TCP:{host}:{port}"),
                          workdir / f"forward-{local}-inner.log")
    stack.callback(inner.stop)
    wait_until(socket_path.exists, what=f"{socket_path}", timeout=10, process=inner)
    outer = start_process(f"forward {host}:{port} (host side)",
                          ["socat", f"TCP-LISTEN:{local},bind=127.0.0.1,fork,reuseaddr",
                           f"UNIX-CONNECT:{socket_path}"],
                          workdir / f"forward-{local}-outer.log")
    stack.callback(outer.stop)
    wait_until(lambda: listening(local), what=f"127.0.0.1:{local}", timeout=10, process=outer)
    return local


def relay_out(stack: ExitStack, enter: Enter, workdir: Path, inner_port: int, host_port: int,
              bind: str = "127.0.0.1") -> None:
    """``bind``:``inner_port`` inside the namespace reaches 127.0.0.1:``host_port`` on the host."""
    socket_path = workdir / f"reach-{host_port}.sock"
    outer = start_process(f"reach 127.0.0.1:{host_port} (host side)",
                          ["socat", f"UNIX-LISTEN:{socket_path},fork", f"TCP:127.0.0.1:{host_port}"],
                          workdir / f"reach-{host_port}-outer.log")
    stack.callback(outer.stop)
    wait_until(socket_path.exists, what=f"{socket_path}", timeout=10, process=outer)
    inner = start_process(f"reach 127.0.0.1:{host_port} (namespace side, {bind}:{inner_port})",
                          enter("socat", f"TCP-LISTEN:{inner_port},bind={bind},fork,reuseaddr",
                                f"UNIX-CONNECT:{socket_path}"),
                          workdir / f"reach-{host_port}-inner.log")
    stack.callback(inner.stop)
