"""Why a training Job's pod cannot run, read from the pod statuses the kubelet and scheduler write.

A Job whose pod cannot start never fails by itself until its ``activeDeadlineSeconds``: the pod
waits on an image that cannot be pulled, or stays Pending because no node fits it. These rules
turn such a pod status into a finding the reconciler shows on the LeadScoringModel:

- ``permanent``: retrying cannot help (the image cannot be pulled or is never pulled, the trainer
  ran out of memory under the same limit the next pod gets): fail the training now.
- ``stalled``: the scheduler cannot place the pod (``PodScheduled=False``, ``Unschedulable``),
  which a node being added or freed may cure: wait, up to the operator's grace period.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

IMAGE_REASONS = frozenset({"ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName"})
"""Waiting reasons of a container whose image the kubelet cannot get."""
OOM_KILLED = "OOMKilled"
UNSCHEDULABLE = "Unschedulable"


@dataclass(frozen=True)
class PodTrouble:
    kind: Literal["permanent", "stalled"]
    reason: str
    """The kubelet's or scheduler's own word: ErrImagePull, ImagePullBackOff, ErrImageNeverPull,
    InvalidImageName, OOMKilled or Unschedulable."""
    message: str
    since: str | None = None
    """For ``stalled``: when the scheduler first said so (the condition's lastTransitionTime)."""


def _containers(pod: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    status = pod.get("status") or {}
    return [*(status.get("initContainerStatuses") or ()), *(status.get("containerStatuses") or ())]


def _image_trouble(pod_name: str, container: Mapping[str, Any]) -> PodTrouble | None:
    waiting = (container.get("state") or {}).get("waiting") or {}
    if waiting.get("reason") not in IMAGE_REASONS:
        return None
    detail = " ".join(str(waiting.get("message") or "").split())
    return PodTrouble("permanent", str(waiting["reason"]),
                      f"pod {pod_name}: container {container.get('name')} cannot get image "
                      f"{container.get('image')}" + (f": {detail}" if detail else ""))


def _oom_trouble(pod_name: str, container: Mapping[str, Any]) -> PodTrouble | None:
    for state in ("state", "lastState"):
        terminated = (container.get(state) or {}).get("terminated") or {}
        if terminated.get("reason") == OOM_KILLED:
            return PodTrouble("permanent", OOM_KILLED,
                              f"pod {pod_name}: container {container.get('name')} was killed for exceeding its "
                              f"memory limit (OOMKilled, exit code {terminated.get('exitCode')}); raise "
                              "spec.training.resources.limits.memory or train on less data")
    return None


def _scheduling_trouble(pod_name: str, pod: Mapping[str, Any]) -> PodTrouble | None:
    for condition in (pod.get("status") or {}).get("conditions") or ():
        if (condition.get("type") == "PodScheduled" and condition.get("status") == "False"
                and condition.get("reason") == UNSCHEDULABLE):
            detail = " ".join(str(condition.get("message") or "no node fits it").split())
            return PodTrouble("stalled", UNSCHEDULABLE, f"pod {pod_name} cannot be scheduled: {detail}",
                              since=condition.get("lastTransitionTime"))
    return None


def pod_trouble(pods: Sequence[Mapping[str, Any]]) -> PodTrouble | None:
    """The trouble of the newest pod of a Job that has one (permanent before stalled), else None."""
    newest_first = sorted(pods, key=lambda p: (p.get("metadata") or {}).get("creationTimestamp") or "",
                          reverse=True)
    stalled: PodTrouble | None = None
    for pod in newest_first:
        name = str((pod.get("metadata") or {}).get("name") or "?")
        for container in _containers(pod):
            found = _image_trouble(name, container) or _oom_trouble(name, container)
            if found is not None:
                return found
        stalled = stalled or _scheduling_trouble(name, pod)
    return stalled
