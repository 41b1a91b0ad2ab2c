"""Short human phrases for explanation factors: ``describe("pages_visited", 12)`` -> "visited 12 pages".

The predictor's explanations name raw fields (``feature_origin_``) with the lead's value;
these phrases are what a sales rep reads next to the score. Known lead fields get a phrase
of their own; anything else gets a neutral "field is value".
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from leadscore.data.schema import boolean_value


def _number(value: Any) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(number):
        return "unknown"
    return f"{number:,.0f}" if number.is_integer() or abs(number) >= 100 else f"{number:.2f}"


def _flag(yes: str, no: str) -> Callable[[Any], str]:
    return lambda value: yes if boolean_value(value) == 1 else no


def _count(template: str) -> Callable[[Any], str]:
    return lambda value: template.format(_number(value))


def _share(template: str) -> Callable[[Any], str]:
    def phrase(value: Any) -> str:
        try:
            return template.format(f"{float(value):.0%}")
        except (TypeError, ValueError):
            return template.format(value)
    return phrase


# normalized field name pattern -> phrase maker (first match wins)
_PHRASES: list[tuple[str, Callable[[Any], str]]] = [
    (r"(requested_)?quote(_requested)?", _flag("requested a quote", "did not request a quote")),
    (r"form_completed", _flag("completed the form", "did not complete the form")),
    (r"return_visitor", _flag("is a returning visitor", "is a first-time visitor")),
    (r"mobile(_device)?", _flag("came from a mobile device", "came from a desktop")),
    (r"has_email|email(_present)?", _flag("provided an e-mail address", "gave no e-mail address")),
    (r"has_phone|phone(_present)?", _flag("provided a phone number", "gave no phone number")),
    (r"has_full_name|full_name(_present)?", _flag("gave a full name", "gave no full name")),
    (r"has_address|address(_present)?", _flag("gave an address", "gave no address")),
    (r"has_zip(code)?|zip(code)?(_present)?", _flag("gave a zip code", "gave no zip code")),
    (r"contact_completeness", _share("contact details {} complete")),
    (r"pages?_visited|page_views", _count("visited {} pages")),
    (r"time_on_site(_seconds)?", _count("spent {} seconds on the site")),
    (r"time_per_page", _count("spent {} seconds per page")),
    (r"inbound_share", _share("{} of messages were inbound")),
    (r"inbound_messages", _count("sent {} messages")),
    (r"outbound_messages", _count("received {} messages")),
    (r"appointments?(_count)?", _count("booked {} appointments")),
    (r"response_time_minutes", _count("was answered after {} minutes")),
    (r"agent_conversion_rate", _share("agent converts {} of leads")),
    (r"agent_avg_response_time", _count("agent answers in {} minutes on average")),
    (r"agent_rating", _count("agent rated {} of 5")),
    (r"days_since_creation", _count("created {} days ago")),
    (r"property_price", _count("property priced at {}")),
    (r"source_engagement_level|source_quality", _count("source quality {} of 3")),
    (r"(lead_)?source", lambda v: f"came from {v}"),
    (r"utm_(source|medium|campaign)", lambda v: f"campaign tag {v}"),
    (r"state", lambda v: f"is in {v}"),
    (r"insurance_type", lambda v: f"wants {v} insurance"),
    (r"created_at|.*_at", lambda v: f"created at {v}"),
]


def describe(field: str, value: Any) -> str:
    """A short phrase for a raw field (or derived factor) and the lead's value."""
    key = re.sub(r"[^a-z0-9]+", "_", field.lower()).strip("_")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"{field} not given"
    for pattern, phrase in _PHRASES:
        if re.fullmatch(pattern, key):
            return phrase(value)
    if isinstance(value, bool):
        return f"{field}: {'yes' if value else 'no'}"
    if isinstance(value, int | float):
        return f"{field} is {_number(value)}"
    return f"{field} is {value}"
