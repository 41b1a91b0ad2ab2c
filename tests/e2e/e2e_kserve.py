"""The kubelet's part for the predictor in the end-to-end test: run the Pod the real KServe made.

The KServe controller (``kserve`` fixture) reconciles the InferenceService the operator wrote
into a Deployment; the ReplicaSet controller makes its Pod, and KServe's pod webhook adds the
storage initializer and the logger agent. With no kubelet, the test runs that Pod's
containers as local processes, taking everything from the Pod as admitted:

- the *storage-initializer* init container: its args (storageUri, /mnt/models) and its env,
  where KServe put the S3 credentials of the predictor's ServiceAccount, run through
  ``kserve_storage.Storage.download`` (the image's entry point);
- the *kserve-container*: the runtime's args and env (ours, the runtime's, KServe's), run as
  ``python -m leadscore.predictor``; the only changes are the ones a pod's network namespace
  makes unnecessary: free loopback ports and ``--host 127.0.0.1``, and ``/mnt/models`` mapped
  onto a local directory;
- *readiness*: the container's readinessProbe path answers, then the Pod is reported ready;
  KServe then marks the InferenceService Ready with its URL, which the operator mirrors;
- the *agent* sidecar (the logger): each request and response is posted to its ``--log-url``
  as a binary-mode CloudEvent with the headers KServe's agent sets, ``ce-annotations``
  carrying the ``--metadata-annotations`` KServe gave it.
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
from e2e_kubelet import base_env, container_env

from leadscore.collector.cloudevents import logger_headers
from support.kubelet import make_ready
from support.polling import eventually
from support.processes import ServerProcess, free_port, http_ok, start_process, wait_until

MOUNT = "/mnt/models"
SOURCE_URI = "internal.serving.kserve.io/storage-initializer-sourceuri"
STORAGE_INITIALIZER = "import sys; from kserve_storage import Storage; Storage.download(sys.argv[1], sys.argv[2])"


@dataclass
class Predictor:
    name: str
    url: str
    process: ServerProcess
    logger: dict[str, str]
    """The agent sidecar's arguments (``--log-url`` -> value, ...), as KServe injected them."""

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


def _runtime_args(args: list[str], model_dir: Path, http_port: int, grpc_port: int) -> list[str]:
    ports = {"--http_port": str(http_port), "--grpc_port": str(grpc_port)}
    out = []
    for arg in args:
        flag, _, value = arg.partition("=")
        out.append(f"{flag}={ports.get(flag, value.replace(MOUNT, str(model_dir)))}")
    return [*out, "--host=127.0.0.1"]


def kserve_pod(cluster: Any, isvc: dict[str, Any]) -> Any:
    """The predictor Pod KServe's Deployment made for this ISVC spec (storageUri and env)."""
    name = isvc["metadata"]["name"]
    model = isvc["spec"]["predictor"]["model"]
    wanted = {(e["name"], e.get("value")) for e in model.get("env") or ()}

    def matching() -> Any:
        pods = cluster.core.list_namespaced_pod(cluster.namespace, label_selector=f"app=isvc.{name}-predictor").items
        for pod in sorted(pods, key=lambda p: p.metadata.creation_timestamp, reverse=True):
            server = next(c for c in pod.spec.containers if c.name == "kserve-container")
            if (pod.metadata.annotations or {}).get(SOURCE_URI) == model["storageUri"] and \
                    wanted <= {(e.name, e.value) for e in server.env or ()}:
                return pod
        return None

    return eventually(matching, what=f"KServe's pod for InferenceService {name}", timeout=120)


def serve_isvc(cluster: Any, isvc: dict[str, Any], workdir: Path) -> Predictor:
    """Run the Pod KServe made for ``isvc`` and report it ready; KServe marks the ISVC Ready."""
    name = isvc["metadata"]["name"]
    pod = kserve_pod(cluster, isvc)
    spec = cluster.core.api_client.sanitize_for_serialization(pod.spec)
    containers = {c["name"]: c for c in [*spec.get("initContainers", []), *spec["containers"]]}
    model_dir = workdir / "mnt-models"
    workdir.mkdir(parents=True, exist_ok=True)
    init = containers["storage-initializer"]
    source, target = init["args"]
    assert target == MOUNT
    init_env = container_env(cluster.core, cluster.namespace, init)
    _storage_initialize(source, model_dir, {**base_env(workdir), **init_env}, workdir / "storage-initializer.log")
    server = containers["kserve-container"]
    env = {key: value.replace(MOUNT, str(model_dir)) if value.startswith(MOUNT) else value
           for key, value in container_env(cluster.core, cluster.namespace, server).items()}
    http_port, grpc_port = free_port(), free_port()
    args = _runtime_args(server["args"], model_dir, http_port, grpc_port)
    process = start_process(f"predictor {name}", [sys.executable, "-m", "leadscore.predictor", *args],
                            workdir / "predictor.log", env={**base_env(workdir), **env}, cwd=workdir)
    url = f"http://127.0.0.1:{http_port}"
    probe = server["readinessProbe"]["httpGet"]["path"]
    try:
        wait_until(lambda: http_ok(url + probe), what=f"predictor {name} ready at {url}", timeout=180,
                   process=process)
    except BaseException:
        process.stop()
        raise
    make_ready(cluster.core, pod)
    agent = containers["agent"]["args"]
    return Predictor(name=name, url=url, process=process, logger=dict(zip(agent[::2], agent[1::2], strict=True)))


def log_inference(predictor: Predictor, request: dict[str, Any], response: dict[str, Any]) -> list[dict[str, Any]]:
    """Post one request/response pair as KServe's agent does with the arguments it was given;
    returns the collector's answers, one per posted half."""
    logger = predictor.logger
    listed = dict(pair.split("=", 1) for pair in logger["--metadata-annotations"].split(",") if pair)
    halves = {"request": request, "response": response}
    logged = {"all": ("request", "response"), "request": ("request",),
              "response": ("response",)}[logger["--log-mode"]]
    event_id = str(uuid.uuid4())
    answers = []
    for kind in logged:
        headers = logger_headers(event_id, kind, inference_service=logger["--inference-service"],
                                 namespace=logger["--namespace"], source="http://localhost:9081/",
                                 annotations=listed)
        answer = httpx.post(logger["--log-url"], content=json.dumps(halves[kind]), headers=headers, timeout=60)
        assert answer.status_code == 200, answer.text
        answers.append(answer.json())
    return answers
