"""The V1 fast path: raw JSON bytes decoded and type-checked in C (``msgspec``) straight into columns.

KServe's V1 route parses every JSON body into Python dicts, and the batch path then reads those
dicts field by field. Here the server hands the model the raw body instead (``raw_v1_decode``,
only for plain JSON V1 bodies with an ``instances`` key), and one ``msgspec`` decoder typed by the
feature contract parses, checks and transposes the leads: one ``Lead`` struct per lead with one
attribute per contract field (numbers for numeric fields, booleans, strings within the documented
lengths, integers within 64 bits, the lead id), then one list per field. The columns it gives are
marked typed, so ``leadscore.predictor.columnar`` does not check again what the decoder proved.

Like ``leadscore.predictor.columnar`` it only ever *accepts*. Any body the typed decoder refuses
(a numeric string, a negative count, an unknown field in strict mode, a bad timestamp later in the
column checks, invalid JSON ...) is parsed again the way KServe parses it, errors included, and
goes the usual way, which finds the first bad field and words the error exactly as before. So the
rules of what is valid stay in ``leadscore.features``; this is a shortcut for bodies that obey them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
import orjson
from kserve.errors import InvalidInput

from leadscore.features.contract import MAX_STRING_CHARS, MAX_TEXT_CHARS, InputField

_CLOUDEVENT = frozenset({"time", "type", "source", "id", "specversion", "data"})
"""A body with all of these is a structured CloudEvent, which KServe unwraps: left to KServe."""
_CLOUDEVENT_TYPE = "application/cloudevents+json"
"""The content type whose answer KServe wraps in a structured CloudEvent."""
_JSON_TYPES = ("application/json", _CLOUDEVENT_TYPE, "application/ld+json")
"""The content types KServe parses as JSON (``kserve.protocol.dataplane.JSON_HEADERS``)."""
_TOP = msgspec.json.Decoder(dict[str, msgspec.Raw])
_INT_RANGE = (-(2**63), 2**63 - 1)
"""Integers ``orjson`` surely reads (int64: msgspec's bounds go no further); unbounded, ``msgspec``
would take any (a 400-digit one too, which ``orjson`` refuses)."""
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")
"""A UTF-16 surrogate escape, which ``orjson`` (KServe's parser) refuses unpaired (a literal prefix:
searched at memchr speed)."""
_NUMBER_SHAPES = bytes(b"0"[0] if 0x30 <= i <= 0x39 else b"e"[0] if i in b"eE" else b" "[0] for i in range(256))
"""Digits to ``0``, ``e``/``E`` to ``e``, everything else to a space: a number beyond float range
(which ``orjson`` refuses) then shows as ``0e`` (an exponent) or a run of 309 ``0``."""


@dataclass(frozen=True)
class RawInstances:
    """A V1 body that KServe has not parsed: ``instances`` still as JSON text, and the whole body."""

    instances: msgspec.Raw
    body: bytes
    wrapped: bool = False
    """KServe wraps the answer in a CloudEvent (content type ``application/cloudevents+json``), so
    the model answers a dict; otherwise it may answer the JSON bytes (``leadscore.predictor.v1json``)."""
    alone: bool = False
    """The body holds nothing but ``{"instances": ...}`` (and whitespace), so ``msgspec`` has read
    every byte of it once the instances are decoded."""

    def parsed(self) -> Any:
        """The body as KServe would have parsed it (``orjson``), with KServe's error on invalid JSON."""
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError as exc:
            raise InvalidInput(f"Unrecognized request format: {exc}") from None


def split_v1(body: bytes, *, wrapped: bool = False) -> RawInstances | None:
    """The body's ``instances`` left unparsed, or None for anything else (KServe then decodes it)."""
    try:
        top = _TOP.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):  # msgspec: nesting thousands deep
        return None
    if "instances" not in top or top.keys() >= _CLOUDEVENT:
        return None
    instances = top["instances"]
    # one key, and too few bytes left over to hide a repeated "instances" ('"instances":0,' is 14)
    alone = len(top) == 1 and len(body) - len(instances) < 2 * len(b'{"instances":}')
    return RawInstances(instances, body, wrapped, alone)


