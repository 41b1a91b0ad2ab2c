"""One-line messages for bad payloads, naming the field, the problem and the value given."""

from __future__ import annotations

import pydantic

from leadscore.errors import InvalidInputError, dotted, one_line


def invalid(exc: pydantic.ValidationError, prefix: str = "") -> InvalidInputError:
    """Our own ``InvalidInputError`` (HTTP 400) carrying ``one_line``'s message, fields after ``prefix``."""
    return InvalidInputError(one_line(exc, lambda loc: dotted(loc, prefix)))
