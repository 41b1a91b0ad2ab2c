"""Small Kubernetes shapes both resources reuse: quantities, resources, tolerations, versions."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, WithJsonSchema

from leadscore.api.base import ApiModel

VERSION_PATTERN = r"^v[1-9][0-9]*$"
"""Model versions are ``v1``, ``v2``, ... in training order (see ``leadscore.operator.versions``)."""

QUANTITY_PATTERN = (r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))"
                    r"(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$")
Quantity = Annotated[
    int | str,
    WithJsonSchema({
        "x-kubernetes-int-or-string": True,
        "anyOf": [{"type": "integer"}, {"type": "string"}],
        "pattern": QUANTITY_PATTERN,
    }),
]
"""A Kubernetes resource quantity (``2``, ``500m``, ``4Gi``)."""


class Resources(ApiModel):
    """Container resource requests and limits, as in a Pod spec (GPUs have their own field)."""

    requests: dict[str, Quantity] = Field(
        default_factory=dict, description="Minimum resources, e.g. {cpu: 500m, memory: 1Gi}.")
    limits: dict[str, Quantity] = Field(
        default_factory=dict, description="Maximum resources, e.g. {cpu: 2, memory: 4Gi}.")


class Toleration(ApiModel):
    """A Pod toleration, e.g. for tainted GPU nodes."""

    key: str | None = Field(None, description="Taint key to tolerate; empty with Exists tolerates all.")
    operator: Literal["Exists", "Equal"] = Field("Equal", description="Exists or Equal.")
    value: str | None = Field(None, description="Taint value to match when operator is Equal.")
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = Field(
        None, description="Taint effect to tolerate; empty tolerates all effects.")
    toleration_seconds: int | None = Field(
        None, ge=0, description="For NoExecute: how long the pod stays bound after the taint appears.")
