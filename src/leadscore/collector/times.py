"""Which times the collector believes: an outcome's ``occurred_at`` and a logged event's ``ce-time``.

Both must lie between ``EARLIEST`` (2000-01-01, before any lead this platform scored) and two
days after the collector's clock (``FUTURE_SLACK``: clock skew, time zones, and a CRM that books
an outcome for the next working morning). A time with an
offset that has no UTC equivalent (``0001-01-01T00:00:00+14:00``) is refused, not a 500.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=2)


def plausible_utc(value: datetime, now: datetime | None = None) -> datetime:
    """``value`` in UTC (naive read as UTC); ValueError (pydantic's 400) when implausible."""
    try:
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is outside the range of UTC times") from None
    if not EARLIEST <= value <= (now or datetime.now(UTC)) + FUTURE_SLACK:
        raise ValueError(f"must lie between {EARLIEST:%Y-%m-%d} and two days from now")
    return value
