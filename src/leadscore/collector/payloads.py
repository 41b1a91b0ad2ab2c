"""Inference bodies as the predictor sees them: lead records in, scored leads out.

Accepted shapes (the logger copies bodies byte for byte):

* V1 request ``{"instances": [{...lead fields...}, ...]}``;
  V1 response ``{"predictions": [{"lead_id", "probability", "score", "tier", "action", "sla"?,
  "model_version", "arm"?, "control_probability"?}, ...]}``, or ``{"explanations": [...]}`` from ``:explain``, whose
  entries carry the same fields (a lead shown with its factors was scored all the same).
* V2 (Open Inference Protocol) request ``{"inputs": [...]}`` with one tensor per feature
  column, or the ``records`` BYTES tensor of JSON-encoded leads; V2 response ``{"outputs": [...]}``
  with one tensor per field above (``model_version`` may instead sit at the top level),
  or one BYTES tensor of JSON-encoded scored leads.

Anything else is refused with the path of the offending field.
"""

from __future__ import annotations

import json
from typing import Any

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator

from leadscore.api.abexperiment import DURATION_PATTERN
from leadscore.api.wire import MAX_BATCH, RECORDS_TENSOR
from leadscore.collector.errors import invalid
from leadscore.errors import InvalidInputError


class ScoredLead(BaseModel):
    """One entry of the predictor's response."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)

    lead_id: str = Field(min_length=1, max_length=255)
    probability: float = Field(ge=0.0, le=1.0)
    score: float | None = Field(None, ge=0.0, le=100.0)
    tier: str | None = Field(None, max_length=32)
    action: str | None = Field(None, max_length=64)
    sla: str | None = Field(None, pattern=DURATION_PATTERN, max_length=32,
                            description="The tier's contact deadline (spec.scoring), e.g. 30m; None: none.")
    model_version: str = Field(min_length=1, max_length=128)
    arm: str | None = Field(None, max_length=63)
    control_probability: float | None = Field(
        None, ge=0.0, le=1.0, description="The control arm's probability (sticky experiments): the A/B covariate."
    )

    @field_validator("sla", mode="before")
    @classmethod
    def _no_deadline(cls, value: Any) -> Any:
        """V2 BYTES tensors carry a tier without a deadline as ``""``."""
        return None if value == "" else value


class _Tensor(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1)
    shape: list[int] = Field(min_length=1)
    datatype: str
    data: list[Any]


class _V1Request(BaseModel):
    instances: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_BATCH)


class _V1Response(BaseModel):
    predictions: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_BATCH)


class _V1Explanations(BaseModel):
    explanations: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_BATCH)


class _V2Request(BaseModel):
    inputs: list[_Tensor] = Field(min_length=1)


class _V2Response(BaseModel):
    model_version: str | None = None
    outputs: list[_Tensor] = Field(min_length=1)


def load_json(body: bytes) -> Any:
    """The JSON document of a body; anything unreadable is the caller's 400, never our 500:
    invalid JSON, nesting deeper than the parser's recursion limit, or an integer longer than
    Python's 4300-digit conversion limit."""
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"body: not valid JSON ({exc})") from exc
    except RecursionError:
        raise InvalidInputError("body: JSON nested too deeply") from None
    except ValueError as exc:  # int digits over sys.get_int_max_str_digits
        raise InvalidInputError(f"body: a number is out of range ({str(exc)[:60]})") from None


def _json_body(body: bytes) -> dict[str, Any]:
    document = load_json(body)
    if not isinstance(document, dict):
        raise InvalidInputError(f"body: expected a JSON object, got {type(document).__name__}")
    return document


def _validate(model: type[BaseModel], document: dict[str, Any]) -> Any:
    try:
        return model.model_validate(document)
    except pydantic.ValidationError as exc:
        raise invalid(exc) from exc


MAX_TENSOR_DEPTH = 8
"""Tensor data nested deeper than this is refused (a [N, 1] tensor needs 2)."""


