"""The operator's only door to the Kubernetes API (besides kopf's own watching and events).

Thin on purpose: each method is one or two API calls on plain dicts; deciding what to send
happens in the pure modules. 409 on create means "someone (maybe our previous self) already
made it": the existing object is read back, which is what makes every handler idempotent.
"""

from __future__ import annotations

import json
import os
from typing import Any, cast

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from leadscore.api.crd import LEAD_SCORING_MODEL, VERSION
from leadscore.api.wire import GROUP
from leadscore.operator.builders import ISVC_API_VERSION
from leadscore.operator.observe import job_outcome
from leadscore.operator.versions import COMPONENT_LABEL, MODEL_LABEL

ISVC_GROUP, ISVC_VERSION = ISVC_API_VERSION.split("/")
ISVC_PLURAL = "inferenceservices"
FIELD_MANAGER = "leadscore-operator"
"""The operator's name in the children's ``metadata.managedFields`` (server-side apply)."""
APPLY_PATCH = "application/apply-patch+yaml"


def load_api_client() -> client.ApiClient:
    """In-cluster credentials when running in a Pod, else ``$KUBECONFIG`` / ``~/.kube/config``."""
    try:
        config.load_incluster_config()  # type: ignore[no-untyped-call]
        return client.ApiClient()
    except config.ConfigException:
        # read $KUBECONFIG now: the client library resolves its default path once, at import
        loaded = config.new_client_from_config(config_file=os.environ.get("KUBECONFIG"))  # type: ignore[no-untyped-call]
        return cast(client.ApiClient, loaded)


def _missing(exc: ApiException) -> bool:
    return bool(exc.status == 404)


def _object(value: object) -> dict[str, Any]:
    """An API object as the client library returns it untyped: a JSON object."""
    if not isinstance(value, dict):
        raise TypeError(f"expected a Kubernetes object (a dict), got {type(value).__name__}")
    return value


class Kube:
    """Jobs, Pods, InferenceServices and our own CRs, as plain camelCase dicts."""

    def __init__(self, api: client.ApiClient) -> None:
        self._api = api
        self._batch = client.BatchV1Api(api)
        self._core = client.CoreV1Api(api)
        self._custom = client.CustomObjectsApi(api)

    def _plain(self, obj: Any) -> dict[str, Any]:
        return _object(self._api.sanitize_for_serialization(obj))  # type: ignore[no-untyped-call]

    # Jobs and their pods -------------------------------------------------------------------

    def create_job(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """Create the Job, or return the one of that name that already exists."""
        namespace = manifest["metadata"]["namespace"]
        try:
            return self._plain(self._batch.create_namespaced_job(namespace, cast(Any, manifest)))
        except ApiException as exc:
            if exc.status != 409:
                raise
        return self._plain(self._batch.read_namespaced_job(manifest["metadata"]["name"], namespace))

    def read_job(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            return self._plain(self._batch.read_namespaced_job(name, namespace))
        except ApiException as exc:
            if _missing(exc):
                return None
            raise

    def unfinished_training_jobs(self, namespace: str, model: str) -> list[dict[str, Any]]:
        """Training Jobs of ``model`` still running, found by label (how a restart adopts them)."""
        selector = f"{MODEL_LABEL}={model},{COMPONENT_LABEL}=trainer"
        jobs = self._batch.list_namespaced_job(namespace, label_selector=selector).items
        return [job for job in map(self._plain, jobs) if job_outcome(job).state == "Running"
                and not (job.get("metadata") or {}).get("deletionTimestamp")]

    def job_pods(self, namespace: str, job: str) -> list[dict[str, Any]]:
        pods = self._core.list_namespaced_pod(namespace, label_selector=f"batch.kubernetes.io/job-name={job}")
        return [self._plain(pod) for pod in pods.items]

    # InferenceServices -------------------------------------------------------------------

    def config_map_data(self, namespace: str, name: str) -> dict[str, str] | None:
        """A ConfigMap's data; None when it is absent or the operator may not read it (a
        cluster without KServe's ConfigMap, or RBAC that does not grant it)."""
        try:
            return dict(self._core.read_namespaced_config_map(name, namespace).data or {})
        except ApiException as exc:
            if exc.status in (403, 404):
                return None
            raise

    def read_isvc(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            return _object(self._custom.get_namespaced_custom_object(ISVC_GROUP, ISVC_VERSION, namespace,
                                                                     ISVC_PLURAL, name))
        except ApiException as exc:
            if _missing(exc):
                return None
            raise

    def apply_isvc(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """Server-side apply as ``FIELD_MANAGER``, forced: the fields in ``manifest`` become the
        operator's (and those it set before but omits now are removed), while fields KServe's
        webhook defaults or another manager sets are left alone. An unchanged apply changes
        nothing (no new resourceVersion), so applying on every pass causes no churn."""
        meta = manifest["metadata"]
        # raw answer: the client library decodes only a 200, and an apply that creates answers 201
        raw: Any = self._custom.patch_namespaced_custom_object(
            ISVC_GROUP, ISVC_VERSION, meta["namespace"], ISVC_PLURAL, meta["name"], manifest,
            field_manager=FIELD_MANAGER, force=True, _content_type=APPLY_PATCH, _preload_content=False)
        return _object(json.loads(raw.data))

    # LeadScoringModels (read by the experiment handlers; kopf patches their status) -----------

    def read_model(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            return _object(self._custom.get_namespaced_custom_object(GROUP, VERSION, namespace,
                                                                     LEAD_SCORING_MODEL.plural, name))
        except ApiException as exc:
            if _missing(exc):
                return None
            raise
