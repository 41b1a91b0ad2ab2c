"""Requests in, lead records out: the V1 body, V2 named tensors or a V2 BYTES JSON input.

Every protocol ends as the same thing, a batch that gives each lead as a plain dict and each
field as a list of values, so validation and the feature pipeline see one shape whatever the
wire. V1 bodies and the JSON input arrive as records; V2 field tensors arrive as columns and
stay columns (records are only built if something asks for them: the rules arm, ``:explain``,
an error message). Each decoded batch also knows how to name a lead's field in an error
message the way the caller wrote it: ``instances[3].age`` for V1, ``inputs.age[3]`` for V2
tensors, ``records[3].age`` for the JSON input.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import orjson
from kserve.utils.numpy_codec import to_np_dtype

from leadscore.api.wire import RECORDS_TENSOR
from leadscore.predictor.errors import BatchTooLarge, InvalidRecord, MalformedRequest

Locator = Callable[[int, str], str]


@dataclass(frozen=True)
class DecodedBatch:
    """Leads of one request, and how the caller's protocol names ``(index, field)``.

    Exactly one of ``given_records`` (one dict per lead) and ``fields`` (one list per field,
    one value per lead) is set; ``records`` and ``values`` answer from either. ``source`` gives the
    leads as sent when the fields were typed from them (``leadscore.predictor.typed``): records
    then come from it, unknown fields and integers as they were sent.
    """

    size: int
    locate: Locator
    protocol: str  # "v1" | "v2"
    given_records: list[dict[str, Any]] | None = None
    fields: dict[str, list[Any]] | None = None
    source: Callable[[], list[dict[str, Any]]] | None = None
    typed: bool = False  # the fields were typed by leadscore.predictor.typed (types, minimums, lengths checked)

    @cached_property
    def records(self) -> list[dict[str, Any]]:
        """One dict per lead (built once from the field lists, or the source, when the request came as columns)."""
        if self.given_records is not None:
            return self.given_records
        if self.source is not None:
            return self.source()
        fields = self.fields or {}
        return [dict(zip(fields, row, strict=True)) for row in zip(*fields.values(), strict=True)]

    def values(self, name: str) -> list[Any]:
        """Every lead's value of field ``name``, None where a lead lacks it."""
        if self.fields is not None:
            return self.fields.get(name) or [None] * self.size
        return [record.get(name) for record in self.records]

    def names(self) -> set[str]:
        """Every field name at least one lead carries."""
        return set(self.fields) if self.fields is not None else set().union(*self.records)


def v1_locate(index: int, field: str) -> str:
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
    return DecodedBatch(len(instances), v1_locate, "v1", given_records=instances)


