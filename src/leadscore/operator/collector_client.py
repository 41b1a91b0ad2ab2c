"""Reads the collector: an experiment's per-arm summary (``leadscore.api.summary``) and a served
version's drift and live accuracy (``leadscore.api.health``)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from leadscore.api.health import DriftWindow, LivePerformance
from leadscore.api.summary import ExperimentSummary, ServingSplit
from leadscore.operator.health import Figures
from leadscore.operator.settings import OperatorSettings


def summary_url(base: str, namespace: str, experiment: str) -> str:
    return f"{base.rstrip('/')}/v1/experiments/{namespace}/{experiment}/summary"


def _headers(settings: OperatorSettings) -> dict[str, str]:
    """``Authorization: Bearer`` with the operator's token (its ServiceAccount's in a pod): the
    collector checks that the operator may get the experiment or model it asks about."""
    path = Path(settings.collector_token_file) if settings.collector_token_file else None
    token = path.read_text().strip() if path is not None and path.is_file() else ""
    return {"Authorization": f"Bearer {token}"} if token else {}


def fetch_summary(settings: OperatorSettings, namespace: str, experiment: str,
                  split: ServingSplit | None = None) -> ExperimentSummary:
    """GET the summary (of a KServe canary split, counted by version, when ``split`` is given);
    raises httpx.HTTPError (unreachable, non-2xx) or ValueError (bad body)."""
    response = httpx.get(summary_url(settings.collector_url, namespace, experiment),
                         params=split.to_params() if split else None, headers=_headers(settings),
                         timeout=settings.http_timeout_seconds)
    response.raise_for_status()
    return ExperimentSummary.model_validate_json(response.content)


def _get(settings: OperatorSettings, path: str, params: dict[str, str]) -> httpx.Response:
    return httpx.get(f"{settings.collector_url.rstrip('/')}{path}", params=params, headers=_headers(settings),
                     timeout=settings.http_timeout_seconds)


def _note(response: httpx.Response) -> str:
    try:
        return str(response.json().get("error") or response.status_code)
    except ValueError:
        return f"HTTP {response.status_code}"


def read_figures(settings: OperatorSettings, namespace: str, service: str, version: str, artifact: str,
                 drift_since: datetime, live_since: datetime, maturity: str) -> Figures:
    """Drift and live accuracy of one served version; what cannot be had becomes a one-line note."""
    base = f"/v1/models/{namespace}/{service}"
    figures: dict[str, Any] = {}
    for key, path, params, model in (
        ("drift", f"{base}/drift", {"version": version, "model": artifact, "since": drift_since.isoformat()},
         DriftWindow),
        ("live", f"{base}/performance", {"version": version, "since": live_since.isoformat(), "maturity": maturity},
         LivePerformance),
    ):
        try:
            response = _get(settings, path, params)
            if response.status_code == 200:
                figures[key] = model.model_validate_json(response.content)
            else:
                figures[f"{key}_note"] = _note(response)
        except (httpx.HTTPError, ValueError) as exc:
            figures[f"{key}_note"] = f"collector unavailable: {exc}"
    return Figures(**figures)
