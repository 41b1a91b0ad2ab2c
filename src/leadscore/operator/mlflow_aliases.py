"""MLflow aliases that tell the same story as ``kubectl get lsm``: ``champion`` on the version
serving now (the active one, or the pinned one during a rollback), ``challenger`` on a running
experiment's treatment. Through MLflow's REST API (the operator image carries no MLflow client);
stages are deprecated and never used.

Level-triggered like the rest of the reconciler: each pass reads the registered model's aliases
and moves only those that differ, so a lost call is repaired on the next pass.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import httpx

from leadscore.api.abexperiment import RULES
from leadscore.api.leadscoringmodel import LeadScoringModelSpec, LeadScoringModelStatus
from leadscore.api.results import CHALLENGER_ALIAS, CHAMPION_ALIAS, registered_model_name

log = logging.getLogger(__name__)
API = "/api/2.0/mlflow"


def desired_aliases(spec: LeadScoringModelSpec, status: LeadScoringModelStatus) -> dict[str, str | None]:
    """alias -> leadscore version (None: the alias should not exist)."""
    champion = spec.serving.pinned_version or status.active_version
    treatment = status.experiment.treatment if status.experiment is not None else None
    return {CHAMPION_ALIAS: champion, CHALLENGER_ALIAS: treatment if treatment != RULES else None}


class MlflowAliases:
    """A small REST client for one tracking server (basic auth or a token from MLflow's own variables)."""

    def __init__(self, tracking_uri: str, timeout: float) -> None:
        user, password = os.environ.get("MLFLOW_TRACKING_USERNAME"), os.environ.get("MLFLOW_TRACKING_PASSWORD")
        token = os.environ.get("MLFLOW_TRACKING_TOKEN")
        self._http = httpx.Client(base_url=tracking_uri.rstrip("/") + API, timeout=timeout,
                                  auth=(user, password) if user and password else None,
                                  headers={"Authorization": f"Bearer {token}"} if token else None)

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self._http.request(method, path, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else {}

    def aliases(self, name: str) -> dict[str, str] | None:
        """alias -> MLflow version number; None when the registered model does not exist (yet)."""
        response = self._http.get("/registered-models/get", params={"name": name})
        if response.status_code == 404:
            return None
        response.raise_for_status()
        model = response.json()["registered_model"]
        return {a["alias"]: str(a["version"]) for a in model.get("aliases", [])}

    def version_of_run(self, name: str, run_id: str) -> str | None:
        found = self._call("GET", "/model-versions/search", params={"filter": f"run_id='{run_id}'"})
        return next((str(v["version"]) for v in found.get("model_versions", []) if v["name"] == name), None)

    def set_alias(self, name: str, alias: str, version: str) -> None:
        self._call("POST", "/registered-models/alias", json={"name": name, "alias": alias, "version": version})

    def delete_alias(self, name: str, alias: str) -> None:
        self._call("DELETE", "/registered-models/alias", json={"name": name, "alias": alias})


def sync_aliases(client: MlflowAliases, namespace: str, model: str, spec: LeadScoringModelSpec,
                 status: LeadScoringModelStatus) -> dict[str, str | None]:
    """Move ``champion``/``challenger`` of ``<namespace>.<model>`` to where the status says; returns
    what changed (alias -> MLflow version, None when deleted). A version without an MLflow run
    (tracking was off when it trained) leaves its alias alone."""
    name = registered_model_name(namespace, model)
    current = client.aliases(name)
    if current is None:
        return {}
    runs = {v.version: v.mlflow_run_id for v in status.versions}
    changed: dict[str, str | None] = {}
    for alias, version in desired_aliases(spec, status).items():
        if version is None:
            if alias in current:
                client.delete_alias(name, alias)
                changed[alias] = None
            continue
        run_id = runs.get(version)
        target = client.version_of_run(name, run_id) if run_id else None
        if target is not None and current.get(alias) != target:
            client.set_alias(name, alias, target)
            changed[alias] = target
    return changed


def sync_quietly(tracking_uri: str | None, timeout: float, namespace: str, model: str,
                 spec: LeadScoringModelSpec, status: LeadScoringModelStatus) -> None:
    """``sync_aliases`` when a tracking server is configured; a failure is logged and retried next
    pass (MLflow is a mirror of the status, never a reason to stop reconciling)."""
    if not tracking_uri:
        return
    client = MlflowAliases(tracking_uri, timeout)
    try:
        changed = sync_aliases(client, namespace, model, spec, status)
        if changed:
            log.info("MLflow aliases of %s: %s", registered_model_name(namespace, model), changed)
    except (httpx.HTTPError, KeyError, ValueError) as exc:
        log.warning("MLflow aliases of %s not updated: %s", registered_model_name(namespace, model), exc)
    finally:
        client.close()
