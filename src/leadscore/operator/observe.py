"""Pure readers of what the cluster reports: a Job's or RayJob's outcome, a trainer's result, an ISVC's state.

Kept apart from the handlers so each rule (which condition means done, which pod's message
counts, how KServe's revision traffic maps onto our versions) is unit-tested on plain dicts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pydantic

from leadscore.api.leadscoringmodel import TrafficTarget, TrainingEngine
from leadscore.api.results import TrainingResult
from leadscore.errors import reason_of_exit_code
from leadscore.operator.builders import TRAINER_CONTAINER


@dataclass(frozen=True)
class JobOutcome:
    state: Literal["Running", "Succeeded", "Failed"]
    reason: str = ""
    message: str = ""


def _true_condition(obj: Mapping[str, Any], type_: str) -> Mapping[str, Any] | None:
    for condition in (obj.get("status") or {}).get("conditions") or ():
        if condition.get("type") == type_ and condition.get("status") == "True":
            found: Mapping[str, Any] = condition
            return found
    return None


def job_outcome(job: Mapping[str, Any]) -> JobOutcome:
    """Succeeded/Failed only on the Job controller's terminal conditions (Complete / Failed);
    the interim SuccessCriteriaMet / FailureTarget still have pods terminating."""
    if _true_condition(job, "Complete") is not None:
        return JobOutcome("Succeeded")
    failed = _true_condition(job, "Failed")
    if failed is not None:
        return JobOutcome("Failed", failed.get("reason") or "Failed", failed.get("message") or "")
    return JobOutcome("Running")


EXIT_CODE = re.compile(r"exit code (\d+)")
RAY_JOB_FAILED = frozenset({"Failed", "ValidationFailed"})
"""KubeRay v1.5.0 ``status.jobDeploymentStatus`` values after which a RayJob never runs again: ``Failed``
is stored only once ``spec.backoffLimit`` retries are spent (KubeRay writes ``Retrying`` before that),
``ValidationFailed`` when KubeRay refuses the spec. ``Complete`` is the other terminal one."""


def ray_job_outcome(ray_job: Mapping[str, Any]) -> JobOutcome:
    """Succeeded only when KubeRay says the deployment is ``Complete`` and Ray's job ``SUCCEEDED``
    (``Complete`` also follows a ``STOPPED`` job, which published nothing); Failed on a terminal
    failure, with KubeRay's ``reason`` (AppFailed, SubmissionFailed, DeadlineExceeded, ...) and
    ``message``; Running otherwise (New, Initializing, Running, Retrying, Waiting, Suspended)."""
    status = ray_job.get("status") or {}
    deployment, job = status.get("jobDeploymentStatus") or "", status.get("jobStatus") or ""
    if deployment == "Complete" and job == "SUCCEEDED":
        return JobOutcome("Succeeded")
    if deployment == "Complete":
        return JobOutcome("Failed", f"Job{job.capitalize() or 'Ended'}",
                          status.get("message") or f"the Ray job ended {job or 'without a status'}")
    if deployment in RAY_JOB_FAILED:
        return JobOutcome("Failed", status.get("reason") or deployment, status.get("message") or "")
    return JobOutcome("Running")


def exit_reason(message: str) -> str | None:
    """The trainer's reason (trainer/CONTRACT.md) for the exit code in KubeRay's ``Job entrypoint
    command failed with exit code 9`` (a RayJob's driver leaves no termination message):
    ``ClusterUnavailable (exit 9)``; None without a known code."""
    found = EXIT_CODE.search(message)
    if found is None:
        return None
    reason = reason_of_exit_code(int(found.group(1)))
    return f"{reason} (exit {found.group(1)})" if reason else None


def training_outcome(engine: TrainingEngine, obj: Mapping[str, Any]) -> JobOutcome:
    """The outcome of a training Job (engine job) or RayJob (engine ray)."""
    return ray_job_outcome(obj) if engine == "ray" else job_outcome(obj)


def termination_message(pods: Sequence[Mapping[str, Any]]) -> str | None:
    """The trainer container's termination message from the newest pod that has one."""
    newest_first = sorted(pods, key=lambda p: (p.get("metadata") or {}).get("creationTimestamp") or "",
                          reverse=True)
    for pod in newest_first:
        for container in (pod.get("status") or {}).get("containerStatuses") or ():
            if container.get("name") != TRAINER_CONTAINER:
                continue
            terminated = (container.get("state") or {}).get("terminated") or {}
            if terminated.get("message"):
                return str(terminated["message"])
    return None


def parse_result(text: str | bytes | None) -> TrainingResult | None:
    """A TrainingResult from a termination message or result.json; None when it is not one
    (with FallbackToLogsOnError a crash leaves the log's tail there instead)."""
    if not text:
        return None
    try:
        return TrainingResult.model_validate_json(text)
    except pydantic.ValidationError:
        return None


def one_line(text: str, limit: int = 400) -> str:
    """Last meaningful line of a message (a log tail), trimmed for a condition."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    line = lines[-1] if lines else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


@dataclass(frozen=True)
class IsvcObservation:
    url: str | None
    ready: bool
    message: str
    traffic: list[TrafficTarget]


_CAUSES = ("PredictorReady", "IngressReady")
"""Checked before ``Ready``: KServe's Standard mode copies the ingress reason into ``Ready``
("Predictor ingress not created") while the cause, a Deployment without an available pod, is
only in ``PredictorReady`` (seen with the real controller)."""


def _why_not_ready(conditions: Sequence[Mapping[str, Any]]) -> str:
    by_type = {c.get("type"): c for c in conditions}
    for kind in (*_CAUSES, "Ready"):
        condition = by_type.get(kind)
        if condition is not None and condition.get("status") != "True":
            text = condition.get("message") or condition.get("reason")
            if text:
                return text if kind == "Ready" else f"{kind}: {text}"
    return "not reported yet"


def observe_isvc(isvc: Mapping[str, Any], served: str, expected: Sequence[TrafficTarget]) -> IsvcObservation:
    """URL, readiness and traffic per version. KServe reports traffic per revision with
    ``latestRevision`` marking the one from the current spec (``served``); the other revision is
    whichever version ``expected`` names besides it."""
    status = isvc.get("status") or {}
    ready = _true_condition(isvc, "Ready") is not None
    message = "" if ready else _why_not_ready(status.get("conditions") or ())
    others = [t.version for t in expected if t.version != served]
    traffic: list[TrafficTarget] = []
    for entry in ((status.get("components") or {}).get("predictor") or {}).get("traffic") or ():
        if entry.get("tag") and entry.get("percent") is None:
            continue
        version = served if entry.get("latestRevision") else (others[0] if others else "previous")
        traffic.append(TrafficTarget(version=version, percent=int(entry.get("percent") or 0)))
    return IsvcObservation(url=status.get("url"), ready=ready, message=message, traffic=traffic)
