"""V1 answers encoded from columns (``leadscore.predictor.v1json``) are byte for byte what
``orjson`` writes for the same answer as one dict per lead (what KServe's route would send)."""

from __future__ import annotations

from typing import Any

import msgspec
import orjson
import pytest

from leadscore.predictor.v1json import encode_leads

_ROUTE = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY
"""The options of FastAPI's ``ORJSONResponse``, which KServe's V1 route answers dicts with."""


def _as_dicts(top: str, columns: dict[str, list[Any]], sparse: tuple[str, list[Any]] | None) -> bytes:
    leads = [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]
    if sparse is not None:
        for lead, value in zip(leads, sparse[1], strict=True):
            if value:
                lead[sparse[0]] = value
    return orjson.dumps({top: leads}, option=_ROUTE)


AWKWARD = ["a,b", 'say "hi"', "back\\slash", "50% off", "%b %s %%", "naïve ☃ 𝄞", "tab\tnew\nline\x00\x1f\x7f",
           "\u2028\u2029", "", " ", "{}", "[1,2]", "null"]


@pytest.mark.parametrize("size", [1, 2, len(AWKWARD), 1000])
def test_columns_encode_as_orjson_encodes_the_dicts(size: int) -> None:
    floats = [1e-06, 1e16, -0.0, 0.1, 0.123456, 123456789.0, 1e-7, 0.5, 2.5e-05]
    columns: dict[str, list[Any]] = {
        "lead_id": [AWKWARD[i % len(AWKWARD)] + str(i) for i in range(size)],
        "probability": [floats[i % len(floats)] for i in range(size)],
        "score": [i % 101 for i in range(size)],
        "tier": [("high", "low", "medium")[i % 3] for i in range(size)],
        "sla": [None if i % 4 == 0 else "30m" for i in range(size)],
        "prediction": [i % 2 == 0 for i in range(size)],
        "model_version": ["v3 %d 100%"] * size,
        "vertical": [None] * size,
        "interval_low": [None if i % 5 == 0 else floats[i % len(floats)] for i in range(size)],
        "mixed": [("x,y", 3, None, True, 1.5e16)[i % 5] for i in range(size)],
        "processing_time_ms": [1.25] * size,
        "arm": [("control", "treatment")[i % 2] for i in range(size)],
    }
    flags = [["pages_visited", "time_on_site"] if i % 7 == 3 else [] for i in range(size)]
    for sparse in (None, ("out_of_range", flags)):
        assert encode_leads("predictions", columns, sparse) == _as_dicts("predictions", columns, sparse)


def test_a_request_of_one_shared_value_per_field() -> None:
    columns = {"lead_id": ["only, one % lead"], "probability": [0.25], "agreement": [None], "prediction": [False]}
    assert encode_leads("predictions", columns) == _as_dicts("predictions", columns, None)
    assert encode_leads("predictions", columns, ("out_of_range", [["age"]])) == _as_dicts(
        "predictions", columns, ("out_of_range", [["age"]]))


def test_values_equal_but_typed_apart_are_not_shared() -> None:
    columns = {"lead_id": ["a", "b"], "value": [1, 1.0], "flag": [1, True]}
    assert encode_leads("predictions", columns) == _as_dicts("predictions", columns, None)


def test_msgspec_escapes_every_code_point_as_orjson_does() -> None:
    """Strings are encoded one by one with msgspec (far cheaper per call than orjson.dumps);
    this is what makes that exact."""
    for start in range(0, 0x110000, 0x1000):
        text = "".join(chr(c) for c in range(start, start + 0x1000) if not 0xD800 <= c <= 0xDFFF)
        assert msgspec.json.encode(text) == orjson.dumps(text)
    for c in range(0x80):
        assert msgspec.json.encode(chr(c)) == orjson.dumps(chr(c))
