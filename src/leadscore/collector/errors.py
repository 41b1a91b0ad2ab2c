"""One-line messages for bad payloads, naming the field, the problem and the value given."""

from __future__ import annotations

from typing import Any

import pydantic

from leadscore.errors import ValidationError

_MAX_SHOWN = 3


def _location(prefix: str, loc: tuple[int | str, ...]) -> str:
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path and not path.endswith("-") else str(part)
    return path or "body"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def describe(exc: pydantic.ValidationError, prefix: str = "") -> str:
    """``outcomes[2].occurred_at: Input should be a valid datetime (got 'yesterday')``; at most three."""
    parts = []
    for error in exc.errors(include_url=False)[:_MAX_SHOWN]:
        message = f"{_location(prefix, error['loc'])}: {error['msg']}"
        if error["type"] != "missing":
            message += f" (got {_shown(error['input'])})"
        parts.append(message)
    more = exc.error_count() - _MAX_SHOWN
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)


def invalid(exc: pydantic.ValidationError, prefix: str = "") -> ValidationError:
    """Our own ``ValidationError`` (HTTP 400) carrying ``describe``'s message."""
    return ValidationError(describe(exc, prefix))
