"""Where the console reads from: CR status (apiserver), the model card (artifact store) and the
collector's summaries and lead history. Nothing is stored here; every page reads fresh."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote

import httpx
from kubernetes import client

from leadscore.api.crd import AB_EXPERIMENT, LEAD_SCORING_MODEL, VERSION
from leadscore.api.summary import ExperimentSummary, TierSummary
from leadscore.api.wire import GROUP
from leadscore.errors import StorageError
from leadscore.store import artifacts

MODELS, EXPERIMENTS = LEAD_SCORING_MODEL.plural, AB_EXPERIMENT.plural
CARD_FILE = "model_card.json"  # written by the trainer next to model.onnx


class Sources:
    """Reads with the console's own identity; the app decides what the user may see."""

    def __init__(self, api: client.ApiClient, collector_url: str | None, timeout: float = 5.0,
                 summary_seconds: float = 30.0) -> None:
        self._objects = client.CustomObjectsApi(api)
        self._collector = collector_url.rstrip("/") if collector_url else None
        self._timeout = timeout
        self._summary_seconds = summary_seconds
        self._aggregates: dict[str, tuple[float, Any]] = {}

    def models(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self._objects.list_cluster_custom_object(GROUP, VERSION, MODELS)["items"]  # type: ignore[index]
        return items

    def model(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self._get(namespace, MODELS, name)

    def experiments(self, namespace: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self._objects.list_namespaced_custom_object(  # type: ignore[index]
            GROUP, VERSION, namespace, EXPERIMENTS)["items"]
        return items

    def experiment(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self._get(namespace, EXPERIMENTS, name)

    def _get(self, namespace: str, plural: str, name: str) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = self._objects.get_namespaced_custom_object(  # type: ignore[assignment]
                GROUP, VERSION, namespace, plural, name)
            return found
        except client.ApiException as error:
            if error.status == 404:
                return None
            raise

    @staticmethod
    def card(artifact_uri: str) -> dict[str, Any] | None:
        """The version's model card, or None when its artifacts are gone (retention) or unreadable."""
        try:
            return json.loads(artifacts.read_bytes(artifacts.join(artifact_uri, CARD_FILE)))
        except (StorageError, ValueError):
            return None

    def summary(self, namespace: str, name: str, token: str) -> ExperimentSummary | None:
        """The collector's experiment summary (reused for ``summary_seconds``, see ``_aggregate``)."""
        data = self._aggregate(f"/v1/experiments/{quote(namespace, safe='')}/{quote(name, safe='')}/summary", token)
        return ExperimentSummary.model_validate(data) if data is not None else None

    def tiers(self, namespace: str, service: str, token: str, days: int = 30) -> TierSummary | None:
        """Leads per tier the model's InferenceService (named after the model) scored lately."""
        data = self._aggregate(f"/v1/models/{quote(namespace, safe='')}/{quote(service, safe='')}/tiers?days={days}",
                               token)
        return TierSummary.model_validate(data) if data is not None else None

    def _aggregate(self, path: str, token: str) -> dict[str, Any] | None:
        """A collector aggregate, asked with the user's ``token`` and reused for ``summary_seconds``: the
        collector computes it over every matching prediction per request (an experiment summary takes
        about 1.3 s per 100,000), and the operator itself evaluates experiments minutes apart, so seconds
        of staleness change nothing. Reuse across users is safe because the console shows an aggregate
        only after the same right (``get`` on the experiment or model) passed for the user."""
        cached = self._aggregates.get(path)
        if cached and time.monotonic() - cached[0] < self._summary_seconds:
            return cached[1]
        data = self._get_json(path, token)
        self._aggregates[path] = (time.monotonic(), data)
        return data

    def lead(self, namespace: str, lead_id: str, token: str) -> dict[str, Any] | None:
        """One lead of ``namespace`` (lead ids of two namespaces never mix), asked with the user's own
        bearer ``token``: the collector judges it (TokenReview and SubjectAccessReview on ``get
        outcomes.leadscoring.io``), so the console never reads a history its user may not."""
        return self._get_json(f"/v1/namespaces/{quote(namespace, safe='')}/leads/{quote(lead_id, safe='')}",
                              token)

    def _get_json(self, path: str, token: str | None = None) -> dict[str, Any] | None:
        if self._collector is None:
            return None
        headers = {"Authorization": f"Bearer {token}"} if token else None
        response = httpx.get(self._collector + path, headers=headers, timeout=self._timeout)
        if response.status_code == 404:
            return None
        if response.status_code in (401, 403):
            raise CollectorRefusedError(_error_message(response))
        response.raise_for_status()
        return response.json()


class CollectorRefusedError(Exception):
    """The collector refused the user's token (401) or right (403); the message says which."""


def _error_message(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"])
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code}"
