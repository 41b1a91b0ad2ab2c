"""How figures read in reasons, tables and reports: one spelling everywhere."""

from __future__ import annotations

import math

MISSING = "—"


def percent(value: float | None, *, signed: bool = False, digits: int = 2) -> str:
    """0.1234 -> '12.34%' (or '+12.34%'); open interval ends read '+inf' / '-inf'."""
    if value is None or math.isnan(value):
        return MISSING
    if math.isinf(value):
        return "+inf" if value > 0 else "-inf"
    return f"{value:+.{digits}%}" if signed else f"{value:.{digits}%}"


def number(value: float | None) -> str:
    """Four significant digits; p-values such as 3.2e-07 stay readable."""
    return MISSING if value is None else f"{value:.4g}"
