"""The root of leadscore's own exceptions, each with the exit code its CLI reports.

Exit codes are part of the trainer image's contract (trainer/CONTRACT.md): the operator
copies the message of a failed Job into the model's condition, so every message names the
field, the problem and what was given, on one line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

Location = tuple[int | str, ...]


class HasErrors(Protocol):
    """pydantic's ``ValidationError`` or FastAPI's ``RequestValidationError``."""

    def errors(self) -> Sequence[Mapping[str, Any]]: ...


class LeadscoreError(Exception):
    """Anything leadscore refuses on purpose; ``exit_code`` is what the CLI exits with."""

    exit_code = 1
    reason = "Error"


class ConfigError(LeadscoreError):
    """An option, environment variable or spec value that can never work."""

    exit_code = 2
    reason = "InvalidConfig"


class DatasetError(LeadscoreError):
    """The data cannot be loaded or fails validation (missing file, bad target, ...)."""

    exit_code = 3
    reason = "InvalidDataset"


class LeakageError(DatasetError):
    """A column leaks the label; refused unless ``--allow-leaky`` is given."""

    exit_code = 4
    reason = "LeakyColumns"


class TrainingError(LeadscoreError):
    """Training could not produce a model worth shipping."""

    exit_code = 5
    reason = "TrainingFailed"


class ParityError(TrainingError):
    """ONNX scores differ from the native model's by more than the tolerance."""

    exit_code = 6
    reason = "OnnxParityFailed"


class StorageError(LeadscoreError):
    """An artifact or object could not be read or written."""

    exit_code = 7
    reason = "StorageFailed"


class InvalidInputError(LeadscoreError):
    """Invalid input to a pure function or an endpoint (statistics, payloads, ...); HTTP 400.
    (Not pydantic's ``ValidationError``, which ``one_line`` turns into one of these messages.)"""

    exit_code = 2
    reason = "InvalidInput"


class InsufficientDataError(LeadscoreError):
    """Too few observations for a verdict (a drift window below its minimum sample, ...)."""

    exit_code = 8
    reason = "InsufficientData"
class ClusterError(LeadscoreError):
    """The Ray cluster (``--engine ray``) cannot be reached or lost a worker mid-run: the same
    inputs may succeed once it is back, so the operator retries it."""

    exit_code = 9
    reason = "ClusterUnavailable"


PERMANENT: tuple[type[LeadscoreError], ...] = (ConfigError, DatasetError, LeakageError, ParityError)
"""Failures that running again on the same inputs cannot fix: the operator does not retry them."""
PERMANENT_EXIT_CODES: tuple[int, ...] = tuple(sorted({error.exit_code for error in PERMANENT}))


def reason_of_exit_code(code: int) -> str | None:
    """The reason a CLI exit code stands for (``9`` -> ``ClusterUnavailable``), for a failure seen
    only by its exit code (a RayJob's ``... failed with exit code 9``); None for 1 (a bug) and unknown codes."""
    return next((kind.reason for kind in _subclasses(LeadscoreError) if kind.exit_code == code), None)


def _subclasses(kind: type[LeadscoreError]) -> list[type[LeadscoreError]]:
    direct = kind.__subclasses__()
    return [found for sub in direct for found in (sub, *_subclasses(sub))]


_MAX_SHOWN = 3


def dotted(loc: Location, prefix: str = "") -> str:
    """``("outcomes", 2, "occurred_at")`` -> ``outcomes[2].occurred_at`` (after ``prefix``)."""
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


def one_line(exc: HasErrors, where: Callable[[Location], str] = dotted) -> str:
    """A pydantic error as one line naming the field, the problem and the value given:
    ``outcomes[2].occurred_at: Input should be a valid datetime (got 'yesterday')``; at most
    three errors. ``where`` names a field the way the user set it (a flag, a variable)."""
    errors = exc.errors()
    parts = []
    for error in errors[:_MAX_SHOWN]:
        message = f"{where(tuple(error['loc']))}: {error['msg']}"
        if error["type"] != "missing" and "input" in error:
            message += f" (got {_shown(error['input'])})"
        parts.append(message)
    more = len(errors) - _MAX_SHOWN
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)
