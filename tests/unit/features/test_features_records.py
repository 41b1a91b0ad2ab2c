"""The serving path: records -> matrix equals the DataFrame path; the JSON spec round-trips exactly."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from leadscore.data import DatasetSpec, drop_ground_truth, synth, validate
from leadscore.features import FeatureSpec, LeadFeatures


@pytest.fixture(scope="module")
def fitted() -> LeadFeatures:
    frame = synth.generate("health", 3000, seed=4)
    spec = DatasetSpec(target="converted", id_column="lead_id", time_column="created_at")
    clean, schema = validate(frame, spec)
    return LeadFeatures(schema).fit(clean, clean["converted"])


@pytest.fixture(scope="module")
def records() -> list[dict]:
    """Fresh leads as a CRM would post them (JSON types), with missing and odd values mixed in."""
    frame = drop_ground_truth(synth.generate("health", 400, seed=5)).drop(columns=["converted"])
    rows = json.loads(frame.to_json(orient="records", date_format="iso"))
    rng = np.random.default_rng(0)
    fields = list(rows[0])
    weird = [None, "", "  ", "n/a", "7", 3, 2.5, True, "yes", float("inf"), [1, 2], {"a": 1}, "2025-13-45"]
    for row in rows:
        for name in rng.choice(fields, 4, replace=False):
            row[str(name)] = weird[rng.integers(len(weird))]
        if rng.random() < 0.3:
            row.pop(str(rng.choice(fields)), None)
    rows[0]["source"] = "a source never seen"
    rows[1]["insurance_type"] = "pet"
    rows[2]["created_at"] = "2025-06-01T09:30:00+02:00"
    return rows


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


def test_transform_records_equals_dataframe_path_with_missing_unseen_and_odd_values(
    fitted: LeadFeatures, records: list[dict]
) -> None:
    from_records = fitted.transform_records(records)
    assert _same(from_records, fitted.transform(pd.DataFrame(records)))
    assert from_records.dtype == np.float32


def test_transform_records_equals_dataframe_path_on_typed_frame(fitted: LeadFeatures) -> None:
    frame = drop_ground_truth(synth.generate("health", 300, seed=6))
    assert _same(fitted.transform_records(frame.to_dict("records")), fitted.transform(frame))


def test_transform_records_gives_same_row_alone_and_in_batch(fitted: LeadFeatures, records: list[dict]) -> None:
    batch = fitted.transform_records(records)
    for index in (0, 1, 2, 17):
        assert _same(fitted.transform_records(records[index:index + 1]), batch[index:index + 1])


def test_transform_records_treats_empty_record_as_all_missing(fitted: LeadFeatures) -> None:
    row = fitted.transform_records([{}])[0]
    names = list(fitted.feature_names_out_)
    assert math.isnan(row[names.index("applicant_age")])
    assert row[names.index("applicant_age__missing")] == 1
    assert row[names.index("source=__other__")] == 1
    assert fitted.transform_records([]).shape == (0, len(names))


def test_transform_records_reads_python_datetimes_like_iso_strings(fitted: LeadFeatures) -> None:
    when = datetime(2025, 6, 1, 7, 30, tzinfo=UTC)
    a = fitted.transform_records([{"created_at": when}])
    b = fitted.transform_records([{"created_at": "2025-06-01T07:30:00Z"}])
    c = fitted.transform_records([{"created_at": pd.Timestamp("2025-06-01 07:30")}])
    assert _same(a, b) and _same(a, c)


def test_feature_spec_round_trips_json_bit_identically(fitted: LeadFeatures, records: list[dict]) -> None:
    text = json.dumps(fitted.to_spec())
    reloaded = LeadFeatures.from_spec(json.loads(text))
    assert list(reloaded.feature_names_out_) == list(fitted.feature_names_out_)
    assert reloaded.feature_origin_ == fitted.feature_origin_
    frame = pd.DataFrame(records)
    assert _same(reloaded.transform(frame), fitted.transform(frame))
    assert _same(reloaded.transform_records(records), fitted.transform_records(records))
    spec = FeatureSpec.model_validate_json(text)  # the predictor's way, without scikit-learn
    assert _same(spec.transform_records(records), fitted.transform_records(records))
    assert spec.model_dump(mode="json") == fitted.to_spec()


def test_feature_spec_carries_input_contract(fitted: LeadFeatures) -> None:
    fields = {f.name: f for f in fitted.spec_.inputs}
    assert fields["lead_id"].kind == "id" and fields["lead_id"].required
    assert not fields["applicant_age"].required
    assert fields["pages_visited"].kind == "numeric" and fields["pages_visited"].minimum == 0
    assert fields["created_at"].kind == "datetime"
    assert "medicare" in fields["insurance_type"].categories
    assert "converted" not in fields and "true_probability" not in fields
    assert fitted.spec_.id_field == "lead_id"


def test_transform_records_is_fast_for_one_lead(fitted: LeadFeatures, records: list[dict]) -> None:
    """Budget, not benchmark: ~50 us on an idle core; 2 ms leaves room for a loaded CI box."""
    import time

    spec = fitted.spec_
    one = records[3:4]
    spec.transform_records(one)
    started = time.perf_counter()
    for _ in range(200):
        spec.transform_records(one)
    assert (time.perf_counter() - started) / 200 < 2e-3


def test_feature_spec_refuses_unknown_version(fitted: LeadFeatures) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=r"feature_spec\.json version 9 is not supported"):
        FeatureSpec.model_validate({**fitted.to_spec(), "version": 9})
