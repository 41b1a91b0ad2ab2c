"""The leadscore chart under test: its folder and a helm runner.

The chart's ``templates/crd-*.yaml`` are generated from ``leadscore.api`` (``make crds``) and
committed; tests/unit/api/test_crd.py fails when they are stale, so the chart tests render
exactly what a release contains.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from support.tools import REPO

CHART = REPO / "charts" / "leadscore"


class HelmError(RuntimeError):
    """helm exited non-zero; the message is its stderr."""


@dataclass(frozen=True)
class Helm:
    binary: Path
    env: Mapping[str, str] | None = None

    def run(self, *args: str, timeout: float = 120) -> str:
        """Run ``helm args...``; its stdout, or HelmError carrying stderr."""
        done = subprocess.run([str(self.binary), *args], capture_output=True, text=True,
                              timeout=timeout, env=None if self.env is None else dict(self.env))
        if done.returncode != 0:
            raise HelmError(done.stderr.strip() or done.stdout.strip())
        return done.stdout

    def template(self, chart: Path, *, release: str = "demo", namespace: str = "leadscore",
                 values_files: Sequence[Path] = (), set_values: Sequence[str] = (),
                 api_versions: Sequence[str] = (), include_crds: bool = False) -> list[dict[str, Any]]:
        """``helm template`` parsed into its objects (empty documents dropped)."""
        args = ["template", release, str(chart), "--namespace", namespace]
        if include_crds:
            args.append("--include-crds")
        for path in values_files:
            args += ["--values", str(path)]
        for assignment in set_values:
            args += ["--set", assignment]
        for version in api_versions:
            args += ["--api-versions", version]
        return [doc for doc in yaml.safe_load_all(self.run(*args)) if doc]


def chart_object(helm_bin: Path, template: str, *values: str) -> dict[str, Any]:
    """The one object ``templates/<template>`` renders in a default install (``values``: ``--set``)."""
    args = ["template", "demo", str(CHART), "--show-only", f"templates/{template}"]
    for value in values:
        args += ["--set", value]
    return next(doc for doc in yaml.safe_load_all(Helm(helm_bin).run(*args)) if doc)


def find(objects: Sequence[dict[str, Any]], kind: str, name: str | None = None) -> list[dict[str, Any]]:
    """The objects of ``kind`` (and ``name``, when given)."""
    return [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]


def only(objects: Sequence[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    """The single object of ``kind`` (and ``name``); fails naming what was found instead."""
    found = find(objects, kind, name)
    if len(found) != 1:
        names = [o["metadata"]["name"] for o in find(objects, kind)]
        raise AssertionError(f"expected one {kind} {name or ''}, found {len(found)} among {names}")
    return found[0]
