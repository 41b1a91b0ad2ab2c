"""The real predictor (``python -m leadscore.predictor``, KServe's ModelServer) on loopback."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from support.processes import ServerProcess, free_port, http_ok, start_process, wait_until


@dataclass(frozen=True)
class Predictor:
    name: str
    http: str  # http://127.0.0.1:PORT
    grpc: str  # 127.0.0.1:PORT
    process: ServerProcess


@contextlib.contextmanager
def running_predictor(
    model_dir: Path | str,
    workdir: Path,
    *,
    name: str = "pc",
    env: Mapping[str, str] | None = None,
    args: Sequence[str] = (),
    timeout: float = 120.0,
) -> Iterator[Predictor]:
    """Start the predictor, wait until the model is ready, stop it afterwards."""
    http_port, grpc_port = free_port(), free_port()
    process = start_process(
        f"predictor {name}",
        [
            sys.executable,
            "-m",
            "leadscore.predictor",
            f"--model_name={name}",
            f"--model_dir={model_dir}",
            f"--http_port={http_port}",
            f"--grpc_port={grpc_port}",
            "--host=127.0.0.1",
            *args,
        ],
        workdir / f"predictor-{name}-{http_port}.log",
        env={**os.environ, **(env or {})},
    )
    predictor = Predictor(name, f"http://127.0.0.1:{http_port}", f"127.0.0.1:{grpc_port}", process)
    try:
        wait_until(
            lambda: http_ok(f"{predictor.http}/v2/models/{name}/ready"),
            what=f"model {name} ready",
            timeout=timeout,
            process=process,
        )
        yield predictor
    finally:
        process.stop()
