from __future__ import annotations

import json

import pytest

from leadscore.api.leadscoringmodel import LeadScoringModelSpec, LeadScoringModelStatus, ModelVersion
from leadscore.operator.settings import OperatorSettings


@pytest.fixture
def settings() -> OperatorSettings:
    return OperatorSettings.from_env({"LEADSCORE_ARTIFACT_ROOT": "s3://models",
                                      "LEADSCORE_COLLECTOR_URL": "http://collector:8080/"})


@pytest.fixture
def spec() -> LeadScoringModelSpec:
    return LeadScoringModelSpec.model_validate({
        "vertical": "health",
        "dataset": {"uri": "s3://leads/health.parquet", "timeColumn": "created_at",
                    "excludeColumns": ["policy_issued"]},
        "training": {"algorithms": ["lr", "xgboost"], "trials": 5, "resources": {"requests": {"cpu": 2}}},
    })


def _version(name: str, auc: float | None = 0.8, deleted: bool = False) -> ModelVersion:
    return ModelVersion(version=name, artifact_uri=f"s3://models/ns/m/{name}/", job_name=f"m-train-{name}",
                        gate="Passed", metrics={} if auc is None else {"roc_auc": auc},
                        artifacts_deleted=deleted)


def _status(*names: str, **fields) -> LeadScoringModelStatus:
    return LeadScoringModelStatus(versions=[_version(n) for n in names], **fields)


@pytest.fixture
def version():
    """Factory: a recorded version with its artifact URI and ROC-AUC."""
    return _version


@pytest.fixture
def status():
    """Factory: a model status holding the named versions."""
    return _status


_NATIVE = {"str", "int", "float", "bool", "object", "datetime", "date"}


def _sdk_object(data, klass: str):
    """Build SDK objects field by field, refusing keys the SDK model does not declare.

    kserve's own ``ApiClient`` only looks types up in ``kserve.models``, so the Kubernetes
    types an InferenceService embeds (V1EnvVar, V1Toleration, ...) are resolved here too."""
    import re

    import kserve.models
    import kubernetes.client.models

    if data is None or klass in _NATIVE:
        return data
    if klass.lower().startswith("list["):
        return [_sdk_object(item, klass[5:-1]) for item in data]
    mapping = re.match(r"^(?:dict\(|Dict\[)[^,]*, (.*)[)\]]$", klass)
    if mapping:
        return {key: _sdk_object(value, mapping.group(1)) for key, value in data.items()}
    cls = getattr(kserve.models, klass, None) or getattr(kubernetes.client.models, klass)
    unknown = set(data) - set(cls.attribute_map.values())
    assert not unknown, f"{klass} has no field(s) {sorted(unknown)}"
    return cls(**{attr: _sdk_object(data[key], cls.openapi_types[attr])
                  for attr, key in cls.attribute_map.items() if key in data})


@pytest.fixture
def kserve_roundtrip():
    """Factory: an InferenceService dict through kserve's V1beta1InferenceService and back."""
    from kserve import ApiClient

    def without_sdk_blanks(value):
        # the SDK's V1beta1ModelSpec defaults ``name`` to "" (KServe names the container itself)
        if isinstance(value, dict):
            return {k: without_sdk_blanks(v) for k, v in value.items() if v != ""}
        if isinstance(value, list):
            return [without_sdk_blanks(v) for v in value]
        return value

    def roundtrip(manifest: dict) -> dict:
        sdk = ApiClient().sanitize_for_serialization(_sdk_object(manifest, "V1beta1InferenceService"))
        return without_sdk_blanks(sdk)

    return roundtrip


class FakeKube:
    """In-memory stand-in for ``leadscore.operator.kube.Kube`` (same methods, plain dicts)."""

    def __init__(self) -> None:
        self.jobs: dict[str, dict] = {}
        self.ray_jobs: dict[str, dict] = {}
        self.kuberay = True
        """False: the cluster serves no RayJob kind (KubeRay not installed)."""
        self.pods: dict[str, list[dict]] = {}
        self.isvcs: dict[str, dict] = {}
        self.models: dict[str, dict] = {}
        self.config_maps: dict[tuple[str, str], dict[str, str]] = {}
        self.writes: list[str] = []
        self._rv = 0

    def _version(self) -> str:
        self._rv += 1
        return str(self._rv)

    def _store(self, kind):
        return self.ray_jobs if kind == "RayJob" else self.jobs

    def create_training(self, manifest):
        from leadscore.operator.kube import KindMissingError

        if manifest["kind"] == "RayJob" and not self.kuberay:
            raise KindMissingError("the cluster serves no ray.io/v1 RayJob (is KubeRay installed?): Not Found")
        name, store = manifest["metadata"]["name"], self._store(manifest["kind"])
        if name not in store:
            self.writes.append(f"create {manifest['kind']} {name}")
            store[name] = {**manifest, "status": {}}
        return store[name]

    def read_training(self, namespace, name, engine):
        return (self.ray_jobs if engine == "ray" else self.jobs).get(name)

    def unfinished_trainings(self, namespace, model, engines):
        from leadscore.operator.observe import training_outcome

        return [(engine, j) for engine in engines for j in (self.ray_jobs if engine == "ray" else self.jobs).values()
                if j["metadata"]["labels"]["leadscoring.io/model"] == model
                and training_outcome(engine, j).state == "Running"]

    def training_pods(self, namespace, model, version, name, engine):
        return self.pods.get(name, [])

    def finish(self, job, *, succeeded=True, message=""):
        """Play the job controller and kubelet."""
        kind = "Complete" if succeeded else "Failed"
        self.jobs[job]["status"] = {"conditions": [{"type": kind, "status": "True", "reason": kind}]}
        self.pods[job] = [{"metadata": {"creationTimestamp": "2026-01-01T00:00:00Z"},
                           "status": {"containerStatuses": [
                               {"name": "trainer", "state": {"terminated": {"message": message}}}]}}]

    def read_isvc(self, namespace, name):
        return self.isvcs.get(name)

    def config_map_data(self, namespace, name):
        return self.config_maps.get((namespace, name))

    def kserve_mode(self, mode):
        """Install KServe's inferenceservice-config with ``mode`` as the cluster default."""
        self.config_maps[("kserve", "inferenceservice-config")] = {
            "deploy": json.dumps({"defaultDeploymentMode": mode})}

    def apply_isvc(self, manifest):
        """Server-side apply as the operator's only manager: its fields replace the ones it set
        before; the resourceVersion moves only when something changed."""
        name = manifest["metadata"]["name"]
        current = self.isvcs.get(name)
        if current is not None and {k: v for k, v in current.items() if k != "status"} == \
                {**manifest, "metadata": {**manifest["metadata"], "resourceVersion": current["metadata"].get(
                    "resourceVersion")}}:
            return current
        self.writes.append("apply isvc")
        self.isvcs[name] = {**manifest, "metadata": {**manifest["metadata"], "resourceVersion": self._version()},
                            **({"status": current["status"]} if current and "status" in current else {})}
        return self.isvcs[name]

    def read_model(self, namespace, name):
        return self.models.get(name)


@pytest.fixture
def kube() -> FakeKube:
    return FakeKube()
