"""validate_records: one RecordError naming the record, the field and the value."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from leadscore.errors import InvalidInputError
from leadscore.features import LeadFeatures, RecordError


@pytest.fixture(scope="module")
def fitted() -> LeadFeatures:
    from leadscore.data import DatasetSpec, infer_schema

    frame = pd.DataFrame({
        "lead_id": [f"L{i}" for i in range(120)],
        "pages_visited": [i % 9 for i in range(120)],
        "score_delta": [i - 60.0 for i in range(120)],
        "mobile": [i % 2 == 0 for i in range(120)],
        "source": ["web", "referral", "partner"] * 40,
        "created_at": pd.date_range("2025-01-01", periods=120, freq="D"),
        "notes": [f"spoke with the lead about option {i} and a follow up call" for i in range(120)],
        "converted": [i % 3 == 0 for i in range(120)],
    })
    schema = infer_schema(frame, DatasetSpec(target="converted", id_column="lead_id", time_column="created_at"))
    return LeadFeatures(schema).fit(frame.drop(columns=["converted"]), frame["converted"])


GOOD = {"lead_id": "L1", "pages_visited": 3, "score_delta": -4.5, "mobile": True, "source": "web",
        "created_at": "2025-02-01T10:00:00Z", "notes": "call back"}


def test_validate_records_accepts_good_and_sparse_records(fitted: LeadFeatures) -> None:
    fitted.validate_records([GOOD, {"lead_id": 7}, {**GOOD, "pages_visited": None, "extra": 1}])


@pytest.mark.parametrize(("change", "message"), [
    ({"pages_visited": -3}, "instances[1].pages_visited: expected a number >= 0, got -3"),
    ({"pages_visited": "many"}, "instances[1].pages_visited: expected a number >= 0, got 'many'"),
    ({"pages_visited": math.inf}, "instances[1].pages_visited: expected a finite number >= 0, got inf"),
    ({"pages_visited": True}, "instances[1].pages_visited: expected a number >= 0, got True"),
    ({"score_delta": [1]}, "instances[1].score_delta: expected a number, got [1]"),
    ({"mobile": "maybe"}, "instances[1].mobile: expected true/false (or 1/0, yes/no), got 'maybe'"),
    ({"source": {"name": "web"}}, "instances[1].source: expected a string, got {'name': 'web'}"),
    ({"created_at": "last tuesday"}, "instances[1].created_at: expected an ISO-8601 timestamp, got 'last tuesday'"),
    ({"created_at": 1700000000}, "instances[1].created_at: expected an ISO-8601 timestamp, got 1700000000"),
    ({"notes": 42}, "instances[1].notes: expected a string, got 42"),
    ({"lead_id": None}, "instances[1].lead_id: required field is null"),
    ({"lead_id": ""}, "instances[1].lead_id: expected a non-empty id, got ''"),
    ({"lead_id": 1.5}, "instances[1].lead_id: expected a string or integer id, got 1.5"),
])
def test_validate_records_names_record_field_and_value_when_bad(
    fitted: LeadFeatures, change: dict, message: str
) -> None:
    with pytest.raises(RecordError) as info:
        fitted.validate_records([GOOD, {**GOOD, **change}])
    assert str(info.value) == message
    assert info.value.index == 1 and info.value.field == next(iter(change))
    assert isinstance(info.value, InvalidInputError)


def test_validate_records_requires_lead_id(fitted: LeadFeatures) -> None:
    record = {k: v for k, v in GOOD.items() if k != "lead_id"}
    with pytest.raises(RecordError, match=r"^instances\[0\]\.lead_id: required field is missing$"):
        fitted.validate_records([record])


def test_validate_records_refuses_non_object_record(fitted: LeadFeatures) -> None:
    with pytest.raises(RecordError, match=r"^instances\[2\]: expected an object, got list$"):
        fitted.validate_records([GOOD, GOOD, [1, 2]])


def test_validate_records_refuses_unknown_field_only_when_strict(fitted: LeadFeatures) -> None:
    fitted.validate_records([{**GOOD, "favourite_colour": "blue"}])
    with pytest.raises(RecordError, match=r"instances\[0\]\.favourite_colour: unknown field \(strict mode\)"):
        fitted.validate_records([{**GOOD, "favourite_colour": "blue"}], strict=True)


def test_validate_records_accepts_numeric_strings_and_boolean_words(fitted: LeadFeatures) -> None:
    fitted.validate_records([{**GOOD, "pages_visited": "12", "mobile": "no", "source": 3}])
