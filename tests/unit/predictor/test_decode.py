"""V1 bodies and V2 tensors become lead records; malformed requests name what is wrong."""

from __future__ import annotations

import math

import orjson
import pytest
from kserve import InferInput

from leadscore.predictor.decode import v1_batch, v2_batch
from leadscore.predictor.errors import BatchTooLarge, MalformedRequest


def test_v1_batch_returns_instances_when_body_is_well_formed() -> None:
    batch = v1_batch({"instances": [{"lead_id": "a"}, {"lead_id": "b"}]}, max_batch=10)
    assert batch.records == [{"lead_id": "a"}, {"lead_id": "b"}]
    assert batch.locate(1, "age") == "instances[1].age"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"inputs": []}, 'expected {"instances"'),
        ([1, 2], "got list"),
        ({"instances": {"lead_id": "a"}}, "instances: expected a list of lead objects, got dict"),
        ({"instances": []}, "instances: no leads given"),
        ({"instances": [{"lead_id": "a"}, 7]}, "instances[1]: expected an object of lead fields, got int 7"),
    ],
)
def test_v1_batch_refuses_with_location_when_body_is_malformed(body: object, message: str) -> None:
    with pytest.raises(MalformedRequest) as caught:
        v1_batch(body, max_batch=10)
    assert message in str(caught.value)


def test_v1_batch_refuses_with_limit_when_batch_is_oversized() -> None:
    with pytest.raises(BatchTooLarge, match=r"instances: 11 leads in one request, the limit is 10"):
        v1_batch({"instances": [{}] * 11}, max_batch=10)


def _tensor(name: str, datatype: str, data: list[object]) -> InferInput:
    return InferInput(name=name, shape=[len(data)], datatype=datatype, data=data)


def test_v2_batch_builds_records_when_one_tensor_per_field_is_given() -> None:
    batch = v2_batch(
        [
            _tensor("lead_id", "BYTES", ["a", "b"]),
            _tensor("pages", "FP64", [3.0, math.nan]),
            _tensor("quote", "BOOL", [True, False]),
            _tensor("source", "BYTES", ["web", ""]),
        ],
        max_batch=10,
    )
    assert batch.records == [
        {"lead_id": "a", "pages": 3.0, "quote": True, "source": "web"},
        {"lead_id": "b", "pages": None, "quote": False, "source": None},
    ]
    assert batch.locate(1, "pages") == "inputs.pages[1]"


def test_v2_batch_parses_json_when_records_input_is_given() -> None:
    leads = [{"lead_id": "a", "pages": 3}, {"lead_id": "b"}]
    batch = v2_batch([_tensor("records", "BYTES", [orjson.dumps(x).decode() for x in leads])], max_batch=10)
    assert batch.records == leads
    assert batch.locate(0, "pages") == "records[0].pages"


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ([], "inputs: empty"),
        ([_tensor("records", "BYTES", ['{"a": 1}']), _tensor("x", "FP64", [1.0])], "cannot be mixed"),
        ([_tensor("records", "FP64", [1.0])], "expected datatype BYTES"),
        ([_tensor("records", "BYTES", ["{nope"])], "records[0]: not valid JSON"),
        ([_tensor("records", "BYTES", ["[1, 2]"])], "records[0]: expected a JSON object of lead fields, got list"),
        ([_tensor("a", "FP64", [1.0, 2.0]), _tensor("b", "FP64", [1.0])], "inputs.b: 1 values but inputs.a has 2"),
        ([_tensor("a", "FP64", [1.0]), _tensor("a", "FP64", [2.0])], "each field may appear once"),
        ([InferInput(name="a", shape=[1, 2], datatype="FP64", data=[1.0, 2.0])], "expected shape [N] or [N, 1]"),
        ([InferInput(name="a", shape=[3], datatype="FP64", data=[1.0, 2.0])], "data does not fit shape [3]"),
    ],
)
def test_v2_batch_refuses_with_input_named_when_tensors_are_malformed(inputs: list[InferInput], message: str) -> None:
    with pytest.raises(MalformedRequest) as caught:
        v2_batch(inputs, max_batch=10)
    assert message in str(caught.value)


def test_v2_batch_refuses_with_limit_when_tensors_are_oversized() -> None:
    with pytest.raises(BatchTooLarge, match=r"inputs.a: 3 leads in one request, the limit is 2"):
        v2_batch([_tensor("a", "FP64", [1.0, 2.0, 3.0])], max_batch=2)


def test_v1_batch_reads_json_when_kserve_passes_raw_bytes_for_another_content_type() -> None:
    batch = v1_batch(b'{"instances": [{"lead_id": "a"}]}', max_batch=10)
    assert batch.records == [{"lead_id": "a"}]


def test_v1_batch_refuses_when_raw_bytes_are_not_json() -> None:
    with pytest.raises(MalformedRequest, match=r"request body: not valid JSON"):
        v1_batch(b"lead_id=a", max_batch=10)


def test_v2_batch_answers_field_values_without_building_records_when_tensors_are_given() -> None:
    batch = v2_batch([_tensor("lead_id", "BYTES", ["a", "b"]), _tensor("pages", "FP64", [3.0, math.nan])], max_batch=10)
    assert batch.size == 2
    assert batch.values("pages") == [3.0, None]
    assert batch.values("absent") == [None, None]
    assert batch.names() == {"lead_id", "pages"}
    assert "records" not in vars(batch)


def test_v1_batch_answers_field_values_from_its_records() -> None:
    batch = v1_batch({"instances": [{"lead_id": "a", "pages": 2}, {"lead_id": "b"}]}, max_batch=10)
    assert batch.values("pages") == [2, None]
    assert batch.names() == {"lead_id", "pages"}
