"""Training ranges: numbers clipped, text lengths capped, identically on the DataFrame and the
records path; leads outside the range are found; documented bounds refused (issue 19, item 3)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from leadscore.data import DatasetSpec, drop_ground_truth, synth, validate
from leadscore.features import LeadFeatures
from leadscore.features.contract import MAX_STRING_CHARS, MAX_TEXT_CHARS, RecordError


@pytest.fixture(scope="module")
def fitted() -> LeadFeatures:
    frame = synth.generate("pc", 1500, seed=3)
    spec = DatasetSpec(target="converted", id_column="lead_id", time_column="created_at")
    clean, schema = validate(frame, spec)
    return LeadFeatures(schema).fit(clean, clean["converted"])


@pytest.fixture(scope="module")
def lead() -> dict[str, object]:
    frame = drop_ground_truth(synth.generate("pc", 1, seed=9)).drop(columns=["converted"])
    values = {k: (None if pd.isna(v) else v) for k, v in frame.iloc[0].to_dict().items()}
    return values | {"created_at": "2025-03-03T10:00:00"}


def _inputs(features: LeadFeatures) -> dict[str, dict]:
    return {f.name: f.model_dump() for f in features.spec_.inputs}


def test_numeric_fields_learn_their_training_range(fitted: LeadFeatures) -> None:
    clip = _inputs(fitted)["time_on_site"]["clip"]
    assert clip is not None and 0 <= clip[0] < clip[1] < 86400


@pytest.mark.parametrize(("field", "far"), [("time_on_site", 86400.0), ("pages_visited", 1e308), ("time_on_site", 0.0)])
def test_far_out_value_encodes_as_the_clip_point_on_both_paths(
    fitted: LeadFeatures, lead: dict[str, object], field: str, far: float
) -> None:
    low, high = _inputs(fitted)[field]["clip"]
    point = high if far > high else low
    spec = fitted.spec_
    rows = [{**lead, field: point}, {**lead, field: far}]
    by_records = spec.transform_records(rows)
    by_frame = spec.transform_frame(pd.DataFrame(rows))
    assert np.array_equal(by_records[0], by_records[1])
    assert np.array_equal(by_records, by_frame)


def test_text_lengths_are_capped_at_the_longest_training_text(fitted: LeadFeatures, lead: dict[str, object]) -> None:
    encoder = next(e for e in fitted.spec_.encoders if getattr(e, "field", None) == "notes" and e.type == "text")
    assert encoder.max_chars is not None
    rows = [{**lead, "notes": "w " * int(encoder.max_chars)}, {**lead, "notes": "w " * int(encoder.max_chars + 500)}]
    by_records = fitted.spec_.transform_records(rows)
    assert np.array_equal(by_records[0], by_records[1])
    assert np.array_equal(by_records, fitted.spec_.transform_frame(pd.DataFrame(rows)))


def test_out_of_range_names_the_fields_and_leads(fitted: LeadFeatures) -> None:
    low, high = _inputs(fitted)["time_on_site"]["clip"]
    columns = {
        "time_on_site": np.array([high, high + 1, None, low], dtype=object),
        "pages_visited": np.array([1, 2, 3, 1e308], dtype=object),
        "notes": np.array(["", "x" * 100_000, None, "short"], dtype=object),
    }
    flags = fitted.spec_.out_of_range(columns, 4)
    assert flags["time_on_site"].tolist() == [False, True, False, False]
    assert flags["pages_visited"].tolist() == [False, False, False, True]
    assert flags["notes"].tolist() == [False, True, False, False]


def test_out_of_range_of_records_flags_the_same_leads(fitted: LeadFeatures) -> None:
    low, high = _inputs(fitted)["time_on_site"]["clip"]
    values = {
        "time_on_site": [high, high + 1, None, low, low - 1, " 7 ", float("nan"), float("inf"), "x", True, 1e300],
        "pages_visited": [1, 2, 3, 1e308, -5, None, "1e308", 0, 2.5, False, 10**20],
        "notes": ["", "x" * 100_000, None, "short", " ", "w " * 5000, 3, "\u3000", "a", None, "word"],
    }
    records = [dict(zip(values, row, strict=True)) for row in zip(*values.values(), strict=True)]
    records[2].pop("notes")
    by_columns = fitted.spec_.out_of_range({k: np.array(v, dtype=object) for k, v in values.items()}, len(records))
    by_records = fitted.spec_.out_of_range_records(records)
    assert by_records.keys() == by_columns.keys() == {"time_on_site", "pages_visited", "notes"}
    for name, flags in by_columns.items():
        assert by_records[name].tolist() == flags.tolist(), name


def test_a_spec_without_ranges_still_loads_and_does_not_clip(fitted: LeadFeatures, lead: dict[str, object]) -> None:
    data = fitted.spec_.model_dump()
    for field in data["inputs"]:
        field.pop("clip", None)
    for encoder in data["encoders"]:
        encoder.pop("max_chars", None)
        encoder.pop("max_words", None)
    old = type(fitted.spec_).model_validate(data)
    far = old.transform_records([{**lead, "time_on_site": 86400}, {**lead, "time_on_site": 86401}])
    assert not np.array_equal(far[0], far[1])


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("notes", "n" * (MAX_TEXT_CHARS + 1), f"expected at most {MAX_TEXT_CHARS} characters"),
        ("source", "s" * (MAX_STRING_CHARS + 1), f"expected at most {MAX_STRING_CHARS} characters"),
        ("lead_id", "i" * (MAX_STRING_CHARS + 1), f"expected at most {MAX_STRING_CHARS} characters"),
        ("time_on_site", 10**400, "expected a finite number >= 0, got an integer beyond the float range"),
    ],
)
def test_documented_bounds_are_refused_naming_the_field(
    fitted: LeadFeatures, lead: dict[str, object], field: str, value: object, problem: str
) -> None:
    with pytest.raises(RecordError) as refused:
        fitted.spec_.validate_records([{**lead, field: value}])
    assert refused.value.field == field
    assert refused.value.problem.startswith(problem)
