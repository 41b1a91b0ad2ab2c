"""The base of every custom-resource model: camelCase on the wire, snake_case in Python.

``extra="forbid"`` makes the operator refuse a body with a field the schema does not know
(the apiserver prunes unknown fields, so one reaching us means the CRD and the code disagree);
the CRD generator strips the ``additionalProperties: false`` this emits, because structural
schemas leave pruning to the apiserver.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class ApiModel(BaseModel):
    """Fields are snake_case in Python, camelCase in YAML; both spellings are accepted."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
    )

    def to_wire(self) -> dict[str, Any]:
        """The camelCase dict a Kubernetes body carries (None fields left out)."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")
