"""KServe's part in the end-to-end test: serve an InferenceService the operator rendered, and log.

No KServe controller runs, so the test does what it would do with the ISVC:

- the *storage initializer*: KServe's own ``kserve_storage.Storage.download`` copies the
  ISVC's ``storageUri`` into the directory that stands for ``/mnt/models``;
- the *runtime container*: the ``leadscore`` ClusterServingRuntime of ``manifests/serving``
  (its args and env, ``{{.Name}}`` filled in), the ISVC's ``env``/``envFrom`` on top, run as
  ``python -m leadscore.predictor``. The only changes are the ones a pod's network namespace
  makes unnecessary: free loopback ports and ``--host 127.0.0.1``, and ``/mnt/models`` mapped
  onto the local directory;
- *readiness*: the runtime's readinessProbe path, then the ISVC's status (URL, Ready) as the
  KServe controller reports it, which the operator mirrors into the model's status;
- the *inference logger* (``spec.predictor.logger``): each request and response is posted
  to the logger URL as a binary-mode CloudEvent with the headers KServe's agent sets,
  ``ce-annotations`` carrying the annotations listed in ``metadataAnnotations``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml
from e2e_kubelet import base_env, container_env

from leadscore.collector.cloudevents import logger_headers
from leadscore.operator.settings import OperatorSettings
from support.processes import ServerProcess, free_port, http_ok, start_process, wait_until

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_MANIFEST = ROOT / "manifests" / "serving" / "clusterservingruntime.yaml"
MOUNT = "/mnt/models"
STORAGE_INITIALIZER = "import sys; from kserve_storage import Storage; Storage.download(sys.argv[1], sys.argv[2])"


def runtime_container() -> dict[str, Any]:
    """The predictor container of the ``leadscore`` ClusterServingRuntime."""
    runtime = yaml.safe_load(RUNTIME_MANIFEST.read_text())
    return next(c for c in runtime["spec"]["containers"] if c["name"] == "kserve-container")


@dataclass
class Predictor:
    name: str
    url: str
    process: ServerProcess

    def predict(self, leads: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
        """V1 ``:predict``; returns the request body and the response body."""
        body = {"instances": leads}
        response = httpx.post(f"{self.url}/v1/models/{self.name}:predict", json=body, timeout=60)
        assert response.status_code == 200, response.text
        return body, response.json()


def _storage_initialize(uri: str, destination: Path, env: dict[str, str], log: Path) -> None:
    with log.open("wb") as out:
        done = subprocess.run([sys.executable, "-c", STORAGE_INITIALIZER, uri, str(destination)], env=env,
                              stdout=out, stderr=subprocess.STDOUT, timeout=120, check=False)
    assert done.returncode == 0, f"storage initializer failed for {uri}:\n{log.read_text()[-3000:]}"


def _runtime_args(args: list[str], name: str, model_dir: Path, http_port: int, grpc_port: int) -> list[str]:
    ports = {"--http_port": str(http_port), "--grpc_port": str(grpc_port)}
    out = []
    for arg in args:
        flag, _, value = arg.partition("=")
        value = ports.get(flag, value.replace("{{.Name}}", name).replace(MOUNT, str(model_dir)))
        out.append(f"{flag}={value}")
    return [*out, "--host=127.0.0.1"]


def serve_isvc(cluster: Any, isvc: dict[str, Any], workdir: Path) -> Predictor:
    """Start the runtime for ``isvc`` as KServe would; report it Ready on the ISVC's status."""
    name = isvc["metadata"]["name"]
    model = isvc["spec"]["predictor"]["model"]
    container = runtime_container()
    model_dir = workdir / "mnt-models"
    workdir.mkdir(parents=True, exist_ok=True)
    # KServe binds the storage initializer's S3 credentials through a ServiceAccount; here the
    # namespace's S3 ConfigMap/Secret (the ones the operator points trainers at) stand in for it.
    settings = OperatorSettings()
    credentials = [{"configMapRef": {"name": settings.s3_config_map}}, {"secretRef": {"name": settings.s3_secret}}]
    s3 = container_env(cluster.core, cluster.namespace, {"envFrom": credentials})
    _storage_initialize(model["storageUri"], model_dir, {**base_env(workdir), **s3},
                        workdir / "storage-initializer.log")
    env = {**base_env(workdir), **container_env(cluster.core, cluster.namespace, {"env": container.get("env")}),
           **container_env(cluster.core, cluster.namespace, model)}
    env = {key: value.replace(MOUNT, str(model_dir)) if value.startswith(MOUNT) else value
           for key, value in env.items()}
    http_port, grpc_port = free_port(), free_port()
    args = _runtime_args(container["args"], name, model_dir, http_port, grpc_port)
    process = start_process(f"predictor {name}", [sys.executable, "-m", "leadscore.predictor", *args],
                            workdir / "predictor.log", env=env, cwd=workdir)
    url = f"http://127.0.0.1:{http_port}"
    probe = container["readinessProbe"]["httpGet"]["path"]
    try:
        wait_until(lambda: http_ok(url + probe), what=f"predictor {name} ready at {url}", timeout=180,
                   process=process)
    except BaseException:
        process.stop()
        raise
    cluster.patch_isvc_status(name, {
        "url": f"http://{name}.{cluster.namespace}.example.com",
        "conditions": [{"type": "Ready", "status": "True"}],
        "components": {"predictor": {"traffic": [{"latestRevision": True, "percent": 100}]}},
    })
    return Predictor(name=name, url=url, process=process)


def log_inference(isvc: dict[str, Any], request: dict[str, Any], response: dict[str, Any]) -> list[dict[str, Any]]:
    """Post one request/response pair as KServe's agent does for the logger's ``mode``; returns
    the collector's answers, one per posted half."""
    logger = isvc["spec"]["predictor"]["logger"]
    annotations = isvc["metadata"].get("annotations") or {}
    listed = {key: annotations[key] for key in logger.get("metadataAnnotations") or () if key in annotations}
    halves = {"request": request, "response": response}
    logged = {"all": ("request", "response"), "request": ("request",), "response": ("response",)}[logger["mode"]]
    event_id = str(uuid.uuid4())
    answers = []
    for kind in logged:
        headers = logger_headers(event_id, kind, inference_service=isvc["metadata"]["name"],
                                 namespace=isvc["metadata"]["namespace"], source="http://localhost:9081/",
                                 annotations=listed)
        answer = httpx.post(logger["url"], content=json.dumps(halves[kind]), headers=headers, timeout=60)
        assert answer.status_code == 200, answer.text
        answers.append(answer.json())
    return answers
