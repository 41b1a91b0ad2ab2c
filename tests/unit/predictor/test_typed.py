"""The V1 fast path typed in C (``leadscore.predictor.typed``) accepts only bodies that KServe's parser
and the features contract accept, and gives the same columns and matrix as the usual path."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import orjson
import pytest
from kserve.errors import InvalidInput

from leadscore.data import DatasetSpec, drop_ground_truth, infer_schema, synth
from leadscore.features import FeatureSpec, LeadFeatures
from leadscore.predictor.columnar import plain_columns
from leadscore.predictor.decode import DecodedBatch, v1_batch, v1_locate
from leadscore.predictor.typed import RawInstances, TypedLeads, raw_v1_decode, split_v1


@pytest.fixture(scope="module")
def spec_and_leads() -> tuple[FeatureSpec, list[dict[str, object]]]:
    frame = drop_ground_truth(synth.generate("pc", 300, 6))
    schema = infer_schema(frame, DatasetSpec(target="converted", id_column="lead_id", time_column="created_at"))
    features = LeadFeatures(schema=schema.model_dump()).fit(frame.iloc[:250], frame["converted"].iloc[:250])
    spec = FeatureSpec.model_validate(features.to_spec())
    held = frame.iloc[250:].drop(columns=["converted"])
    held["created_at"] = held["created_at"].dt.strftime("%Y-%m-%dT%H:%M:%S")
    leads = [{k: v for k, v in r.items() if v is not None} for r in json.loads(held.to_json(orient="records"))]
    return spec, leads


def _raw(body: bytes) -> RawInstances:
    raw = split_v1(body)
    assert raw is not None
    return raw


def _typed(spec: FeatureSpec, leads: list[Any], *, strict: bool = False, extra: bytes = b"") -> Any:
    body = b'{"instances": ' + orjson.dumps(leads) + extra + b"}"
    return TypedLeads(spec.inputs, "lead_id", strict=strict).columns(_raw(body))


def test_typed_columns_encode_bit_identically_to_the_usual_path(spec_and_leads) -> None:
    spec, leads = spec_and_leads
    fields = _typed(spec, leads, strict=True)
    assert fields is not None
    typed = plain_columns(spec.inputs, DecodedBatch(len(leads), v1_locate, "v1", fields=fields, typed=True),
                          strict=True, typed=True)
    usual = plain_columns(spec.inputs, v1_batch({"instances": leads}, max_batch=10_000), strict=True)
    assert typed is not None and usual is not None
    np.testing.assert_array_equal(spec.transform_columns(typed, len(leads)), spec.transform_columns(usual, len(leads)))
    np.testing.assert_array_equal(spec.transform_columns(typed, len(leads)), spec.transform_records(leads))
    for name, column in typed.items():  # the checks the decoder made are not repeated, the columns are the same
        np.testing.assert_array_equal(column, usual[name])
        assert column.dtype == usual[name].dtype
    assert fields["lead_id"] == [lead["lead_id"] for lead in leads]


@pytest.mark.parametrize(
    ("field", "value"),
    [("pages_visited", -1), ("pages_visited", "7"), ("pages_visited", True), ("requested_quote", 1),
     ("requested_quote", "true"), ("lead_id", None), ("source", ["web"]), ("source", "x" * 1001),
     ("notes", 3), ("notes", "y" * 10_001)],
)
def test_a_value_the_contract_may_refuse_leaves_the_fast_path(spec_and_leads, field: str, value: object) -> None:
    spec, leads = spec_and_leads
    assert _typed(spec, [*leads[:5], {**leads[5], field: value}]) is None


def test_an_unknown_field_is_ignored_unless_strict(spec_and_leads) -> None:
    spec, leads = spec_and_leads
    changed = [*leads[:3], {**leads[3], "favourite_colour": "teal"}]
    assert _typed(spec, changed) is not None
    assert _typed(spec, changed, strict=True) is None


@pytest.mark.parametrize(
    "extra",
    [b', "x": 1' + b"0" * 400, b', "x": 1e400', b', "x": "\\ud800"', b', "x": ' + b"[" * 1100 + b"]" * 1100,
     b', "x": "\xff"'],
    ids=["integer-beyond-float", "beyond-float", "lone-surrogate", "nested-too-deep", "invalid-utf8"],
)
def test_what_kserves_parser_refuses_in_an_ignored_field_leaves_the_fast_path(spec_and_leads, extra: bytes) -> None:
    spec, leads = spec_and_leads
    body = b'{"instances": ' + orjson.dumps(leads[:4]) + extra + b"}"
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(body)
    raw = split_v1(body)
    assert raw is None or TypedLeads(spec.inputs, "lead_id", strict=False).columns(raw) is None


@pytest.mark.parametrize("extra", [b', "x": [[1]]', b', "x": {"y": 1}', b', "x": 1e5', b', "x": "room 10E"'],
                         ids=["nested", "object", "exponent", "exponent-like-text"])
def test_nesting_and_exponents_in_an_ignored_field_take_the_usual_path(spec_and_leads, extra: bytes) -> None:
    """Conservative: cheaper to check than to prove that KServe's parser accepts them."""
    spec, leads = spec_and_leads
    assert _typed(spec, leads[:4], extra=extra) is None


