"""A static, read-only copy of the console's model and experiment pages, for places with no
Kubernetes API (``make demo``): the same templates and views as the live console, plotly.js
copied beside them."""

from __future__ import annotations

from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from leadscore.api.summary import ExperimentSummary
from leadscore.console import app, views

READ_ONLY = "this is a static snapshot; start the live console (docs/console.md) to act"


def _environment() -> jinja2.Environment:
    directory = resources.files("leadscore.console").joinpath("templates")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(directory)), autoescape=True)
    app.configure(env)
    return env


def write_snapshot(directory: Path, model: dict[str, Any], card: dict[str, Any] | None,
                   experiment: dict[str, Any], summary: ExperimentSummary, elapsed: timedelta) -> list[Path]:
    """``model.html`` and ``experiment.html`` (and plotly.js with its license) in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "static").mkdir(exist_ok=True)
    (directory / "static" / app.PLOTLY_FILE).write_bytes(app.plotly_js())
    (directory / "static" / app.PLOTLY_LICENSE_FILE).write_text(app.plotly_license())
    env = _environment()
    common = {"static": "static", "user": None, "csrf": "", "message": None, "refused": False,
              "why_disabled": READ_ONLY}
    pages = {
        "model.html": {**views.model_view(model, lambda _uri: card), "can_patch": False, "experiments": [experiment]},
        "experiment.html": {**views.experiment_view(experiment, summary, elapsed), "can_stop": False},
    }
    written = []
    for name, context in pages.items():
        path = directory / name
        path.write_text(env.get_template(name).render(**common, **context), encoding="utf-8")
        written.append(path)
    return written
