"""V1 answers as JSON bytes built from the response columns, without one dict per lead.

``postprocess`` holds the answer as columns (one list per response field). Answering a dict
makes KServe's V1 route build and encode one dict per lead (``orjson``), which for 1,000 leads
costs more than everything else in ``postprocess``. Here each field is encoded once for the
whole request: numbers, booleans and nulls in one ``orjson`` call per field (so each value's text
is exactly ``orjson``'s), strings one by one with ``msgspec`` (whose string escaping equals
``orjson``'s for every code point: tests/unit/predictor/test_v1json.py), a field with the same
value for every lead once; each lead's object is then one ``%`` format of a template holding the
keys and those shared values. The bytes equal ``orjson.dumps`` of the dict answer, key order
included.
"""

from __future__ import annotations

from typing import Any

import msgspec
import orjson

_NUMBERS = frozenset({int, float, bool, type(None)})
"""Values whose JSON text never holds a comma, so one encoded list splits into them."""
_STRINGS = frozenset({str, int, bool, type(None)})
"""Values ``msgspec`` encodes exactly as ``orjson`` does (floats differ: ``1e+16`` vs ``1e16``)."""

Fragments = bytes | list[bytes]
"""One field's JSON text: shared by every lead, or one per lead."""


def _fragments(values: list[Any]) -> Fragments:
    first = values[0]
    if values.count(first) == len(values) and (
        first is None or type(first) is str or len(set(map(type, values))) == 1  # 1 == 1.0 == True, not in JSON
    ):
        return orjson.dumps(first)
    types = set(map(type, values))
    if types <= _NUMBERS:
        return orjson.dumps(values)[1:-1].split(b",")
    if types <= _STRINGS:
        return list(map(msgspec.json.encode, values))
    return list(map(orjson.dumps, values))


def encode_leads(top: str, columns: dict[str, list[Any]], sparse: tuple[str, list[Any]] | None = None) -> bytes:
    """``{top: [{field: value, ...} per lead]}`` as JSON bytes, fields in ``columns`` order;
    ``sparse`` is a field written last and only for the leads whose value is truthy (the
    clipped fields of the few leads that had any)."""
    size = len(next(iter(columns.values())))
    literal = [b"{"]
    varying: list[list[bytes]] = []
    for name, values in columns.items():
        literal[-1] += orjson.dumps(name) + b":"
        fragments = _fragments(values)
        if isinstance(fragments, bytes):
            literal[-1] += fragments + b","
        else:
            varying.append(fragments)
            literal.append(b",")
    literal[-1] = literal[-1][:-1]
    if sparse is not None:
        key = b"," + orjson.dumps(sparse[0]) + b":"
        varying.append([key + orjson.dumps(value) if value else b"" for value in sparse[1]])
        literal.append(b"")
    literal[-1] += b"}"
    if varying:
        template = b"%b".join(part.replace(b"%", b"%%") for part in literal)
        leads = [template % row for row in zip(*varying, strict=True)]
    else:
        leads = [literal[0]] * size
    return b"{" + orjson.dumps(top) + b":[" + b",".join(leads) + b"]}"