def raw_v1_decode(decode: Callable[..., tuple[Any, dict[str, Any]]], body: Any, headers: Any,
                  protocol_version: str = "v1", model_name: str | None = None) -> tuple[Any, dict[str, Any]]:
    """In place of KServe's ``DataPlane.decode``: a plain JSON V1 body goes to the model unparsed
    (``RawInstances``); everything else (V2, CloudEvents, other content types) as KServe decodes it."""
    content_type = headers.get("content-type", "application/json") if headers is not None else None
    if (type(body) is bytes and protocol_version == "v1" and content_type in _JSON_TYPES
            and not any(key.startswith("ce-") for key in headers)):
        raw = split_v1(body, wrapped=content_type == _CLOUDEVENT_TYPE)
        if raw is not None:
            return raw, {}
    return decode(body, headers, protocol_version, model_name)


def _annotation(field: InputField) -> Any:
    """The JSON values ``columnar`` takes as plainly valid for the field, as a msgspec type."""
    if field.kind == "numeric":
        number = float if field.minimum is None else Annotated[float, msgspec.Meta(ge=field.minimum)]
        return number | None
    if field.kind == "boolean":
        return bool | None
    if field.kind == "text":
        return Annotated[str, msgspec.Meta(max_length=MAX_TEXT_CHARS)] | None
    if field.kind == "datetime":
        return str | None
    short = Annotated[str, msgspec.Meta(max_length=MAX_STRING_CHARS)]
    whole = Annotated[int, msgspec.Meta(ge=_INT_RANGE[0], le=_INT_RANGE[1])]
    return short | whole if field.required else short | whole | None  # categorical, id


class TypedLeads:
    """One contract's V1 decoder: ``instances`` JSON -> one list of values per field, or None."""

    def __init__(self, fields: Iterable[InputField], id_field: str, *, strict: bool) -> None:
        fields = list(fields)
        if id_field not in {f.name for f in fields}:
            fields.append(InputField(name=id_field, kind="id"))
        self.names = [f.name for f in fields]
        attributes = [(f"f{i}", _annotation(f), None) for i, f in enumerate(fields)]
        rename = {f"f{i}": f.name for i, f in enumerate(fields)}
        known = msgspec.defstruct("Lead", attributes, rename=rename, forbid_unknown_fields=True, kw_only=True, gc=False)
        self._known = msgspec.json.Decoder(list[known])  # type: ignore[valid-type]
        self._lenient = None
        if not strict:
            lead = msgspec.defstruct("Lead", attributes, rename=rename, kw_only=True, gc=False)
            self._lenient = msgspec.json.Decoder(list[lead])  # type: ignore[valid-type]

    def columns(self, raw: RawInstances) -> dict[str, list[Any]] | None:
        """Each field's values, lead by lead (None where a lead lacks it); None when any lead is
        not plainly valid, or the instances are not a list of lead objects.

        When every field of every lead is a contract field and the body holds nothing else,
        ``msgspec`` has read each byte of it, and what it accepts ``orjson`` accepts
        (tests/unit/predictor/test_typed.py tries the edge cases): no byte scans are needed. Leads
        with fields the model ignores (skipped unchecked) take the scans of ``_as_orjson_parses``."""
        try:
            leads = self._known.decode(raw.instances)
            exact = raw.alone
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):  # msgspec: nesting thousands deep
            if self._lenient is None:
                return None
            try:
                leads = self._lenient.decode(raw.instances)
            except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
                return None
            exact = False
        if not leads or not (exact or _as_orjson_parses(raw.body, len(leads))):
            return None
        return dict(zip(self.names, map(list, zip(*map(msgspec.structs.astuple, leads), strict=True)), strict=True))


def _as_orjson_parses(body: bytes, leads: int) -> bool:
    """True when ``orjson`` would parse ``body`` too, even the fields the typed decoder skipped
    (so a body KServe refused is never scored): no nesting beyond the body, its ``instances`` and
    one object per lead (deep nesting; a bracket in a string also counts, harmlessly), valid
    UTF-8, no unpaired surrogate escape, no number with an exponent (conservative: also inside a
    string) or of 309 digits. Each check is a C scan of the body (about 1 ms for 700 KB)."""
    if body.count(b"{") + body.count(b"[") != 2 + leads or _SURROGATE.search(body):
        return False
    shapes = body.translate(_NUMBER_SHAPES)
    if b"0e" in shapes or b"0" * 309 in shapes:
        return False
    if not body.isascii():
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            return False
    return True