def _flatten(data: list[Any], depth: int = 1) -> list[Any]:
    """Row-major flattening, so ``[[a], [b]]`` (shape ``[2, 1]``) reads like ``[a, b]``."""
    if depth > MAX_TENSOR_DEPTH:
        raise InvalidInputError(f"tensor data: nested more than {MAX_TENSOR_DEPTH} deep")
    flat: list[Any] = []
    for item in data:
        flat.extend(_flatten(item, depth + 1) if isinstance(item, list) else [item])
    return flat


def _decoded_records(tensor: _Tensor, where: str) -> list[dict[str, Any]]:
    items = _flatten(tensor.data)
    if len(items) > MAX_BATCH:
        raise InvalidInputError(f"{where}: {len(items)} records is more than the {MAX_BATCH} accepted")
    records = []
    for i, item in enumerate(items):
        try:
            record = load_json(item.encode()) if isinstance(item, str) else item
        except InvalidInputError as exc:
            reason = str(exc).removeprefix("body: ")
            raise InvalidInputError(f"{where}.data[{i}]: not a JSON record ({reason})") from exc
        if not isinstance(record, dict):
            raise InvalidInputError(f"{where}.data[{i}]: expected a JSON object, got {type(record).__name__}")
        records.append(record)
    return records


def _columns_to_records(tensors: list[_Tensor], where: str) -> list[dict[str, Any]]:
    """One record per row: a single BYTES tensor of JSON records, or one tensor per column."""
    if len(tensors) == 1 and tensors[0].datatype == "BYTES":
        flat = _flatten(tensors[0].data)
        if tensors[0].name == RECORDS_TENSOR or all(isinstance(v, str) and v.lstrip().startswith("{") for v in flat):
            return _decoded_records(tensors[0], f"{where}[0]")
    rows = tensors[0].shape[0]
    columns: dict[str, list[Any]] = {}
    for i, tensor in enumerate(tensors):
        values = _flatten(tensor.data)
        if tensor.shape[0] != rows or len(values) != rows:
            raise InvalidInputError(
                f"{where}[{i}] ({tensor.name}): expected {rows} values, one per row, "
                f"got shape {tensor.shape} with {len(values)} values"
            )
        columns[tensor.name] = values
    if rows > MAX_BATCH:
        raise InvalidInputError(f"{where}: {rows} rows is more than the {MAX_BATCH} accepted")
    return [{name: values[row] for name, values in columns.items()} for row in range(rows)]


def request_instances(body: bytes) -> list[dict[str, Any]]:
    """The lead records of a logged request (V1 ``instances`` or V2 ``inputs``)."""
    document = _json_body(body)
    if "instances" in document:
        return _validate(_V1Request, document).instances
    if "inputs" in document:
        return _columns_to_records(_validate(_V2Request, document).inputs, "inputs")
    raise InvalidInputError("body: expected 'instances' (V1) or 'inputs' (V2 infer request)")


def scored_leads(body: bytes) -> list[ScoredLead]:
    """The scored leads of a logged response (V1 ``predictions`` or V2 ``outputs``)."""
    document = _json_body(body)
    if "predictions" in document:
        records, where = _validate(_V1Response, document).predictions, "predictions"
    elif "explanations" in document:
        records, where = _validate(_V1Explanations, document).explanations, "explanations"
    elif "outputs" in document:
        response = _validate(_V2Response, document)
        records, where = _columns_to_records(response.outputs, "outputs"), "outputs"
        if response.model_version:
            records = [{"model_version": response.model_version, **r} for r in records]
    else:
        raise InvalidInputError("body: expected 'predictions' or 'explanations' (V1) or 'outputs' (V2 infer response)")
    leads = []
    for i, record in enumerate(records):
        try:
            leads.append(ScoredLead.model_validate(record))
        except pydantic.ValidationError as exc:
            raise invalid(exc, prefix=f"{where}[{i}]") from exc
    return leads
