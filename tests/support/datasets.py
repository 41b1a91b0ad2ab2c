"""The real datasets (Bank Marketing, X Education) the acceptance tests run on.

They live in the shared folder beside the repository (``<repo>/../shared/datasets``), not in
git; a checkout without them skips these tests locally and fails them in CI, where they are
part of the pipeline's inputs.
"""

from __future__ import annotations

from pathlib import Path

from support.skipping import require_or_skip

DATASETS = (Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets").resolve()


def real_dataset(name: str) -> str:
    """Path of the real dataset file ``name``; skips (fails under ``CI=true``) when it is absent."""
    path = DATASETS / name
    if not path.is_file():
        require_or_skip(f"real dataset {path} is absent (the shared datasets folder sits beside the repository)")
    return str(path)
