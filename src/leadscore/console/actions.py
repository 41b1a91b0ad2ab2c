"""Roll back, retrain and stop an experiment, done only when the apiserver says the signed-in user
may, and recorded as an Event on the object naming that user.

The console's own ServiceAccount performs the patch (it holds ``patch`` on models and experiments), but
only after a SubjectAccessReview for the user passes: the user's rights decide, never the
console's. A refusal says which permission was missing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kubernetes import client
from pydantic import BaseModel

from leadscore.api.wire import RETRAIN_ANNOTATION
from leadscore.auth import User, review_access
from leadscore.console.sources import EXPERIMENTS, GROUP, MODELS, VERSION

COMPONENT = "leadscore-console"


class Outcome(BaseModel):
    """What the user sees after pressing a button."""

    done: bool
    message: str


class Permission(BaseModel):
    verb: str
    resource: str

    def describe(self, namespace: str) -> str:
        return f"{self.verb} {self.resource}.{GROUP} in namespace {namespace}"


PATCH_MODELS = Permission(verb="patch", resource=MODELS)
PATCH_EXPERIMENTS = Permission(verb="patch", resource=EXPERIMENTS)


def check(api: client.ApiClient, user: User, permission: Permission, namespace: str, name: str) -> Outcome | None:
    """None when ``user`` may; else the refusal, naming what RBAC must grant."""
    access = review_access(api, user, permission.verb, GROUP, permission.resource, namespace, name)
    if access.allowed:
        return None
    return Outcome(done=False, message=f"Refused: {user.username} may not {permission.describe(namespace)}. "
                                       "Ask an administrator for a Role that grants it.")


def rollback_patch(model: dict[str, Any], version: str | None) -> dict[str, Any]:
    """The spec patch that pins ``version`` (None un-pins: the active version serves again)."""
    if version is not None:
        known = {v["version"]: v for v in model.get("status", {}).get("versions", [])}
        if version not in known:
            raise ValueError(f"version {version!r} is not a trained version of this model")
        if known[version].get("artifactsDeleted"):
            raise ValueError(f"version {version!r} cannot serve: retention deleted its artifacts")
    return {"spec": {"serving": {"pinnedVersion": version}}}


def retrain_patch(now: datetime) -> dict[str, Any]:
    """A new value of the retrain annotation: the operator trains once per distinct value."""
    return {"metadata": {"annotations": {RETRAIN_ANNOTATION: now.astimezone(UTC).isoformat(timespec="seconds")}}}


def stop_patch(experiment: dict[str, Any]) -> dict[str, Any]:
    """The spec patch that ends ``experiment`` before a decision (the operator releases the model)."""
    if experiment.get("spec", {}).get("stopped") or experiment.get("status", {}).get("concluded"):
        raise ValueError(f"experiment {experiment['metadata']['name']!r} has already ended")
    return {"spec": {"stopped": True}}


def apply(api: client.ApiClient, user: User, obj: dict[str, Any], permission: Permission, patch: dict[str, Any],
          reason: str, message: str) -> Outcome:
    """Check ``permission`` (a patch) for ``user``, patch ``obj``, and record an Event on it."""
    meta = obj["metadata"]
    refused = check(api, user, permission, meta["namespace"], meta["name"])
    if refused:
        return refused
    client.CustomObjectsApi(api).patch_namespaced_custom_object(
        GROUP, VERSION, meta["namespace"], permission.resource, meta["name"], patch)
    record(api, obj, reason, f"{message} (by {user.username}, through the console)")
    return Outcome(done=True, message=message)


def record(api: client.ApiClient, obj: dict[str, Any], reason: str, message: str) -> None:
    """A Normal Event on ``obj``, so `kubectl describe` shows who did what."""
    meta = obj["metadata"]
    now = datetime.now(UTC)
    event = client.CoreV1Event(
        metadata=client.V1ObjectMeta(generate_name=f"{meta['name']}.", namespace=meta["namespace"]),
        involved_object=client.V1ObjectReference(api_version=obj["apiVersion"], kind=obj["kind"],
                                                 name=meta["name"], namespace=meta["namespace"], uid=meta["uid"]),
        reason=reason, message=message, type="Normal", first_timestamp=now, last_timestamp=now, count=1,
        source=client.V1EventSource(component=COMPONENT), reporting_component=COMPONENT,
        reporting_instance=COMPONENT)
    client.CoreV1Api(api).create_namespaced_event(meta["namespace"], event)
