"""Playing the kubelet's part: the test control plane has none, so pods never run by themselves.

A test that needs a pod to finish (a training Job's pod, say) marks it terminated here, the way
a kubelet reports it: phase plus one terminated state per container, with the termination
message where the kubelet would copy it from ``terminationMessagePath``.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kubernetes.client import CoreV1Api, V1Pod


def job_pods(core: CoreV1Api, namespace: str, job_name: str) -> list[V1Pod]:
    """The pods the job controller created for ``job_name``."""
    selector = f"batch.kubernetes.io/job-name={job_name}"
    return list(core.list_namespaced_pod(namespace, label_selector=selector).items)


def terminated_status(
    pod: V1Pod, *, succeeded: bool, message: str = "", exit_code: int | None = None
) -> dict[str, Any]:
    """The status a kubelet would write for ``pod`` once every container has exited."""
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    code = exit_code if exit_code is not None else (0 if succeeded else 1)
    containers = [
        {
            "name": container.name,
            "image": container.image,
            "imageID": "",
            "ready": False,
            "restartCount": 0,
            "state": {"terminated": {"exitCode": code, "reason": "Completed" if succeeded else "Error",
                                     "message": message, "startedAt": now, "finishedAt": now}},
        }
        for container in pod.spec.containers
    ]
    return {"status": {"phase": "Succeeded" if succeeded else "Failed", "startTime": now,
                       "containerStatuses": containers}}


def finish_pod(core: CoreV1Api, pod: V1Pod, *, succeeded: bool = True, message: str = "",
               exit_code: int | None = None) -> None:
    """Report ``pod`` as exited (exit 0 / 1 unless ``exit_code``) with ``message`` as termination message."""
    body = terminated_status(pod, succeeded=succeeded, message=message, exit_code=exit_code)
    core.patch_namespaced_pod_status(pod.metadata.name, pod.metadata.namespace, body)


def ready_status(pod: V1Pod, pod_ip: str = "10.1.0.10") -> dict[str, Any]:
    """The status a kubelet would write once every container of ``pod`` runs and is ready."""
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    containers = [{"name": c.name, "image": c.image, "imageID": "", "ready": True, "started": True,
                   "restartCount": 0, "state": {"running": {"startedAt": now}}} for c in pod.spec.containers]
    conditions = [{"type": kind, "status": "True", "lastTransitionTime": now}
                  for kind in ("PodScheduled", "Initialized", "ContainersReady", "Ready")]
    return {"status": {"phase": "Running", "startTime": now, "podIP": pod_ip, "hostIP": "127.0.0.1",
                       "conditions": conditions, "containerStatuses": containers}}


def make_ready(core: CoreV1Api, pod: V1Pod) -> None:
    """Report ``pod`` as running and ready (what lets a Deployment become available)."""
    core.patch_namespaced_pod_status(pod.metadata.name, pod.metadata.namespace, ready_status(pod))
