"""Reads an experiment's per-arm summary from the collector (``leadscore.api.summary`` contract)."""

from __future__ import annotations

import httpx

from leadscore.api.summary import ExperimentSummary, ServingSplit
from leadscore.operator.settings import OperatorSettings


def summary_url(base: str, namespace: str, experiment: str) -> str:
    return f"{base.rstrip('/')}/v1/experiments/{namespace}/{experiment}/summary"


def fetch_summary(settings: OperatorSettings, namespace: str, experiment: str,
                  split: ServingSplit | None = None) -> ExperimentSummary:
    """GET the summary (of a KServe canary split, counted by version, when ``split`` is given);
    raises httpx.HTTPError (unreachable, non-2xx) or ValueError (bad body)."""
    response = httpx.get(summary_url(settings.collector_url, namespace, experiment),
                         params=split.to_params() if split else None, timeout=settings.http_timeout_seconds)
    response.raise_for_status()
    return ExperimentSummary.model_validate_json(response.content)
