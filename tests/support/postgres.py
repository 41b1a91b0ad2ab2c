"""A throw-away PostgreSQL cluster from Debian's packages, on loopback, with password auth.

PostgreSQL refuses to run as root, so when the tests run as root (CI) the cluster belongs to
the unprivileged ``postgres`` user and its commands go through ``runuser``; its directory is
made with ``tempfile`` because pytest's own temp root is private to root.
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from support.processes import ServerProcess, free_port, start_process, wait_until

SUPERUSER = "postgres"
PASSWORD = "leadscore-test"
DATABASE = "leadscore_test"


@dataclass
class PostgresServer:
    """A PostgreSQL server reached as a user allowed to create databases."""

    host: str
    port: int
    user: str = SUPERUSER
    password: str = PASSWORD
    database: str = DATABASE
    process: ServerProcess | None = None
    _names: Iterator[int] = field(default_factory=itertools.count, repr=False)

    @classmethod
    def from_url(cls, url: str) -> PostgresServer:
        """A server someone else runs (``LEADSCORE_TEST_POSTGRES_URL``)."""
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        return cls(host=parsed.host or "127.0.0.1", port=parsed.port or 5432,
                   user=parsed.username or SUPERUSER, password=parsed.password or "",
                   database=parsed.database or "postgres")

    def url(self, database: str | None = None) -> str:
        """A SQLAlchemy URL (psycopg 3 driver) for ``database`` (default: the test database)."""
        return (f"postgresql+psycopg://{self.user}:{self.password}@{self.host}:{self.port}/"
                f"{database or self.database}")

    def create_database(self) -> str:
        """Create a fresh database ``test_<n>`` and return its name."""
        name = f"test_{os.getpid()}_{next(self._names)}"
        _execute(self._dsn(self.database), f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        _execute(self._dsn(self.database), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _dsn(self, database: str) -> str:
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{database}"


def _execute(dsn: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql)


def _can_connect(dsn: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(dsn, connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


def _as_owner(args: list[str]) -> list[str]:
    return ["runuser", "-u", SUPERUSER, "--", *args] if os.geteuid() == 0 else args


def _run_as_owner(args: list[str], log: Path) -> None:
    with log.open("ab") as out:
        subprocess.run(_as_owner(args), stdout=out, stderr=subprocess.STDOUT, check=True, timeout=300)


@contextmanager
def running_postgres(bin_dir: Path, *, timeout: float = 120.0) -> Iterator[PostgresServer]:
    """initdb a cluster in a temp dir, start ``postgres`` on a free loopback port, create DATABASE."""
    workdir = Path(tempfile.mkdtemp(prefix="leadscore-pg-"))
    try:
        if os.geteuid() == 0:
            shutil.chown(workdir, SUPERUSER, SUPERUSER)
        data, pwfile, log = workdir / "data", workdir / "pwfile", workdir / "postgres.log"
        pwfile.write_text(PASSWORD + "\n")
        if os.geteuid() == 0:
            shutil.chown(pwfile, SUPERUSER, SUPERUSER)
        _run_as_owner([str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER, "-E", "UTF8",
                       "--no-sync", "--auth-local=trust", "--auth-host=scram-sha-256",
                       f"--pwfile={pwfile}"], workdir / "initdb.log")
        port = free_port()
        args = _as_owner([str(bin_dir / "postgres"), "-D", str(data), "-p", str(port),
                          "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={workdir}",
                          "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"])
        # SIGINT is PostgreSQL's "fast" shutdown; SIGTERM would wait for every client to leave.
        process = start_process("postgres", args, log, stop_signal=signal.SIGINT)
        server = PostgresServer(host="127.0.0.1", port=port, process=process)
        try:
            wait_until(lambda: _can_connect(server._dsn("postgres")),
                       what=f"PostgreSQL accepting connections on 127.0.0.1:{port}",
                       timeout=timeout, process=process)
            _execute(server._dsn("postgres"), f'CREATE DATABASE "{DATABASE}"')
            yield server
        finally:
            process.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
