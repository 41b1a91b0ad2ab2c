"""Feedback a CRM reports about a lead, and how it becomes a graded training target (seed 001).

One home for what the collector, its export, the CR and the trainer share:

* ``ActionType``: the closed set of actions explicit feedback and implicit interactions name;
* the per-lead feedback columns the export writes (``FEEDBACK_PREFIX``): facts about a lead's
  feedback, never features (they are known only after the lead was worked: a leak);
* ``TargetsSpec`` (the CR's ``spec.dataset.targets``, the trainer's ``--targets``): the mapping
  from those facts to a target score in [0, 1], with seed 001's values as defaults;
* ``target_score``: that mapping, a pure function of one lead's ``LeadSignals``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from leadscore.api.base import ApiModel

ActionType = Literal["view", "contact", "convert", "archive", "rate"]
"""What a user did with a lead: looked at it, tried to contact it, converted it, archived it,
or only rated it (a rating may come with any action)."""
ACTION_TYPES: tuple[ActionType, ...] = ("view", "contact", "convert", "archive", "rate")
FeedbackSource = Literal["explicit", "implicit"]
"""``explicit``: a deliberate report (``POST .../feedback``); ``implicit``: a session's interactions."""

FEEDBACK_PREFIX = "feedback."
"""Columns of the export (and of any training set) whose name starts with this are a lead's
feedback facts: the trainer never uses them as features."""
TARGET_SCORE_COLUMN = "target_score"
"""A training set column holding a graded target in [0, 1] directly (instead of feedback facts)."""


@dataclass(frozen=True)
class LeadSignals:
    """What one lead's feedback said, reduced to the facts the mapping reads."""

    converted: bool = False
    """A ``convert`` action was reported."""
    rating: float | None = None
    """The most recent ``user_rating`` (0-100)."""
    contacted: bool = False
    """A ``contact`` action was reported."""
    contact_successful: bool = False
    """A ``contact`` reported ``contact_successful: true``."""
    longest_view_seconds: float | None = None
    quickest_archive_seconds: float | None = None
    events: int = 0
    """How many feedback rows (explicit and implicit) the lead had."""


SIGNAL_COLUMNS: dict[str, str] = {
    "converted": f"{FEEDBACK_PREFIX}converted",
    "rating": f"{FEEDBACK_PREFIX}rating",
    "contacted": f"{FEEDBACK_PREFIX}contacted",
    "contact_successful": f"{FEEDBACK_PREFIX}contact_successful",
    "longest_view_seconds": f"{FEEDBACK_PREFIX}longest_view_seconds",
    "quickest_archive_seconds": f"{FEEDBACK_PREFIX}quickest_archive_seconds",
    "events": f"{FEEDBACK_PREFIX}events",
}
"""``LeadSignals`` field -> export column."""


ORDER_MESSAGE = "expected quickArchiveSeconds < normalViewSeconds < longViewSeconds"


class TargetsSpec(ApiModel):
    """How a lead's feedback becomes the graded target the trainer learns from (seed 001's values
    by default). Set, the trainer learns from soft labels; calibration and every evaluation still
    use the binary outcome (docs/trainer.md)."""

    model_config = ConfigDict(json_schema_extra={"x-kubernetes-validations": [
        {"rule": "self.quickArchiveSeconds < self.normalViewSeconds && self.normalViewSeconds < self.longViewSeconds",
         "message": ORDER_MESSAGE}]})

    conversion: float = Field(1.0, ge=0, le=1, description="A converted lead (outcome or convert action).")
    successful_contact: float = Field(0.9, ge=0, le=1, description="A contact reported successful.")
    contact_attempt: float = Field(0.7, ge=0, le=1, description="A contact without success reported.")
    long_view: float = Field(0.7, ge=0, le=1, description="A view of at least longViewSeconds.")
    normal_view: float = Field(0.5, ge=0, le=1, description="A view of at least normalViewSeconds.")
    quick_archive: float = Field(0.2, ge=0, le=1, description="An archive within quickArchiveSeconds.")
    long_view_seconds: float = Field(300, gt=0, le=86400, description="Seconds a long view lasts at least.")
    normal_view_seconds: float = Field(120, gt=0, le=86400, description="Seconds a normal view lasts at least.")
    quick_archive_seconds: float = Field(30, gt=0, le=86400, description="Seconds a quick archive lasts at most.")
    use_rating: bool = Field(True, description="A user_rating (0-100) gives rating/100 as the target, as-is.")

    @model_validator(mode="after")
    def _ordered(self) -> TargetsSpec:
        if not self.quick_archive_seconds < self.normal_view_seconds < self.long_view_seconds:
            raise ValueError(ORDER_MESSAGE)
        return self


def target_score(signals: LeadSignals, converted: bool, targets: TargetsSpec) -> float:
    """One lead's target in [0, 1]: the first rule that applies, in this order.

    1. converted (the binary outcome, or a convert action): ``conversion``;
    2. a rating (``use_rating``): the latest rating / 100, as-is;
    3. a successful contact: ``successful_contact``; 4. a contact: ``contact_attempt``;
    5. an archive within ``quick_archive_seconds``: ``quick_archive`` (a rejection outranks views);
    6. a view of ``long_view_seconds``: ``long_view``; of ``normal_view_seconds``: ``normal_view``;
    7. nothing else: 0, the binary outcome (not converted).
    """
    if converted or signals.converted:
        return targets.conversion
    if targets.use_rating and signals.rating is not None and math.isfinite(signals.rating):
        return min(max(signals.rating / 100.0, 0.0), 1.0)
    if signals.contact_successful:
        return targets.successful_contact
    if signals.contacted:
        return targets.contact_attempt
    archive = signals.quickest_archive_seconds
    if archive is not None and archive <= targets.quick_archive_seconds:
        return targets.quick_archive
    view = signals.longest_view_seconds
    if view is not None and view >= targets.long_view_seconds:
        return targets.long_view
    if view is not None and view >= targets.normal_view_seconds:
        return targets.normal_view
    return 0.0
