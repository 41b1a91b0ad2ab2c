"""Moments given on the command line: ``--since`` of the export, ``--since/--from/--to`` of ``score``."""

from __future__ import annotations

from datetime import UTC, date, datetime

from leadscore.errors import ConfigError


def parse_time(value: str, option: str, now: datetime | None = None) -> datetime:
    """A date (midnight UTC), an ISO timestamp (UTC when it names no zone), or an age such as
    180d (that long before ``now``: what a scheduled export wants)."""
    from leadscore.experiments.settings import parse_duration

    if value[:1].isdigit() and value[-1:] in "dhms" and "-" not in value:
        try:
            return (now or datetime.now(UTC)) - parse_duration(value)
        except ValueError as exc:
            raise ConfigError(f"{option}: {exc}") from None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(
            f"{option}: expected a date like 2026-01-31, an ISO timestamp or an age like 180d, got {value!r}"
        ) from None
    if len(value) <= 10:
        parsed = datetime.combine(date.fromisoformat(value), datetime.min.time())
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed
