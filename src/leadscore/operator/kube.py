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
from leadscore.api.leadscoringmodel import TrainingEngine
from leadscore.api.wire import GROUP
from leadscore.operator.builders import ISVC_API_VERSION, RAY_API_VERSION
from leadscore.operator.observe import training_outcome
from leadscore.operator.versions import COMPONENT_LABEL, MODEL_LABEL, VERSION_LABEL

ISVC_GROUP, ISVC_VERSION = ISVC_API_VERSION.split("/")
ISVC_PLURAL = "inferenceservices"
RAY_GROUP, RAY_VERSION = RAY_API_VERSION.split("/")
RAY_JOB_PLURAL = "rayjobs"
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


class KindMissingError(Exception):
    """The cluster does not serve a kind the spec needs (KubeRay's RayJob CRD is not installed)."""


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

    # Trainings (a batch/v1 Job or a KubeRay RayJob) and their pods ---------------------------

    def create_training(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """Create the Job or RayJob (by the manifest's kind), or return the one of that name that
        already exists. KindMissingError when the cluster has no RayJob kind (KubeRay not installed)."""
        meta = manifest["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        ray = manifest["kind"] == "RayJob"
        try:
            if ray:
                return _object(self._custom.create_namespaced_custom_object(
                    RAY_GROUP, RAY_VERSION, namespace, RAY_JOB_PLURAL, manifest))
            return self._plain(self._batch.create_namespaced_job(namespace, cast(Any, manifest)))
        except ApiException as exc:
            if ray and _missing(exc):
                raise KindMissingError(f"the cluster serves no {RAY_API_VERSION} RayJob (is KubeRay installed?): "
                                  f"{exc.reason}") from exc
            if exc.status != 409:
                raise
        found = self.read_training(namespace, name, "ray" if ray else "job")
        if found is None:  # deleted between the 409 and the read: the next pass creates it
            raise RuntimeError(f"{manifest['kind']} {namespace}/{name} exists and vanished at once")
        return found

    def read_training(self, namespace: str, name: str, engine: TrainingEngine) -> dict[str, Any] | None:
        """The Job (engine job) or RayJob (engine ray) of that name; None when it is gone (or,
        for a RayJob, when the cluster has no RayJob kind)."""
        try:
            if engine == "ray":
                return _object(self._custom.get_namespaced_custom_object(
                    RAY_GROUP, RAY_VERSION, namespace, RAY_JOB_PLURAL, name))
            return self._plain(self._batch.read_namespaced_job(name, namespace))
        except ApiException as exc:
            if _missing(exc):
                return None
            raise

    def unfinished_trainings(self, namespace: str, model: str,
                             engines: tuple[TrainingEngine, ...]) -> list[tuple[TrainingEngine, dict[str, Any]]]:
        """Trainings of ``model`` still running, per engine in ``engines``, found by label (how a
        restart adopts them). A cluster without the RayJob kind has no RayJobs."""
        selector = f"{MODEL_LABEL}={model},{COMPONENT_LABEL}=trainer"
        found: list[tuple[TrainingEngine, dict[str, Any]]] = []
        for engine in engines:
            if engine == "ray":
                try:
                    listed = _object(self._custom.list_namespaced_custom_object(
                        RAY_GROUP, RAY_VERSION, namespace, RAY_JOB_PLURAL, label_selector=selector))
                except ApiException as exc:
                    if _missing(exc):
                        continue
                    raise
                items = [_object(item) for item in listed.get("items") or ()]
            else:
                items = [self._plain(job) for job in
                         self._batch.list_namespaced_job(namespace, label_selector=selector).items]
            found += [(engine, item) for item in items if training_outcome(engine, item).state == "Running"
                      and not (item.get("metadata") or {}).get("deletionTimestamp")]
        return found

    def training_pods(self, namespace: str, model: str, version: str, name: str,
                      engine: TrainingEngine) -> list[dict[str, Any]]:
        """The pods of a training: the Job's (by the job controller's label), or the Ray head and
        workers KubeRay made from the RayJob's templates (by the labels the builder gave them)."""
        selector = (f"{MODEL_LABEL}={model},{VERSION_LABEL}={version},{COMPONENT_LABEL}=trainer"
                    if engine == "ray" else f"batch.kubernetes.io/job-name={name}")
        pods = self._core.list_namespaced_pod(namespace, label_selector=selector)
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
