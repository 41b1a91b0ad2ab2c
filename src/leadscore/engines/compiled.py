"""LightGBM members compiled to machine code by ``lleaves`` (LLVM), cached per model file.

``lleaves`` turns a LightGBM text model into one native function per forest; at batch size it
scores several times faster than LightGBM's own ``predict`` (docs/predictor.md has the numbers).
It is optional (the ``fast`` extra: ``lleaves`` 1.3 works only with ``llvmlite`` < 0.45) and is a
candidate only when importable. Compiling a 300-tree forest takes tens of seconds, so the object
code is cached under ``cache_dir()`` keyed by the SHA-256 of the model file and the
``lleaves``/``llvmlite`` versions: a restart, the second batch-size class and every other replica
on the node load it in milliseconds. Like every engine, it scores only after matching
``model.onnx`` on the stored rows (``leadscore.engines.choice``).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path

import numpy as np

CACHE_ENV = "LEADSCORE_ENGINE_CACHE"
"""Where compiled engines are cached; default ``$XDG_CACHE_HOME/leadscore/engines`` (``~/.cache/...``)."""
LLEAVES = "lleaves"


def available() -> bool:
    """True when ``lleaves`` can be imported (the ``fast`` extra is installed)."""
    try:
        return find_spec("lleaves") is not None
    except ImportError:  # an import hook that refuses it outright
        return False


def cache_dir() -> Path:
    """The engine cache, created private to this user (it holds code this process will run)."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        path = Path(configured)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        path = Path(base) / "leadscore" / "engines"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def cache_key(model_file: Path) -> str:
    """The model file's content hash and the compiler's versions: a retrained model or another
    compiler never reuses an object compiled for something else."""
    digest = hashlib.sha256(model_file.read_bytes())
    for package in ("lleaves", "llvmlite"):
        digest.update(f"\0{package}={metadata.version(package)}".encode())
    return digest.hexdigest()[:32]


def lleaves_margin(model_file: Path, threads: int) -> Callable[[np.ndarray], np.ndarray]:
    """The LightGBM member's raw margin (float64 [N]) from its compiled forest (a ``Margin``)."""
    import lleaves

    target = cache_dir() / f"lleaves-{cache_key(model_file)}.o"
    model = lleaves.Model(model_file=str(model_file))
    if target.is_file():
        model.compile(cache=str(target), raw_score=True)
    else:
        # lleaves writes the object where it is told; compile beside the target and rename, so a
        # concurrent loader never reads a half-written object.
        handle, partial = tempfile.mkstemp(prefix=f"{target.stem}-", suffix=".o.tmp", dir=target.parent)
        os.close(handle)
        os.unlink(partial)
        try:
            model.compile(cache=partial, raw_score=True)
            os.replace(partial, target)
        finally:
            if os.path.exists(partial):
                os.unlink(partial)
    return lambda x: np.asarray(model.predict(x, n_jobs=threads), dtype=np.float64).reshape(-1)
