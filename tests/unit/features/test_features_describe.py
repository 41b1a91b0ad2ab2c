"""describe: the phrase a sales rep reads next to an explanation factor."""

from __future__ import annotations

import pytest

from leadscore.features import describe


@pytest.mark.parametrize(("field", "value", "phrase"), [
    ("pages_visited", 12, "visited 12 pages"),
    ("requested_quote", True, "requested a quote"),
    ("requested_quote", 0, "did not request a quote"),
    ("has_email", "yes", "provided an e-mail address"),
    ("contact_completeness", 0.8, "contact details 80% complete"),
    ("time_on_site", 95.0, "spent 95 seconds on the site"),
    ("agent_conversion_rate", 0.25, "agent converts 25% of leads"),
    ("source", "referral", "came from referral"),
    ("Lead Source", "Google", "came from Google"),
    ("insurance_type", "home", "wants home insurance"),
    ("property_price", 350000.0, "property priced at 350,000"),
    ("favourite_number", 2.345, "favourite_number is 2.35"),
    ("member", False, "member: no"),
    ("colour", "blue", "colour is blue"),
    ("pages_visited", None, "pages_visited not given"),
    ("pages_visited", float("nan"), "pages_visited not given"),
])
def test_describe_phrases_known_fields_and_falls_back_for_others(field: str, value: object, phrase: str) -> None:
    assert describe(field, value) == phrase
