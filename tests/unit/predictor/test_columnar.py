"""The batch fast path accepts only what the features contract accepts, and encodes identically."""

from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest
from kserve import InferInput

from leadscore.data import DatasetSpec, drop_ground_truth, infer_schema, synth
from leadscore.features import FeatureSpec, LeadFeatures
from leadscore.predictor.columnar import Columns, plain_columns
from leadscore.predictor.decode import v1_batch, v2_batch


@pytest.fixture(scope="module")
def spec_and_leads() -> tuple[FeatureSpec, list[dict[str, object]]]:
    frame = drop_ground_truth(synth.generate("pc", 600, 5))
    schema = infer_schema(frame, DatasetSpec(target="converted", id_column="lead_id", time_column="created_at",
                                             text_columns=[synth.TEXT_COLUMN]))  # TF-IDF etc. on this path too
    features = LeadFeatures(schema=schema.model_dump()).fit(frame.iloc[:500], frame["converted"].iloc[:500])
    spec = FeatureSpec.model_validate(features.to_spec())
    held = frame.iloc[500:].drop(columns=["converted"])
    held["created_at"] = held["created_at"].dt.strftime("%Y-%m-%dT%H:%M:%S")
    leads = [{k: v for k, v in r.items() if v is not None} for r in json.loads(held.to_json(orient="records"))]
    return spec, leads


def plain(spec: FeatureSpec, leads: list[dict[str, object]], *, strict: bool = False) -> Columns | None:
    return plain_columns(spec.inputs, v1_batch({"instances": leads}, max_batch=10_000), strict=strict)


def test_plain_columns_encode_bit_identically_to_the_record_path_when_leads_are_plain(spec_and_leads) -> None:
    spec, leads = spec_and_leads
    columns = plain(spec, leads, strict=True)
    assert columns is not None
    expected = spec.transform_records(leads)
    np.testing.assert_array_equal(spec.transform_columns(columns, len(leads)), expected)
    assert any(name.startswith("inquiry__tfidf=") for name in spec.feature_names())


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("pages_visited", -1),
        ("pages_visited", "7"),
        ("pages_visited", math.nan),
        ("pages_visited", math.inf),
        ("pages_visited", True),
        ("requested_quote", 1),
        ("requested_quote", "yes"),
        ("created_at", "tuesday"),
        ("created_at", "2024-02-03T25:00:00"),
        ("created_at", 20240101),
        ("lead_id", None),
        ("lead_id", "  "),
        ("source", ["web"]),
        ("notes", 3),
    ],
)
def test_plain_columns_defer_to_the_contract_when_a_value_is_not_plainly_valid(
    spec_and_leads, field: str, value: object
) -> None:
    spec, leads = spec_and_leads
    batch = [*leads[:20], {**leads[20], field: value}]
    assert plain(spec, batch, strict=False) is None


def test_plain_columns_defer_when_strict_and_a_field_is_unknown(spec_and_leads) -> None:
    spec, leads = spec_and_leads
    batch = [*leads[:20], {**leads[20], "favourite_colour": "teal"}]
    assert plain(spec, batch, strict=True) is None
    assert plain(spec, batch, strict=False) is not None


def test_plain_columns_never_accept_what_the_contract_refuses_when_batches_are_mutated(spec_and_leads) -> None:
    spec, leads = spec_and_leads
    rng = random.Random(11)
    fields = [f.name for f in spec.inputs]
    odd = [
        None,
        -3,
        0,
        1,
        2.5,
        "",
        " ",
        "x",
        "12",
        "2024-02-30T10:00:00",
        "2024-02-03T10:00:00",
        True,
        False,
        math.nan,
        [1],
        {"a": 1},
    ]
    accepted = 0
    for _ in range(300):
        batch = [dict(lead) for lead in rng.sample(leads, 20)]
        for _ in range(rng.randint(1, 3)):
            lead = rng.choice(batch)
            name = rng.choice(fields)
            if rng.random() < 0.2:
                lead.pop(name, None)
            else:
                lead[name] = rng.choice(odd)
        columns = plain(spec, batch, strict=False)
        if columns is not None:
            accepted += 1
            spec.validate_records(batch)  # must not raise
            np.testing.assert_array_equal(spec.transform_columns(columns, len(batch)), spec.transform_records(batch))
    assert accepted > 10  # the fast path is exercised, not just the fallback


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("created_at", "2024-02-03T10:00:00+02:00"),
        ("created_at", "2024-02-03 10:00:00"),
        ("created_at", None),
        ("requested_quote", None),
        ("requested_quote", "true"),
        ("requested_quote", "false"),
        ("pages_visited", None),
        ("source", None),
    ],
)
def test_plain_columns_encode_like_the_record_path_when_values_take_other_valid_forms(
    spec_and_leads, field: str, value: object
) -> None:
    spec, leads = spec_and_leads
    batch = [*leads[:20], {**leads[20], field: value}]
    columns = plain(spec, batch, strict=False)
    assert columns is not None
    np.testing.assert_array_equal(spec.transform_columns(columns, len(batch)), spec.transform_records(batch))


def _field_tensors(spec: FeatureSpec, leads: list[dict[str, object]]) -> list[InferInput]:
    """V2 field tensors as a client sends them: FP64 (NaN = missing), BOOL, BYTES ("" = missing)."""
    tensors = []
    for field in spec.inputs:
        values = [lead.get(field.name) for lead in leads]
        if field.kind == "numeric":
            datatype, data = "FP64", [math.nan if v is None else v for v in values]
        elif field.kind == "boolean":
            datatype, data = "BOOL", [bool(v) for v in values]
        else:
            datatype, data = "BYTES", ["" if v is None else str(v) for v in values]
        tensors.append(InferInput(field.name, [len(values)], datatype, data))
    return tensors


def test_plain_columns_come_straight_from_v2_field_tensors_and_encode_like_the_record_path(spec_and_leads) -> None:
    spec, leads = spec_and_leads
    booleans = [f.name for f in spec.inputs if f.kind == "boolean"]
    leads = [{**lead, **{name: bool(lead.get(name)) for name in booleans}} for lead in leads[:50]]
    batch = v2_batch(_field_tensors(spec, leads), max_batch=100)
    columns = plain_columns(spec.inputs, batch, strict=True)
    assert columns is not None
    assert "records" not in vars(batch)  # the fast path never built per-lead dicts
    np.testing.assert_array_equal(spec.transform_columns(columns, len(leads)), spec.transform_records(batch.records))
