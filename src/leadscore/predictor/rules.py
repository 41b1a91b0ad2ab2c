"""The rule-based baseline: the points system the ML scorers replace, usable as an A/B arm.

The source systems (seeds 000 and 003) ran a rule-based composite score (0-100) as the
control of their "ML vs rule-based" experiments. An ``ABExperiment`` may name that baseline
as its control, so it must answer exactly like a model arm: a score, a tier, an action and,
for ``:explain``, the points each rule gave (contributions in points, summing to the score).

Points, from the seed's feature families (intent, engagement, contact, timing):

| rule | points |
|---|---|
| requested a quote | 25 |
| completed the form | 15 |
| contact completeness (share of e-mail, phone, name, address, zip given) | up to 20 |
| pages visited (2 per page, capped) | up to 10 |
| time on site (1 per 30 s, capped) | up to 10 |
| returning visitor | 10 |
| source engagement level 0-3 | up to 5 |
| created in business hours (Mon-Fri 9-17 UTC) | 5 |

A field the lead does not carry earns nothing. The "probability" of this arm is the score
divided by 100: the rules were never calibrated, which is why they make a weak control.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from leadscore.features.parsing import is_missing, to_epoch_seconds, to_flag, to_number

RULES_VERSION = "rules-v1"

# (flag field, raw fields...): a ``has_*`` flag wins when given, else any raw value counts.
_CONTACT_FIELDS = (
    ("has_email", "email", "email_address"),
    ("has_phone", "phone", "phone_number"),
    ("has_full_name", "full_name", "name"),
    ("has_address", "address", "street_address"),
    ("has_zipcode", "zipcode", "zip", "zip_code", "postal_code"),
)


def _first(record: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        if name in record and not is_missing(record[name]):
            return record[name]
    return None


def _flag_points(points: float, *names: str) -> Callable[[Mapping[str, Any]], tuple[float, Any]]:
    def rule(record: Mapping[str, Any]) -> tuple[float, Any]:
        value = _first(record, *names)
        return (points if to_flag(value) == 1.0 else 0.0), value

    return rule


def _capped(per_unit: float, cap: float, *names: str) -> Callable[[Mapping[str, Any]], tuple[float, Any]]:
    def rule(record: Mapping[str, Any]) -> tuple[float, Any]:
        value = _first(record, *names)
        number = to_number(value)
        return (0.0 if math.isnan(number) else max(0.0, min(cap, number * per_unit))), value

    return rule


def _contact(record: Mapping[str, Any]) -> tuple[float, Any]:
    given = 0
    for flag, *raw in _CONTACT_FIELDS:
        flagged = _first(record, flag)
        given += to_flag(flagged) == 1.0 if flagged is not None else _first(record, *raw) is not None
    share = given / len(_CONTACT_FIELDS)
    return 20.0 * share, share


def _business_hours(record: Mapping[str, Any]) -> tuple[float, Any]:
    value = _first(record, "created_at", "lead_created_at", "timestamp")
    seconds = to_epoch_seconds(value)
    if math.isnan(seconds):
        return 0.0, value
    days, rest = divmod(seconds, 86400.0)
    weekday, hour = (int(days) + 3) % 7, rest // 3600.0  # 1970-01-01 was a Thursday
    return (5.0 if weekday < 5 and 9 <= hour < 17 else 0.0), value


@dataclass(frozen=True)
class Rule:
    """One line of the points table: the factor it explains and how it scores a record."""

    factor: str
    score: Callable[[Mapping[str, Any]], tuple[float, Any]]


RULES: tuple[Rule, ...] = (
    Rule("requested_quote", _flag_points(25.0, "requested_quote", "quote_requested")),
    Rule("form_completed", _flag_points(15.0, "form_completed")),
    Rule("contact_completeness", _contact),
    Rule("pages_visited", _capped(2.0, 10.0, "pages_visited", "page_views")),
    Rule("time_on_site", _capped(1.0 / 30.0, 10.0, "time_on_site", "time_on_site_seconds")),
    Rule("return_visitor", _flag_points(10.0, "return_visitor")),
    Rule("source_engagement_level", _capped(5.0 / 3.0, 5.0, "source_engagement_level")),
    Rule("created_at", _business_hours),
)


def rule_points(records: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, list[list[tuple[str, Any]]]]:
    """Points per (lead, rule) as a [N, rules] matrix, and the value each rule looked at."""
    points = np.zeros((len(records), len(RULES)), dtype=np.float64)
    values: list[list[tuple[str, Any]]] = []
    for i, record in enumerate(records):
        row = []
        for j, rule in enumerate(RULES):
            points[i, j], value = rule.score(record)
            row.append((rule.factor, value))
        values.append(row)
    return points, values


def rule_scores(records: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """The 0-100 composite score of each lead."""
    points, _ = rule_points(records)
    return points.sum(axis=1)
