"""Each image installs leadscore with one extra (pyproject's optional-dependencies). Its command must
start with only that: an import of a package from another image's extra crashes the pod at start
(the operator once died on `import pandas` through `leadscore.cli.monitor`)."""

from __future__ import annotations

import subprocess
import sys
from functools import cache
from importlib import metadata

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

# image extra -> (a module the image's process imports, the CLI arguments of its command)
IMAGES = {
    "operator": ("leadscore.operator.main", ["operator", "run", "--help"]),
    "collector": ("leadscore.collector.app", ["collector", "--help"]),
    "console": ("leadscore.console.app", ["console", "--help"]),
    "trainer": ("leadscore.trainer.pipeline", ["train", "--help"]),
    "ray": ("leadscore.trainer.distributed.scoring", ["score", "--help"]),
    "predictor": ("leadscore.predictor.server", None),
}

BLOCKER = """
import importlib.abc, sys
BLOCKED = set(sys.argv[1].split(","))
class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (not in this image)", name=name)
        return None
sys.meta_path.insert(0, Blocker())
import importlib
importlib.import_module(sys.argv[2])
if len(sys.argv) > 3:
    from leadscore.cli.main import main
    sys.exit(main(sys.argv[3:]))
"""


def _requirements(distribution: str, extras: frozenset[str]) -> set[tuple[str, frozenset[str]]]:
    """(canonical name, extras asked for) of each requirement, e.g. ("leadscore", {"tracing"})."""
    wanted = set()
    for line in metadata.requires(distribution) or []:
        requirement = Requirement(line)
        environment = [{"extra": extra} for extra in extras or {""}]
        if requirement.marker is None or any(requirement.marker.evaluate(env) for env in environment):
            wanted.add((canonicalize_name(requirement.name), frozenset(requirement.extras)))
    return wanted


@cache
def _closure(extra: str) -> frozenset[str]:
    """Every distribution `pip install leadscore[extra]` brings (by canonical name), following
    extras an extra names too (``leadscore[tracing]`` inside ``predictor``)."""
    start = ("leadscore", frozenset({extra}))
    visited, todo = {start}, [start]
    while todo:
        name, extras = todo.pop()
        try:
            wanted = _requirements(name, extras)
        except metadata.PackageNotFoundError:
            continue
        for dependency in wanted - visited:
            visited.add(dependency)
            todo.append(dependency)
    return frozenset(name for name, _ in visited)


def _blocked_modules(extra: str) -> set[str]:
    """Top-level modules installed here only by distributions that the image does not have."""
    allowed = _closure(extra)
    blocked = set()
    for module, distributions in metadata.packages_distributions().items():
        if module.startswith("_") or module in sys.stdlib_module_names:
            continue
        if not any(canonicalize_name(d) in allowed for d in distributions):
            blocked.add(module)
    return blocked


def test_the_trainer_extra_lacks_the_servers_packages() -> None:
    """The check means something: packages of other extras are really blocked."""
    assert {"kopf", "kserve"} <= _blocked_modules("trainer")
    assert {"pandas", "sklearn", "lightgbm"} <= _blocked_modules("operator")
    assert "ray" in _blocked_modules("trainer")  # the default trainer image does not grow with Ray


def test_extras_named_inside_an_extra_are_followed() -> None:
    """The predictor and collector images carry the tracing extra they name (leadscore[tracing])."""
    tracing = {"opentelemetry-sdk", "opentelemetry-exporter-otlp-proto-http", "opentelemetry-instrumentation-fastapi"}
    assert tracing <= _closure("predictor") and tracing <= _closure("collector")
    assert not tracing & _closure("operator")


@pytest.mark.parametrize("extra", sorted(IMAGES))
def test_each_images_command_starts_with_only_its_extra(extra: str) -> None:
    module, arguments = IMAGES[extra]
    done = subprocess.run([sys.executable, "-c", BLOCKER, ",".join(sorted(_blocked_modules(extra))), module,
                           *(arguments or [])], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
