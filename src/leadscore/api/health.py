"""Model health contracts: the drift report the CLI prints and the collector serves.

``leadscore monitor drift --json`` prints a ``DriftReport``; the collector's
``GET /v1/models/{namespace}/{service}/drift`` returns a ``DriftWindow`` (the same report plus
the window it covers), which the operator reads. Thresholds and their meaning:
``leadscore.monitoring.drift`` and docs/monitoring.md.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class FieldDrift(BaseModel):
    """How far one raw input field has moved from the training reference."""

    model_config = ConfigDict(extra="forbid")

    name: str
    psi: float = Field(ge=0, description="Population stability index against the reference bins.")
    p_value: float = Field(ge=0, le=1, description="KS (numbers) or chi-square (levels, flags) test p-value.")
    drifted: bool = Field(description="psi at or above the drift threshold and p_value below alpha.")


class DriftReport(BaseModel):
    """Every profiled field, the score's PSI, and the names of the drifted fields."""

    model_config = ConfigDict(extra="forbid")

    fields: list[FieldDrift]
    score_psi: float = Field(ge=0, description="PSI of the model's probabilities against the held-out ones.")
    drifted: list[str] = Field(description="Names of the fields flagged as drifted, in field order.")


class DriftWindow(DriftReport):
    """A ``DriftReport`` over the predictions one service's version made in a time window."""

    namespace: str
    service: str
    model_version: str
    since: datetime
    until: datetime
    rows: int = Field(ge=0, description="Predictions compared (each a lead as the model saw it).")
