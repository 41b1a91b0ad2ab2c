"""Pure builders: a CR (and the operator's settings) in, a Kubernetes manifest out.

Every handler that creates or patches a child calls one of these and sends the dict with one
API call, so what the operator asks of the cluster is unit-tested without a cluster. Owner
references are added by the handler (``kopf.adopt``), not here.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from typing import Any

from leadscore.api.abexperiment import RULES, experiment_salt, splits_in_kserve
from leadscore.api.common import Resources, Toleration
from leadscore.api.conditions import PINNED_VERSION_MISSING
from leadscore.api.hyperparameters import params_to_json
from leadscore.api.leadscoringmodel import (
    ExperimentBinding,
    LeadScoringModelSpec,
    LeadScoringModelStatus,
    TrafficTarget,
)
from leadscore.api.results import registered_model_name
from leadscore.api.wire import RAY_VERSION, TRACE_CONTEXT_HEADERS
from leadscore.errors import PERMANENT_EXIT_CODES
from leadscore.operator.deployment_mode import KNATIVE, can_split, normalize
from leadscore.operator.settings import OperatorSettings
from leadscore.operator.versions import (
    COMPONENT_LABEL,
    EXPERIMENT_ANNOTATION,
    MANAGED_BY,
    MODEL_LABEL,
    VERSION_LABEL,
    job_name,
)

TRAINER_CONTAINER = "trainer"
TERMINATION_LOG = "/dev/termination-log"
GPU_RESOURCE = "nvidia.com/gpu"
MOUNTED_MODEL_DIR = "/mnt/models"
ISVC_API_VERSION = "serving.kserve.io/v1beta1"
IMAGE_USER = 10001
"""The numeric USER of the leadscore images (trainer/ and predictor/ Dockerfiles): set explicitly so
``runAsNonRoot`` holds even for a ``spec.training.image`` built without a numeric USER."""
SCRATCH_DIR = "/tmp"
"""The one writable path of a trainer pod (an emptyDir): the root filesystem is read-only."""
SCRATCH_VOLUME = {"name": "tmp", "emptyDir": {"sizeLimit": "4Gi"}}

POD_SECURITY_CONTEXT: dict[str, Any] = {
    "runAsNonRoot": True, "runAsUser": IMAGE_USER, "runAsGroup": IMAGE_USER, "fsGroup": IMAGE_USER,
    "seccompProfile": {"type": "RuntimeDefault"},
}
"""Pod-level settings Pod Security ``restricted`` requires (non-root, the runtime's seccomp profile)."""
CONTAINER_SECURITY_CONTEXT: dict[str, Any] = {
    "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": True,
    "readOnlyRootFilesystem": True, "seccompProfile": {"type": "RuntimeDefault"},
}
"""Container-level settings of ``restricted``, plus a read-only root filesystem."""


class ServingError(Exception):
    """The spec asks for something that cannot be served (e.g. a pinned version that is gone)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _labels(model: str, version: str, component: str) -> dict[str, str]:
    return {MODEL_LABEL: model, VERSION_LABEL: version, COMPONENT_LABEL: component, **MANAGED_BY}


def _resources(resources: Resources, gpu: int) -> dict[str, Any]:
    """Requests/limits as a Pod wants them; GPUs are limits (the device plugin's rule)."""
    out: dict[str, Any] = {}
    if resources.requests:
        out["requests"] = {k: str(v) for k, v in resources.requests.items()}
    limits = {k: str(v) for k, v in resources.limits.items()}
    if gpu > 0:
        limits[GPU_RESOURCE] = str(gpu)
    if limits:
        out["limits"] = limits
    return out


def _placement(node_selector: dict[str, str], tolerations: list[Toleration], gpu: int,
               settings: OperatorSettings) -> dict[str, Any]:
    """nodeSelector/tolerations, plus the cluster's GPU node labels and taints when GPUs are asked for."""
    selector = {**(settings.gpu_node_selector if gpu > 0 else {}), **node_selector}
    wanted = [*tolerations, *(settings.gpu_tolerations if gpu > 0 else [])]
    unique = list({json.dumps(t.to_wire(), sort_keys=True): t.to_wire() for t in wanted}.values())
    out: dict[str, Any] = {}
    if selector:
        out["nodeSelector"] = selector
    if unique:
        out["tolerations"] = unique
    return out


def _env_from(settings: OperatorSettings, *, mlflow: bool) -> list[dict[str, Any]]:
    """S3 (and MLflow) configuration by reference: credentials never pass through the CR.
    ``optional`` so a cluster that configures S3 another way (IRSA, a node role) still works."""
    refs: list[dict[str, Any]] = []
    pairs = [(settings.s3_config_map, "configMapRef"), (settings.s3_secret, "secretRef")]
    if mlflow:
        pairs += [(settings.mlflow_config_map, "configMapRef"), (settings.mlflow_secret, "secretRef")]
    for name, kind in pairs:
        if name:
            refs.append({kind: {"name": name, "optional": True}})
    return refs


def trainer_args(namespace: str, model: str, version: str, output: str,
                 spec: LeadScoringModelSpec, champion: str | None = None, termination_log: bool = True) -> list[str]:
    """The trainer CLI's arguments (trainer/CONTRACT.md): one option per spec field, and the
    serving version's artifact (``champion``) to be scored on the same test rows."""
    dataset, training = spec.dataset, spec.training
    args = [
        "train",
        "--data", dataset.uri,
        "--target", dataset.target_column,
        "--vertical", spec.vertical,
        "--output", output,
        "--model-name", model,
        "--registered-model", registered_model_name(namespace, model),
        "--version", version,
        "--algorithms", ",".join(training.algorithms),
        "--trials", str(training.trials),
        "--time-budget", str(training.time_budget_seconds),
        "--seed", str(training.seed),
        "--valid-fraction", repr(training.validation_fraction),
        "--test-fraction", repr(training.test_fraction),
        *(["--cv-folds", str(training.cv_folds)] if training.cv_folds is not None else []),
        *(["--feature-sample", str(training.feature_sample)] if training.feature_sample is not None else []),
        "--device", "cuda" if training.gpu > 0 else "cpu",
        "--scoring", spec.scoring.to_json(),
        "--mlflow-experiment", f"{namespace}/{model}",
        *(["--termination-log", TERMINATION_LOG] if termination_log else []),
    ]
    if dataset.id_column:
        args += ["--id-column", dataset.id_column]
    if dataset.time_column:
        args += ["--time-column", dataset.time_column]
    if dataset.format != "auto":
        args += ["--format", dataset.format]
    for column in dataset.exclude_columns:
        args += ["--exclude", column]
    for column in dataset.post_outcome_columns:
        args += ["--post-outcome", column]
    for column in dataset.text_columns:
        args += ["--text-col", column]
    if dataset.text_columns:
        args += ["--text-max-features", str(dataset.text_max_features)]
    if dataset.allow_leaky:
        args.append("--allow-leaky")
    if dataset.targets is not None:
        args += ["--targets", dataset.targets.model_dump_json(by_alias=True)]
    args.append("--ensemble" if training.ensemble else "--no-ensemble")
    if training.params:
        args += ["--params", params_to_json(training.params)]
    if champion:
        args += ["--champion", champion]
    return args


def _trainer_container(namespace: str, model: str, version: str, image: str, resources: Resources, gpu: int,
                       settings: OperatorSettings, name: str = TRAINER_CONTAINER) -> dict[str, Any]:
    """A trainer container without its command: image, env (the S3 and MLflow ConfigMaps and Secrets
    by reference), resources, security context and the scratch volume. The Job's pod and a RayJob's
    head and workers all use it."""
    return {
        "name": name,
        "image": image,
        "env": [
            {"name": "LEADSCORE_NAMESPACE", "value": namespace},
            {"name": "LEADSCORE_MODEL", "value": model},
            {"name": "LEADSCORE_VERSION", "value": version},
            {"name": "LEADSCORE_JOB", "value": job_name(model, version)},
            # Libraries that cache under $HOME (MLflow, matplotlib) write to the scratch volume.
            {"name": "HOME", "value": SCRATCH_DIR},
            {"name": "TMPDIR", "value": SCRATCH_DIR},
        ],
        "envFrom": _env_from(settings, mlflow=True),
        "resources": _resources(resources, gpu),
        "securityContext": CONTAINER_SECURITY_CONTEXT,
        "volumeMounts": [{"name": SCRATCH_VOLUME["name"], "mountPath": SCRATCH_DIR}],
        "workingDir": SCRATCH_DIR,
    }


def _trainer_pod_spec(container: dict[str, Any], gpu: int, spec: LeadScoringModelSpec,
                      settings: OperatorSettings, restart: str = "Never") -> dict[str, Any]:
    """The pod around a trainer container: security context, scratch volume, placement, service account."""
    training = spec.training
    pod_spec: dict[str, Any] = {
        "restartPolicy": restart,
        "securityContext": POD_SECURITY_CONTEXT,
        "containers": [container],
        "volumes": [SCRATCH_VOLUME],
        **_placement(training.node_selector, training.tolerations, gpu, settings),
    }
    if settings.trainer_service_account:
        pod_spec["serviceAccountName"] = settings.trainer_service_account
    return pod_spec


def training_job_manifest(namespace: str, model: str, version: str, output: str,
                          spec: LeadScoringModelSpec, settings: OperatorSettings,
                          champion: str | None = None) -> dict[str, Any]:
    """The batch/v1 Job that trains ``version`` of ``model`` and writes it to ``output``
    (scoring ``champion``, the serving version's artifact, on the same test rows)."""
    training = spec.training
    labels = _labels(model, version, "trainer")
    image = training.image or (settings.trainer_gpu_image if training.gpu > 0 else settings.trainer_image)
    container = {
        **_trainer_container(namespace, model, version, image, training.resources, training.gpu, settings),
        "command": ["leadscore"],
        "args": trainer_args(namespace, model, version, output, spec, champion),
        "terminationMessagePath": TERMINATION_LOG,
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": job_name(model, version), "namespace": namespace, "labels": labels},
        "spec": {
            "backoffLimit": training.backoff_limit,
            "activeDeadlineSeconds": training.active_deadline_seconds,
            "ttlSecondsAfterFinished": training.ttl_seconds_after_finished,
            "podFailurePolicy": {"rules": [{
                "action": "FailJob",
                "onExitCodes": {"containerName": TRAINER_CONTAINER, "operator": "In",
                                "values": list(PERMANENT_EXIT_CODES)},
            }]},
            "template": {"metadata": {"labels": labels},
                         "spec": _trainer_pod_spec(container, training.gpu, spec, settings)},
        },
    }


RAY_API_VERSION = "ray.io/v1"
RAY_HEAD_CONTAINER = "ray-head"
RAY_WORKER_CONTAINER = "ray-worker"
RAY_SUBMITTER_CONTAINER = "ray-job-submitter"
RAY_WORKER_GROUP = "workers"
RAY_DASHBOARD_PORT = 8265
"""The head's dashboard (Ray's job API, and ``/api/gcs_healthz``); KubeRay's default port."""
RAY_AGENT_PORT = 52365
"""Each Ray node's dashboard agent (``/api/local_raylet_healthz``); Ray's default port."""
RAY_SUBMITTER_RESOURCES = {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}}
"""``ray job submit`` and ``ray job logs --follow`` only: a CLI waiting on the head's job API."""


def _http_probe(port: int, path: str, *, delay: int, failures: int) -> dict[str, Any]:
    return {"httpGet": {"path": path, "port": port}, "initialDelaySeconds": delay, "periodSeconds": 5,
            "timeoutSeconds": 2, "failureThreshold": failures}


def _ray_probes(head: bool) -> dict[str, Any]:
    """Ray's own health endpoints as HTTP probes. Left unset, KubeRay injects ``bash -c "wget ... |
    grep success"`` exec probes, which need wget in the image (the trainer-ray image, built on
    python:3.11-slim, has none: its pods never turned Ready on a real node). The head's readiness
    is the GCS (through the dashboard), its liveness and a worker's are the node's raylet."""
    raylet = RAY_AGENT_PORT, "/api/local_raylet_healthz"
    ready = (RAY_DASHBOARD_PORT, "/api/gcs_healthz") if head else raylet
    return {"readinessProbe": _http_probe(*ready, delay=5, failures=12),
            "livenessProbe": _http_probe(*raylet, delay=30, failures=24)}


def _ray_submitter(namespace: str, model: str, version: str, image: str, labels: dict[str, str],
                   settings: OperatorSettings) -> dict[str, Any]:
    """The pod of KubeRay's submitter Job (``ray job submit`` to the head, then its logs). KubeRay's
    default has no security context (Pod Security ``restricted`` refuses it) and asks for half a
    CPU; this one is the trainer pod's security, scratch volume and env, with KubeRay filling in the
    command. No ConfigMaps or Secrets: the driver runs on the head, with the head's env."""
    container = {
        **_trainer_container(namespace, model, version, image, Resources(), 0, settings, RAY_SUBMITTER_CONTAINER),
        "envFrom": [], "resources": RAY_SUBMITTER_RESOURCES,
    }
    return {"metadata": {"labels": labels},
            "spec": {"restartPolicy": "Never", "securityContext": POD_SECURITY_CONTEXT,
                     "containers": [container], "volumes": [SCRATCH_VOLUME]}}


def ray_job_manifest(namespace: str, model: str, version: str, output: str, spec: LeadScoringModelSpec,
                     settings: OperatorSettings, champion: str | None = None) -> dict[str, Any]:
    """The KubeRay ``RayJob`` of ``spec.training.engine: ray``: a Ray cluster (a head and one worker
    group sized from ``spec.training.ray``, trainer-ray pods built like the Job's) that runs
    ``leadscore train --engine ray`` with the Job's arguments, and is deleted when it finishes.
    KubeRay adds ``ray start`` as the containers' command, and the Ray ports."""
    training = spec.training
    ray = training.ray_cluster()
    labels = _labels(model, version, "trainer")
    image = training.image or settings.trainer_ray_image
    head = {**_trainer_container(namespace, model, version, image, ray.head.resources, 0, settings,
                                 RAY_HEAD_CONTAINER), **_ray_probes(head=True)}
    worker = {**_trainer_container(namespace, model, version, image, ray.worker.resources, ray.gpu_per_worker,
                                   settings, RAY_WORKER_CONTAINER), **_ray_probes(head=False)}
    args = [*trainer_args(namespace, model, version, output, spec, champion, termination_log=False),
            "--engine", "ray", *(["--parallel-trials", str(ray.parallel_trials)] if ray.parallel_trials > 1 else [])]
    return {
        "apiVersion": RAY_API_VERSION,
        "kind": "RayJob",
        "metadata": {"name": job_name(model, version), "namespace": namespace, "labels": labels},
        "spec": {
            "entrypoint": shlex.join(["leadscore", *args]),
            "shutdownAfterJobFinishes": True,
            "ttlSecondsAfterFinished": training.ttl_seconds_after_finished,
            "activeDeadlineSeconds": training.active_deadline_seconds,
            "backoffLimit": training.backoff_limit,
            "submissionMode": "K8sJobMode",
            "submitterPodTemplate": _ray_submitter(namespace, model, version, image, labels, settings),
            "rayClusterSpec": {
                "rayVersion": RAY_VERSION,
                "headGroupSpec": {
                    "rayStartParams": {},
                    "template": {"metadata": {"labels": labels},
                                 "spec": _trainer_pod_spec(head, 0, spec, settings, restart="Always")},
                },
                "workerGroupSpecs": [{
                    "groupName": RAY_WORKER_GROUP,
                    "replicas": ray.workers, "minReplicas": ray.workers, "maxReplicas": ray.workers,
                    "rayStartParams": {},
                    "template": {"metadata": {"labels": labels},
                                 "spec": _trainer_pod_spec(worker, ray.gpu_per_worker, spec, settings,
                                                           restart="Always")},
                }],
            },
        },
    }


@dataclass(frozen=True)
class ServingPlan:
    """What the InferenceService should serve, worked out from the model's spec and status."""

    version: str
    storage_uri: str
    mode: str
    """KServe deployment mode of the InferenceService (deployment_mode.STANDARD or KNATIVE)."""
    canary_traffic_percent: int | None = None
    experiment: ExperimentBinding | None = None
    traffic: list[TrafficTarget] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    note: str = ""
    """Why the plan differs from what the spec asks (said in the Serving condition)."""


def _artifact(status: LeadScoringModelStatus, version: str, what: str) -> str:
    found = next((v for v in status.versions if v.version == version), None)
    if found is None or found.artifacts_deleted:
        known = ", ".join(v.version for v in status.versions if not v.artifacts_deleted) or "none"
        raise ServingError(PINNED_VERSION_MISSING,
                           f"{what} {version} has no artifacts (versions available: {known})")
    return found.artifact_uri


def _split(control: str, treatment: str, percent: int) -> list[TrafficTarget]:
    return [TrafficTarget(version=control, percent=100 - percent),
            TrafficTarget(version=treatment, percent=percent)]


def plan_serving(namespace: str, spec: LeadScoringModelSpec, status: LeadScoringModelStatus,
                 *, mode: str) -> ServingPlan | None:
    """None until a version exists. A pinned version wins over everything (it is the rollback
    lever); then a running experiment's split; then the active version, with the configured
    canary share when there is a previous version to split with and KServe's deployment
    ``mode`` can split (Knative); in Standard mode the new version takes all traffic, and the
    plan's note says so."""
    pinned = spec.serving.pinned_version
    experiment = status.experiment if pinned is None else None
    if experiment is not None:
        percent = experiment.traffic_percent
        traffic = _split(experiment.control, experiment.treatment, percent)
        if splits_in_kserve(experiment.assignment, experiment.control, experiment.treatment):
            return ServingPlan(mode=mode, version=experiment.treatment,
                               storage_uri=_artifact(status, experiment.treatment, "treatment"),
                               canary_traffic_percent=percent, experiment=experiment, traffic=traffic)
        mounted = experiment.control if experiment.control != RULES else experiment.treatment
        arm_uri = {arm: RULES if arm == RULES else (MOUNTED_MODEL_DIR if arm == mounted
                                                     else _artifact(status, arm, "arm"))
                   for arm in (experiment.control, experiment.treatment)}
        env = {
            "LEADSCORE_AB_EXPERIMENT": experiment.name,
            "LEADSCORE_AB_CONTROL_URI": arm_uri[experiment.control],
            "LEADSCORE_AB_TREATMENT_URI": arm_uri[experiment.treatment],
            "LEADSCORE_AB_TREATMENT_PERCENT": str(percent),
            "LEADSCORE_AB_SALT": experiment_salt(namespace, experiment.name),
        }
        return ServingPlan(mode=mode, version=mounted, storage_uri=_artifact(status, mounted, "arm"),
                           experiment=experiment, traffic=traffic, env=env)
    served = pinned or status.active_version
    if served is None:
        return None
    uri = _artifact(status, served, "spec.serving.pinnedVersion" if pinned else "active version")
    canary = spec.serving.canary_traffic_percent
    previous = status.previous_version
    if pinned is None and canary is not None and canary < 100 and previous and previous != served:
        if can_split(mode):
            return ServingPlan(mode=mode, version=served, storage_uri=uri, canary_traffic_percent=canary,
                               traffic=_split(previous, served, canary))
        note = (f"spec.serving.canaryTrafficPercent {canary} is not applied: KServe splits traffic "
                f"between versions only in Knative mode and this InferenceService runs in {mode} mode, "
                f"so {served} serves all of it")
        return ServingPlan(mode=mode, version=served, storage_uri=uri, note=note,
                           traffic=[TrafficTarget(version=served, percent=100)])
    return ServingPlan(mode=mode, version=served, storage_uri=uri, traffic=[TrafficTarget(version=served, percent=100)])


PROMETHEUS_SCRAPING = "serving.kserve.io/enable-prometheus-scraping"
METRIC_AGGREGATION = "serving.kserve.io/enable-metric-aggregation"


def metrics_annotations(mode: str, http_port: int) -> dict[str, str]:
    """How Prometheus finds the predictor's /metrics, per KServe deployment mode.

    KServe's scraping annotation points ``prometheus.io/port`` at Knative's queue-proxy (9091,
    or 9088 with metric aggregation, which also scrapes our container): right in Knative mode.
    In Standard mode there is no queue-proxy, so that port would be dead (the real controller
    shows it); there the annotation is turned off and the predictor's own port is named."""
    if normalize(mode) == KNATIVE:
        return {PROMETHEUS_SCRAPING: "true", METRIC_AGGREGATION: "true", "prometheus.io/scrape": "true"}
    return {PROMETHEUS_SCRAPING: "false", "prometheus.io/scrape": "true",
            "prometheus.io/port": str(http_port), "prometheus.io/path": "/metrics"}


def inference_service_manifest(namespace: str, model: str, spec: LeadScoringModelSpec, plan: ServingPlan,
                               settings: OperatorSettings) -> dict[str, Any]:
    """The KServe InferenceService for ``plan``: our runtime, its storageUri, logger to the collector."""
    serving = spec.serving
    env = {"LEADSCORE_SCORING": spec.scoring.to_json(), **plan.env}
    if serving.gpu > 0:
        env["LEADSCORE_DEVICE"] = "cuda"
    model_spec: dict[str, Any] = {
        "modelFormat": {"name": settings.model_format},
        "runtime": settings.runtime,
        "storageUri": plan.storage_uri,
        "env": [{"name": k, "value": v} for k, v in env.items()],
    }
    resources = _resources(serving.resources, serving.gpu)
    if resources:
        model_spec["resources"] = resources
    if plan.experiment is not None and plan.env:
        model_spec["envFrom"] = _env_from(settings, mlflow=False)
    predictor: dict[str, Any] = {
        "minReplicas": serving.replicas,
        "maxReplicas": max(serving.max_replicas, serving.replicas, 1),
        "logger": {"mode": "all", "url": f"{settings.collector_url.rstrip('/')}/v1/events",
                   "metadataAnnotations": [EXPERIMENT_ANNOTATION],
                   # the CRM's trace context, so the collector's span joins its trace (docs/monitoring.md)
                   "metadataHeaders": list(TRACE_CONTEXT_HEADERS)},
        "model": model_spec,
        # Pod-level half of Pod Security ``restricted``; the runtime's container carries the rest.
        "securityContext": POD_SECURITY_CONTEXT,
        **_placement({}, [], serving.gpu, settings),
    }
    if plan.canary_traffic_percent is not None:
        predictor["canaryTrafficPercent"] = plan.canary_traffic_percent
    if settings.predictor_service_account:
        predictor["serviceAccountName"] = settings.predictor_service_account
    if settings.storage_container:
        predictor["storageContainerName"] = settings.storage_container
    annotations = metrics_annotations(plan.mode, settings.runtime_http_port)
    if plan.experiment is not None:
        annotations[EXPERIMENT_ANNOTATION] = plan.experiment.name
    metadata: dict[str, Any] = {"name": model, "namespace": namespace,
                                "labels": _labels(model, plan.version, "predictor"), "annotations": annotations}
    return {"apiVersion": ISVC_API_VERSION, "kind": "InferenceService", "metadata": metadata,
            "spec": {"predictor": predictor}}
