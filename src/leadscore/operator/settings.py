"""The operator's settings: one pydantic-settings model read from ``LEADSCORE_*`` environment variables.

The Helm chart sets these on the operator Deployment; docs/operator.md lists them. Values that
only the cluster administrator knows (images, bucket, secret names, the collector's URL) live
here, never in a CR, so a data team cannot point a Job at another team's credentials.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from pydantic_settings import NoDecode, SettingsConfigDict

from leadscore.api.common import Toleration
from leadscore.settings import JSON_TEXT, EnvSettings


class OperatorSettings(EnvSettings):
    """Cluster-wide knobs of the operator; each field is ``LEADSCORE_<FIELD IN CAPITALS>``; JSON for
    dicts and lists; an empty value means None (so the chart can switch an optional name off)."""

    model_config = SettingsConfigDict(env_parse_none_str="")

    trainer_image: str = Field("ghcr.io/leadscore/trainer:0.1.0", min_length=1,
                               description="Trainer image for CPU training.")
    trainer_gpu_image: str = Field("ghcr.io/leadscore/trainer:0.1.0-cuda", min_length=1,
                                   description="Trainer image used when training.gpu > 0 (CUDA build).")
    trainer_ray_image: str = Field("ghcr.io/leadscore/trainer-ray:0.1.0", min_length=1,
                                   description="Image of a RayJob's head and workers (spec.training.engine ray): "
                                               "the trainer plus Ray.")
    artifact_root: str = Field("s3://leadscore", min_length=1,
                               description="Where versions go: <root>/<namespace>/<model>/<version>/.")
    collector_url: str = Field("http://leadscore-collector.leadscore.svc:8090", min_length=1,
                               description="Collector base URL: KServe logger target, experiment summaries.")
    runtime: str = Field("leadscore", min_length=1, description="ClusterServingRuntime of the predictor.")
    model_format: str = Field("leadscore", min_length=1, description="modelFormat name the runtime supports.")
    runtime_http_port: int = Field(8080, ge=1, le=65535,
                                   description="HTTP port of the predictor runtime, where it serves /metrics.")
    kserve_namespace: str = Field("kserve", min_length=1,
                                  description="Namespace of KServe's inferenceservice-config ConfigMap, "
                                              "read for the default deployment mode.")
    s3_config_map: str | None = Field("leadscore-s3", description="ConfigMap with S3 endpoint env "
                                                                  "(AWS_ENDPOINT_URL, S3_USE_HTTPS, ...).")
    s3_secret: str | None = Field("leadscore-s3", description="Secret with AWS_ACCESS_KEY_ID and "
                                                              "AWS_SECRET_ACCESS_KEY for the trainer.")
    mlflow_config_map: str | None = Field("leadscore-mlflow", description="ConfigMap with "
                                                                          "MLFLOW_TRACKING_URI.")
    mlflow_secret: str | None = Field(None, description="Secret with MLflow credentials, if any.")
    mlflow_tracking_uri: str | None = Field(None, description="MLflow server whose aliases (champion, "
                                                              "challenger) the operator keeps in step.")
    trainer_service_account: str | None = Field(None, description="ServiceAccount of trainer Pods.")
    predictor_service_account: str | None = Field(
        None, description="ServiceAccount of predictor Pods (KServe's S3 credentials are bound to it).")
    storage_container: str | None = Field(
        None, description="ClusterStorageContainer whose settings KServe merges into the storage initializer of "
                          "every predictor (InferenceService spec.predictor.storageContainerName); the chart's adds "
                          "what Pod Security restricted requires. None: KServe matches one by the storageUri.")
    gpu_node_selector: Annotated[dict[str, str], NoDecode, JSON_TEXT] = Field(
        default_factory=lambda: {"nvidia.com/gpu.present": "true"},
        description="Node labels added when a Pod asks for GPUs (JSON object).")
    gpu_tolerations: Annotated[list[Toleration], NoDecode, JSON_TEXT] = Field(
        default_factory=lambda: [Toleration(key="nvidia.com/gpu", operator="Exists", effect="NoSchedule")],
        description="Tolerations added when a Pod asks for GPUs (JSON list).")
    poll_seconds: float = Field(15.0, gt=0, le=3600, description="How often models are reconciled.")
    experiment_seconds: float = Field(300.0, gt=0, le=86400,
                                      description="How often running experiments are evaluated.")
    claim_seconds: float = Field(
        2.0, gt=0, le=3600,
        description="How often each model and experiment compares, in memory (the operator's indexes), the "
                    "experiments' claims with the split the model serves; either reconciles only when they "
                    "disagree, so an experiment's start or end reaches the InferenceService within this time.")
    health_seconds: float = Field(300.0, gt=0, le=86400,
                                  description="How often the served version's health is read from the collector "
                                              "(drift, live accuracy) and the retrain triggers evaluated.")
    training_stall_seconds: float = Field(
        600.0, gt=0, le=86400,
        description="How long a training Job's pod may stay unschedulable (PodScheduled=False, Unschedulable) "
                    "before the training fails; meanwhile Trained says why (reason Unschedulable).")
    metrics_port: int = Field(0, ge=0, le=65535,
                              description="Port of the operator's Prometheus /metrics; 0 serves none.")
    http_timeout_seconds: float = Field(10.0, gt=0, le=300, description="Timeout of collector requests.")
    collector_token_file: str | None = Field(
        "/var/run/secrets/kubernetes.io/serviceaccount/token",
        description="Bearer token the operator shows the collector (re-read on every request, so a rotated "
                    "token is picked up); none is sent while the file does not exist.")
