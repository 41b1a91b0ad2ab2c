"""Requests in, lead records out: the V1 body, V2 named tensors or a V2 BYTES JSON input.

Every protocol ends as the same thing, a list of plain dicts (one per lead), so validation
and the feature pipeline see one shape whatever the wire. Each decoded batch also knows how
to name a lead's field in an error message the way the caller wrote it: ``instances[3].age``
for V1, ``inputs.age[3]`` for V2 tensors, ``records[3].age`` for the JSON input.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from leadscore.predictor.errors import BatchTooLarge, MalformedRequest

RECORDS_INPUT = "records"
"""Name of the V2 input that carries whole lead records as JSON strings (datatype BYTES)."""

Locator = Callable[[int, str], str]


@dataclass(frozen=True)
class DecodedBatch:
    """Leads of one request, and how the caller's protocol names ``(index, field)``."""

    records: list[dict[str, Any]]
    locate: Locator
    protocol: str  # "v1" | "v2"


def _v1_locate(index: int, field: str) -> str:
    return f"instances[{index}].{field}" if field else f"instances[{index}]"


def _records_locate(index: int, field: str) -> str:
    return f"records[{index}].{field}" if field else f"records[{index}]"


def _tensor_locate(index: int, field: str) -> str:
    return f"inputs.{field}[{index}]" if field else f"lead {index}"


def check_batch_size(size: int, max_batch: int, where: str) -> None:
    """Refuse empty and oversized batches before any per-lead work is done."""
    if size == 0:
        raise MalformedRequest(f"{where}: no leads given; send at least one")
    if size > max_batch:
        raise BatchTooLarge(
            f"{where}: {size} leads in one request, the limit is {max_batch}; split the batch or raise --max-batch"
        )


def v1_batch(body: object, max_batch: int) -> DecodedBatch:
    """``{"instances": [{...lead...}, ...]}``.

    KServe hands over the raw bytes when the content type is not JSON (``curl -d`` sends
    form encoding); such a body is read as JSON all the same.
    """
    if isinstance(body, bytes | str):
        try:
            body = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise MalformedRequest(f"request body: not valid JSON ({exc})") from None
    if not isinstance(body, dict) or "instances" not in body:
        got = sorted(body)[:5] if isinstance(body, dict) else type(body).__name__
        raise MalformedRequest(f'request body: expected {{"instances": [{{...lead fields...}}]}}, got {got}')
    instances = body["instances"]
    if not isinstance(instances, list):
        raise MalformedRequest(f"instances: expected a list of lead objects, got {type(instances).__name__}")
    check_batch_size(len(instances), max_batch, "instances")
    for index, instance in enumerate(instances):
        if not isinstance(instance, dict):
            raise MalformedRequest(
                f"instances[{index}]: expected an object of lead fields, "
                f"got {type(instance).__name__} {_short(instance)}"
            )
    return DecodedBatch(instances, _v1_locate, "v1")


def v2_batch(inputs: list[Any], max_batch: int) -> DecodedBatch:
    """KServe ``InferInput`` objects: one per lead field, or one ``records`` BYTES input."""
    names = [i.name for i in inputs]
    if not inputs:
        raise MalformedRequest("inputs: empty; send one tensor per lead field or a 'records' BYTES input")
    if RECORDS_INPUT in names:
        if len(inputs) > 1:
            raise MalformedRequest(
                f"inputs: '{RECORDS_INPUT}' carries whole leads and cannot be mixed with field tensors, got {names}"
            )
        return _json_records(inputs[0], max_batch)
    if len(set(names)) != len(names):
        raise MalformedRequest(f"inputs: each field may appear once, got {names}")
    columns: dict[str, list[Any]] = {}
    size: int | None = None
    for tensor in inputs:
        values = _tensor_values(tensor)
        if size is None:
            size = len(values)
            check_batch_size(size, max_batch, f"inputs.{tensor.name}")
        elif len(values) != size:
            raise MalformedRequest(
                f"inputs.{tensor.name}: {len(values)} values but inputs.{names[0]} has "
                f"{size}; every field tensor needs one value per lead"
            )
        columns[tensor.name] = values
    records = [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]
    return DecodedBatch(records, _tensor_locate, "v2")


def _json_records(tensor: Any, max_batch: int) -> DecodedBatch:
    if tensor.datatype != "BYTES":
        raise MalformedRequest(f"inputs.{RECORDS_INPUT}: expected datatype BYTES (JSON strings), got {tensor.datatype}")
    raw = tensor.as_numpy().reshape(-1)
    check_batch_size(len(raw), max_batch, f"inputs.{RECORDS_INPUT}")
    records = []
    for index, item in enumerate(raw.tolist()):
        try:
            record = orjson.loads(item)
        except orjson.JSONDecodeError as exc:
            raise MalformedRequest(f"records[{index}]: not valid JSON ({exc})") from None
        if not isinstance(record, dict):
            raise MalformedRequest(
                f"records[{index}]: expected a JSON object of lead fields, got {type(record).__name__}"
            )
        records.append(record)
    return DecodedBatch(records, _records_locate, "v2")


def _tensor_values(tensor: Any) -> list[Any]:
    """One python value per lead; NaN and empty strings become None (missing), as in training data."""
    shape = list(tensor.shape)
    if not shape or len(shape) > 2 or (len(shape) == 2 and shape[1] != 1):
        raise MalformedRequest(f"inputs.{tensor.name}: expected shape [N] or [N, 1], got {shape}")
    try:
        array = tensor.as_numpy().reshape(-1)
    except ValueError as exc:  # data length does not match the declared shape
        raise MalformedRequest(f"inputs.{tensor.name}: data does not fit shape {shape} ({exc})") from None
    if tensor.datatype == "BYTES":
        return [_text(v) for v in array.tolist()]
    if array.dtype.kind == "f":
        return [None if math.isnan(v) else v for v in array.tolist()]
    if array.dtype.kind in "iub":
        return array.tolist()
    raise MalformedRequest(
        f"inputs.{tensor.name}: datatype {tensor.datatype} is not supported; use BYTES, BOOL, INT*, UINT* or FP*"
    )


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, str):
        return value if value.strip() else None
    return value if not (isinstance(value, float) and math.isnan(value)) else None  # type: ignore[return-value]


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