def test_a_long_integer_kserves_parser_accepts_stays_on_the_fast_path(spec_and_leads) -> None:
    spec, leads = spec_and_leads
    extra = b', "x": 12345678901234567890123'
    orjson.loads(b'{"instances": [], ' + extra[2:] + b"}")
    assert _typed(spec, leads[:4], extra=extra) is not None


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1, 2]", b'{"inputs": []}',
     b'{"instances": [], "time": "t", "type": "x", "source": "s", "id": "1", "specversion": "1.0", "data": {}}'],
    ids=["invalid", "array", "no-instances", "structured-cloudevent"],
)
def test_bodies_other_than_a_plain_v1_body_go_to_kserves_decoder(body: bytes) -> None:
    calls = []

    def kserve_decode(*args: Any) -> tuple[Any, dict[str, Any]]:
        calls.append(args)
        return "kserve", {}

    assert raw_v1_decode(kserve_decode, body, {"content-type": "application/json"}) == ("kserve", {})
    assert len(calls) == 1


def test_only_v1_json_bodies_without_cloudevent_headers_are_left_unparsed() -> None:
    body = b'{"instances": [{"lead_id": "a"}]}'

    def kserve_decode(*args: Any) -> tuple[Any, dict[str, Any]]:
        return "kserve", {}

    decoded, _ = raw_v1_decode(kserve_decode, body, {"content-type": "application/json"})
    assert isinstance(decoded, RawInstances) and decoded.parsed() == orjson.loads(body)
    assert raw_v1_decode(kserve_decode, body, {})[0].__class__ is RawInstances  # no content type: JSON, as KServe
    assert raw_v1_decode(kserve_decode, body, {"content-type": "text/plain"})[0] == "kserve"
    assert raw_v1_decode(kserve_decode, body, {"ce-id": "1", "content-type": "application/json"})[0] == "kserve"
    assert raw_v1_decode(kserve_decode, body, {"content-type": "application/json"}, "v2")[0] == "kserve"


def test_a_body_kserves_parser_refuses_gets_kserves_error() -> None:
    raw = _raw(b'{"instances": [{"lead_id": "a", "x": 1e400}]}')
    with pytest.raises(InvalidInput, match=r"^Unrecognized request format: "):
        raw.parsed()


_EDGE_TOKENS = [
    b"1", b"-0", b"01", b"1.", b".5", b"1e5", b"1E+5", b"1e-400", b"1e400", b"-1e400", b"1" * 400, b"1" * 20,
    b"9223372036854775808", b"18446744073709551616", b"-9223372036854775809", b"NaN", b"Infinity", b"+1", b"0x10",
    b"1.5e", b"true", b"True", b"null", b"nul", b"[]", b"{}", b'"a"', b'"\\ud800"', b'"\\udc00"', b'"\\ud800\\u0041"',
    b'"\\ud800\\udc00"', b'"\x01"', b'"\x7f"', b'"\xff"', b'"\xc3\xa9"', b'"\xed\xa0\x80"', b'"\\x41"', b"'a'",
    b'"\\u00"', b'"\t"', b'"\xf4\x90\x80\x80"', b'"\xc0\x80"', b'"2024-02-30T00:00:00"',
]


@pytest.mark.parametrize("field", ["pages_visited", "source", "requested_quote", "lead_id", "notes", "created_at"])
def test_without_byte_scans_the_fast_path_takes_only_what_kserves_parser_takes(spec_and_leads, field: str) -> None:
    """A body of contract fields only is read whole by msgspec and not scanned: every edge case
    it accepts in any field kind, orjson accepts too (and the value is the same)."""
    spec, leads = spec_and_leads
    typed = TypedLeads(spec.inputs, "lead_id", strict=False)
    lead = orjson.dumps({k: v for k, v in leads[0].items() if k != field})
    for token in _EDGE_TOKENS:
        body = b'{"instances": [' + lead[:-1] + b', "' + field.encode() + b'": ' + token + b"}]}"
        raw = split_v1(body)
        if raw is None:  # not even JSON to msgspec: KServe's decoder takes the body
            continue
        assert raw.alone
        columns = typed.columns(raw)
        if columns is not None:
            value = orjson.loads(body)["instances"][0][field]
            assert columns[field] == [float(value) if type(value) is int and field == "pages_visited" else value], token


@pytest.mark.parametrize(
    "body",
    [b'{"instances": [{"lead_id": "a", "pages_visited": 1e400}], "instances": [{"lead_id": "b"}]}',
     b'{"instances":[1e400],"instances":[{"lead_id":"b"}]}',
     b'{"instances": [{"lead_id": "b"}], "x": 1e400}'],
    ids=["repeated-instances", "repeated-compact", "another-key"],
)
def test_a_body_with_more_than_the_instances_is_scanned(spec_and_leads, body: bytes) -> None:
    spec, _ = spec_and_leads
    raw = _raw(body)
    assert not raw.alone
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(body)
    assert TypedLeads(spec.inputs, "lead_id", strict=False).columns(raw) is None