def v2_batch(inputs: list[Any], max_batch: int) -> DecodedBatch:
    """KServe ``InferInput`` objects: one per lead field, or one ``records`` BYTES input."""
    names = [i.name for i in inputs]
    if not inputs:
        raise MalformedRequest("inputs: empty; send one tensor per lead field or a 'records' BYTES input")
    if RECORDS_TENSOR in names:
        if len(inputs) > 1:
            raise MalformedRequest(
                f"inputs: '{RECORDS_TENSOR}' carries whole leads and cannot be mixed with field tensors, got {names}"
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
    return DecodedBatch(size or 0, _tensor_locate, "v2", fields=columns)


def _json_records(tensor: Any, max_batch: int) -> DecodedBatch:
    if tensor.datatype != "BYTES":
        raise MalformedRequest(
            f"inputs.{RECORDS_TENSOR}: expected datatype BYTES (JSON strings), got {tensor.datatype}")
    raw = tensor.as_numpy().reshape(-1)
    check_batch_size(len(raw), max_batch, f"inputs.{RECORDS_TENSOR}")
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
    return DecodedBatch(len(records), _records_locate, "v2", given_records=records)


_BOOL_TEXT = {"true": True, "false": False}
"""The text forms a BOOL tensor may carry (what JSON clients send for a boolean with gaps)."""


def _listed(tensor: Any) -> list[Any] | None:
    """The tensor's values as a flat list when they came as a list (JSON or gRPC contents), at
    most two levels deep ([N] or [N, 1]); None when they came as raw bytes."""
    if getattr(tensor, "_raw_data", None) is not None or tensor.data is None:
        return None
    flat: list[Any] = []
    for item in tensor.data:
        if isinstance(item, list):
            if any(isinstance(inner, list | dict) for inner in item):
                raise MalformedRequest(f"inputs.{tensor.name}: data nested deeper than the shape [N, 1] allows")
            flat.extend(item)
        else:
            flat.append(item)
    return flat


def _bools(tensor: Any, values: list[Any]) -> list[Any]:
    """True/False as given, the text "true"/"false", None (missing); anything else is refused,
    because numpy would read "false", "maybe", 2 and -1 as true."""
    out: list[Any] = []
    for index, value in enumerate(values):
        if value is None or value is True or value is False:
            out.append(value)
        elif type(value) is str and value in _BOOL_TEXT:
            out.append(_BOOL_TEXT[value])
        else:
            raise InvalidRecord(
                f'inputs.{tensor.name}[{index}]: expected true or false (or the text "true"/"false"), '
                f"got {_short(value)}"
            )
    return out


def _bad_number(tensor: Any, values: list[Any]) -> str:
    """Why the first value numpy could not convert is refused (integer range, float range, not a number)."""
    dtype = np.dtype(to_np_dtype(tensor.datatype))
    for index, value in enumerate(values):
        where = f"inputs.{tensor.name}[{index}]"
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"{where}: expected a number, got {_short(value)}"
        if dtype.kind in "iu":
            info = np.iinfo(dtype)
            if not isinstance(value, int) or not info.min <= value <= info.max:
                return f"{where}: expected an integer within {tensor.datatype}, got {_magnitude(value)}"
        else:
            try:
                float(value)
            except OverflowError:
                return f"{where}: expected a finite number within {tensor.datatype}, got {_magnitude(value)}"
    return f"inputs.{tensor.name}: values do not fit datatype {tensor.datatype}"


def _magnitude(value: Any) -> str:
    """A number too large to show whole: its digit count (never the 10**6 digits themselves)."""
    if isinstance(value, int) and value.bit_length() > 64:
        return f"an integer of about {int(value.bit_length() * 0.30103) + 1} digits"
    return _short(value)


def _tensor_values(tensor: Any) -> list[Any]:
    """One python value per lead; NaN and empty strings become None (missing), as in training data."""
    shape = list(tensor.shape)
    if not shape or len(shape) > 2 or (len(shape) == 2 and shape[1] != 1):
        raise MalformedRequest(f"inputs.{tensor.name}: expected shape [N] or [N, 1], got {shape}")
    listed = _listed(tensor)
    if listed is not None and len(listed) != shape[0]:
        raise MalformedRequest(f"inputs.{tensor.name}: data does not fit shape {shape} ({len(listed)} values)")
    if tensor.datatype == "BOOL" and listed is not None:
        return _bools(tensor, listed)
    try:
        array = tensor.as_numpy().reshape(-1)
    except (OverflowError, TypeError, ValueError) as exc:
        if listed is not None and tensor.datatype != "BYTES":
            raise InvalidRecord(_bad_number(tensor, listed)) from None
        raise MalformedRequest(f"inputs.{tensor.name}: data does not fit shape {shape} ({exc})") from None
    if tensor.datatype == "BYTES":
        return _texts(array.tolist())
    if array.dtype.kind == "f":
        values = array.tolist()
        for index in np.flatnonzero(np.isnan(array)).tolist():
            values[index] = None
        return values
    if array.dtype.kind in "iub":
        return array.tolist()
    raise MalformedRequest(
        f"inputs.{tensor.name}: datatype {tensor.datatype} is not supported; use BYTES, BOOL, INT*, UINT* or FP*"
    )


def _texts(values: list[Any]) -> list[Any]:
    """``_text`` over a tensor's values, inline for the usual all-bytes (gRPC) or all-str (REST) case."""
    kinds = set(map(type, values))
    if kinds == {bytes}:
        values = [v.decode("utf-8", errors="replace") for v in values]
    elif kinds != {str}:
        return [_text(v) for v in values]
    return [v if v.strip() else None for v in values]


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, str):
        return value if value.strip() else None
    return value if not (isinstance(value, float) and math.isnan(value)) else None  # type: ignore[return-value]


def _short(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return _magnitude(value)
    try:
        text = repr(value)
    except RecursionError:  # a container nested thousands deep
        return f"a {type(value).__name__} too deep to show"
    return text if len(text) <= 60 else text[:57] + "..."
