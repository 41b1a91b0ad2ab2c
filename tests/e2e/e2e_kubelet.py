"""The kubelet's part in the end-to-end test: run a training Job's container as a local process.

The test control plane has no kubelet, so the Job's pod stays Pending until somebody plays
one. This does what a kubelet does with the pod spec the operator wrote, nothing more: it
resolves the container's ``env`` and ``envFrom`` (ConfigMaps and Secrets read from the
namespace, ``optional`` honoured), maps the image's entry point onto the project's console
script, points ``terminationMessagePath`` at a local file, runs the container, and reports
the exit code and the termination message on the pod, after which kube-controller-manager's
job controller marks the Job Complete or Failed.
"""

from __future__ import annotations

import base64
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support.kubelet import finish_pod, job_pods
from support.polling import eventually

TRAINING_TIMEOUT_S = 300


def _source_data(core: Any, namespace: str, ref: dict[str, Any], kind: str) -> dict[str, str]:
    """The key/values of an ``envFrom`` ConfigMap or Secret; {} for a missing optional one."""
    from kubernetes.client.exceptions import ApiException

    try:
        if kind == "configMapRef":
            return dict(core.read_namespaced_config_map(ref["name"], namespace).data or {})
        secret = core.read_namespaced_secret(ref["name"], namespace)
        return {k: base64.b64decode(v).decode() for k, v in (secret.data or {}).items()}
    except ApiException as exc:
        if exc.status == 404 and ref.get("optional"):
            return {}
        raise


def container_env(core: Any, namespace: str, container: dict[str, Any]) -> dict[str, str]:
    """``envFrom`` first, then ``env`` on top (values, or keys of a Secret or ConfigMap), as the
    kubelet orders them."""
    env: dict[str, str] = {}
    for source in container.get("envFrom") or ():
        for kind in ("configMapRef", "secretRef"):
            if kind in source:
                env.update(_source_data(core, namespace, source[kind], kind))
    for item in container.get("env") or ():
        reference = item.get("valueFrom") or {}
        for key, kind in (("secretKeyRef", "secretRef"), ("configMapKeyRef", "configMapRef")):
            if key in reference:
                env[item["name"]] = _source_data(core, namespace, reference[key], kind)[reference[key]["key"]]
                break
        else:
            env[item["name"]] = item.get("value", "")
    return env


def local_executable(name: str) -> str:
    """The image's entry point (``leadscore``, ``python``) from the test's own virtualenv."""
    if name in ("python", "python3"):
        return sys.executable
    return str(Path(sys.executable).parent / name)


def base_env(home: Path) -> dict[str, str]:
    """What any container starts with: a PATH and a HOME, never the test process's variables."""
    return {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(home)}


@dataclass(frozen=True)
class PodRun:
    exit_code: int
    termination_message: str
    log: Path


def run_job_pod(cluster: Any, job_name: str, workdir: Path) -> PodRun:
    """Run the one pod the job controller made for ``job_name`` and report it terminated."""
    pods = eventually(lambda: job_pods(cluster.core, cluster.namespace, job_name),
                      what=f"the pod of job {job_name}", timeout=60)
    pod = pods[0]
    spec = cluster.core.api_client.sanitize_for_serialization(pod.spec)
    (container,) = spec["containers"]
    workdir.mkdir(parents=True, exist_ok=True)
    termination = workdir / "termination-log"
    args = [arg.replace(container["terminationMessagePath"], str(termination)) for arg in container["args"]]
    command = [local_executable(container["command"][0]), *container["command"][1:], *args]
    env = {**base_env(workdir), **container_env(cluster.core, cluster.namespace, container)}
    log = workdir / "container.log"
    with log.open("wb") as out:
        done = subprocess.run(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=workdir,
                              timeout=TRAINING_TIMEOUT_S, check=False)
    message = termination.read_text() if termination.exists() else log.read_text()[-4096:]
    finish_pod(cluster.core, pod, succeeded=done.returncode == 0, message=message,
               exit_code=done.returncode)
    return PodRun(exit_code=done.returncode, termination_message=message, log=log)

