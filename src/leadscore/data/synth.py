"""Synthetic insurance / B2B leads with a known conversion probability.

Each vertical is a fixed "world" (agents, campaigns, state effects drawn from a seed derived
from the vertical's name); ``seed`` only draws leads from it, so two seeds give two samples
of the same process and a model trained on one can be checked on the other.

The label is drawn from ``true_probability``, a logistic function of the *observed* columns
(missing values included as their own effect; the free-text ``inquiry`` counts by its sentences,
phone number, budget and years), so a model that learns the function reaches
the truth's Brier score and no better. Twelve months of ``created_at`` carry covariate
drift (more mobile and paid traffic, fewer referrals, over the year) and a mild trend in the
base rate. ``true_probability`` is listed in ``GROUND_TRUTH_COLUMNS``: the schema always
excludes it, so training never sees it.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import pandas as pd

from leadscore.api.leadscoringmodel import Vertical
from leadscore.data.schema import GROUND_TRUTH_COLUMNS

VERTICALS: tuple[Vertical, ...] = get_args(Vertical)
TARGET = "converted"
ID_COLUMN = "lead_id"
TIME_COLUMN = "created_at"
TEXT_COLUMN = "inquiry"
"""The free-text column whose words carry signal (declared text in the demo)."""
START = pd.Timestamp("2025-01-01")
SNAPSHOT = pd.Timestamp("2026-01-15")

_SOURCES = ["web", "referral", "paid_search", "social", "partner", "aggregator", "call_center"]
_SOURCE_EFFECT = np.array([0.0, 0.55, -0.1, -0.45, 0.3, -0.6, 0.2])
_SOURCE_SHARE_START = np.array([0.30, 0.16, 0.14, 0.08, 0.10, 0.14, 0.08])
_SOURCE_SHARE_END = np.array([0.26, 0.08, 0.24, 0.16, 0.08, 0.12, 0.06])
_INDUSTRIES = ["construction", "retail", "restaurant", "tech", "healthcare", "transport", "manufacturing",
               "professional"]
_INDUSTRY_EFFECT = np.array([-0.2, 0.0, -0.3, 0.25, 0.15, -0.1, 0.05, 0.2])
_BROWSERS = ["chrome", "safari", "edge", "firefox", "samsung_internet", "other"]
_BROWSER_EFFECT = np.array([0.0, 0.05, 0.1, 0.05, -0.15, -0.25])
_BROWSER_MOBILE = np.array([0.45, 0.38, 0.01, 0.02, 0.10, 0.04])
_BROWSER_DESKTOP = np.array([0.62, 0.12, 0.15, 0.08, 0.0, 0.03])
_STATES = ["CA", "TX", "FL", "NY", "PA", "IL", "OH", "GA", "NC", "MI", "NJ", "VA", "WA", "AZ",
           "MA", "TN", "IN", "MO", "MD", "CO"]
_UTM_SOURCES = ["google", "facebook", "bing", "newsletter", "partner_site", "linkedin"]
_UTM_MEDIUMS = ["cpc", "organic", "email", "social", "referral", "display"]
_FLAGS = {"has_email", "has_phone", "has_full_name", "has_address", "has_zipcode", "form_completed",
          "requested_quote", "return_visitor", "mobile_device"}
_COUNTS = {"pages_visited", "time_on_site", "inbound_messages", "outbound_messages", "appointments",
           "response_time_minutes", "source_engagement_level", "applicant_age", "household_size", "employees"}
_AMOUNTS = {"agent_conversion_rate", "agent_avg_response_time", "agent_rating", "property_price"}
_NOTE_PHRASES = [
    "asked about coverage options", "wants a call back tomorrow", "comparing several quotes",
    "left a voicemail", "asked about discounts", "needs coverage to start next month",
    "price was a concern", "sent documents by email", "prefers text messages",
    "referred by a friend", "no answer on first call", "interested in bundling",
]
# The lead's own words on the web form, each with its effect on the log-odds: the words carry signal
# no other column has (the phone number, budget and years add to it), so declaring ``inquiry`` a text
# column (TF-IDF, keyword flags, patterns, amounts) pays off where its length alone cannot.
_INQUIRY: tuple[tuple[str, float], ...] = (
    ("Ready to buy a policy this week.", 0.8),
    ("Please call me back today.", 0.6),
    ("Switching from my current provider.", 0.5),
    ("Need a quote before my renewal.", 0.4),
    ("What does the basic plan cover?", 0.0),
    ("Send me more information by mail.", -0.1),
    ("Comparing prices from several companies.", -0.2),
    ("Not sure I need this yet.", -0.5),
    ("Just browsing for now.", -0.6),
    ("Maybe next year.", -0.7),
    ("Filled this in by mistake.", -1.2),
)


@dataclass(frozen=True)
class VerticalProfile:
    """How leads of one vertical look and convert."""

    positive_rate: float
    products: tuple[str, ...]
    product_column: str
    product_effect: tuple[float, ...]
    extra: Literal["property", "age", "company"]
    quote_effect: float = 1.1
    agents: int = 40
    campaigns: int = 48


PROFILES: dict[Vertical, VerticalProfile] = {
    "pc": VerticalProfile(0.12, ("auto", "home", "renters", "umbrella", "condo"), "insurance_type",
                          (0.0, 0.25, -0.3, 0.35, 0.1), "property"),
    "health": VerticalProfile(0.18, ("individual", "family", "medicare", "dental", "short_term"),
                              "insurance_type", (0.0, 0.2, 0.35, -0.4, -0.25), "age", quote_effect=0.9),
    "commercial": VerticalProfile(
        0.07, ("general_liability", "workers_comp", "commercial_auto", "bop", "cyber"),
        "insurance_type", (0.0, 0.3, 0.1, 0.2, -0.2), "company", quote_effect=1.3),
    "generic": VerticalProfile(
        0.25, ("starter", "professional", "enterprise", "buy_home", "sell_home"),
        "product_interest", (0.0, 0.2, 0.4, 0.1, -0.1), "property", quote_effect=0.8),
}


def _world(vertical: Vertical, profile: VerticalProfile) -> dict[str, np.ndarray]:
    """Fixed per-vertical parameters: agent skills, campaign and state effects."""
    rng = np.random.default_rng(zlib.crc32(vertical.encode()))
    return {
        "agent_rate": np.clip(rng.beta(4, 14, profile.agents), 0.03, 0.6),
        "agent_response": rng.gamma(3.0, 12.0, profile.agents),
        "agent_rating": np.clip(rng.normal(4.0, 0.5, profile.agents), 1.0, 5.0).round(1),
        "campaign_effect": rng.normal(0.0, 0.35, profile.campaigns),
        "campaign_weight": rng.dirichlet(np.full(profile.campaigns, 0.8)),
        "state_effect": rng.normal(0.0, 0.15, len(_STATES)),
        "state_weight": rng.dirichlet(np.full(len(_STATES), 3.0)),
    }


def _with_missing(
    rng: np.random.Generator, values: np.ndarray, share: float
) -> tuple[np.ndarray, np.ndarray]:
    """``values`` as object array with ``share`` of entries set to None; also the missing mask."""
    missing = rng.random(len(values)) < share
    out = values.astype(object)
    out[missing] = None
    return out, missing


def _created_at(rng: np.random.Generator, rows: int) -> np.ndarray:
    """Twelve months of timestamps, busier on weekdays and in business hours, sorted."""
    days = np.sort(rng.integers(0, 365, rows))
    weekday = (START + pd.to_timedelta(days, unit="D")).dayofweek.to_numpy()
    weekend = weekday >= 5
    keep = ~weekend | (rng.random(rows) < 0.6)
    days = np.where(keep, days, np.clip(days - (weekday - 4), 0, 364))
    hours = np.where(rng.random(rows) < 0.7, rng.integers(9, 17, rows), rng.integers(0, 24, rows))
    seconds = days * 86400 + hours * 3600 + rng.integers(0, 3600, rows)
    return np.sort(START.to_datetime64() + seconds.astype("timedelta64[s]"))


def _categorical(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One level index per row from per-row level weights of shape (rows, levels)."""
    cumulative = weights.cumsum(axis=1)
    draws = rng.random((len(weights), 1)) * cumulative[:, -1:]
    return (draws > cumulative).sum(axis=1)


def _intercept(logit: np.ndarray, rate: float) -> float:
    """The shift that makes the mean probability ``rate`` (bisection; the mean is monotone)."""
    low, high = -15.0, 15.0
    for _ in range(60):
        middle = (low + high) / 2
        if (1 / (1 + np.exp(-(logit + middle)))).mean() < rate:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def generate(vertical: Vertical, rows: int, seed: int) -> pd.DataFrame:
    """``rows`` leads of ``vertical`` drawn with ``seed``; see the module docstring."""
    if vertical not in PROFILES:
        raise ValueError(f"vertical must be one of {', '.join(VERTICALS)}, got {vertical!r}")
    if rows < 1:
        raise ValueError(f"rows must be at least 1, got {rows}")
    profile = PROFILES[vertical]
    world = _world(vertical, profile)
    rng = np.random.default_rng(seed)
    created = _created_at(rng, rows)
    t = ((created - START.to_datetime64()) / np.timedelta64(365, "D")).astype(np.float64)
    logit = np.zeros(rows)
    columns: dict[str, object] = {ID_COLUMN: [f"{vertical}-{seed}-{i:07d}" for i in range(rows)],
                                  TIME_COLUMN: created}

    # Traffic: source mix drifts over the year; mobile share grows.
    shares = _SOURCE_SHARE_START + np.outer(t, _SOURCE_SHARE_END - _SOURCE_SHARE_START)
    source = _categorical(rng, shares)
    logit += _SOURCE_EFFECT[source]
    columns["source"] = np.array(_SOURCES)[source]
    mobile = rng.random(rows) < 0.45 + 0.2 * t
    logit -= 0.2 * mobile
    columns["mobile_device"] = mobile
    browser = np.where(mobile, _categorical(rng, np.tile(_BROWSER_MOBILE, (rows, 1))),
                       _categorical(rng, np.tile(_BROWSER_DESKTOP, (rows, 1))))
    logit += _BROWSER_EFFECT[browser]
    columns["browser"] = np.array(_BROWSERS)[browser]

    # Contact completeness: five flags, more complete for referrals and partners.
    completeness_bias = np.where(np.isin(source, [1, 4]), 0.9, 0.7)
    given = {name: rng.random(rows) < completeness_bias * share for name, share in
             (("has_email", 1.15), ("has_phone", 1.05), ("has_full_name", 1.1),
              ("has_address", 0.8), ("has_zipcode", 0.95))}
    completeness = np.mean(list(given.values()), axis=0)
    logit += 1.0 * (completeness - 0.6)
    for name, flag in given.items():
        columns[name], _ = _with_missing(rng, flag, 0.02)

    # Engagement.
    engaged = rng.normal(0.0, 1.0, rows) + 0.4 * np.isin(source, [1, 4])
    pages = np.maximum(1, rng.poisson(np.exp(1.2 + 0.35 * engaged - 0.15 * t)))
    time_on_site = np.round(pages * rng.gamma(2.0, 35.0, rows))
    form = rng.random(rows) < 1 / (1 + np.exp(-(0.2 + 0.8 * engaged)))
    quote = rng.random(rows) < 1 / (1 + np.exp(-(-0.9 + 0.7 * engaged + 0.6 * form)))
    returning = rng.random(rows) < 0.25 + 0.1 * (engaged > 0.5)
    source_quality = np.clip(np.round(1.5 + 0.6 * engaged + rng.normal(0, 0.7, rows)), 0, 3)
    pages_obs, pages_missing = _with_missing(rng, pages, 0.05)
    time_obs, time_missing = _with_missing(rng, time_on_site, 0.08)
    logit += np.where(pages_missing, -0.1, 0.4 * np.log1p(pages))
    logit += np.where(time_missing, 0.0, 0.2 * np.log1p(time_on_site / 60))
    logit += profile.quote_effect * quote + 0.5 * form + 0.3 * returning + 0.3 * quote * returning
    logit += 0.22 * source_quality
    columns.update(form_completed=form, requested_quote=quote, pages_visited=pages_obs,
                   time_on_site=time_obs, return_visitor=returning, source_engagement_level=source_quality)

    # Agents: skill matters; 10% of leads are not assigned yet (agent columns missing).
    agent = rng.integers(0, profile.agents, rows)
    unassigned = rng.random(rows) < 0.1
    rate = world["agent_rate"][agent]
    logit += np.where(unassigned, -0.3, 3.0 * (rate - 0.22) + 0.25 * (world["agent_rating"][agent] - 4.0))
    for name, values in (("agent_id", np.array([f"agent_{a:03d}" for a in agent])),
                         ("agent_conversion_rate", rate.round(4)),
                         ("agent_avg_response_time", world["agent_response"][agent].round(1)),
                         ("agent_rating", world["agent_rating"][agent])):
        column = values.astype(object)
        column[unassigned] = None
        columns[name] = column

    # Marketing attribution: utm_* missing for direct traffic; campaigns are many small levels.
    utm_missing = rng.random(rows) < 0.2
    campaign = rng.choice(profile.campaigns, size=rows, p=world["campaign_weight"])
    logit += np.where(utm_missing, 0.0, world["campaign_effect"][campaign])
    for name, values in (("utm_source", np.array(_UTM_SOURCES)[rng.integers(0, len(_UTM_SOURCES), rows)]),
                         ("utm_medium", np.array(_UTM_MEDIUMS)[rng.integers(0, len(_UTM_MEDIUMS), rows)]),
                         ("utm_campaign", np.array([f"{vertical}_campaign_{c:02d}" for c in campaign]))):
        column = values.astype(object)
        column[utm_missing] = None
        columns[name] = column
    state = rng.choice(len(_STATES), size=rows, p=world["state_weight"])
    logit += world["state_effect"][state]
    columns["state"], _ = _with_missing(rng, np.array(_STATES)[state], 0.02)
    product = rng.integers(0, len(profile.products), rows)
    logit += np.array(profile.product_effect)[product]
    columns[profile.product_column] = np.array(profile.products)[product]

    # CRM activity after creation.
    inbound = rng.poisson(np.exp(0.2 + 0.5 * engaged))
    outbound = rng.poisson(2.0 + 0.5 * unassigned, rows) + 1
    appointments = rng.binomial(2, 1 / (1 + np.exp(-(-2.0 + 0.8 * engaged))))
    response = np.round(rng.gamma(1.5, np.where(unassigned, 120.0, 30.0)))
    logit += 0.35 * np.log1p(inbound) - 0.1 * np.log1p(outbound) + 0.35 * appointments
    logit -= 0.25 * np.log1p(response / 15)
    columns.update(inbound_messages=inbound, outbound_messages=outbound, appointments=appointments,
                   response_time_minutes=response)
    logit += _vertical_extra(rng, profile, rows, columns)

    # Temporal: business hours help; mild upward trend over the year.
    hours = (created.astype("datetime64[h]").astype(np.int64)) % 24
    weekday = (created.astype("datetime64[D]").astype(np.int64) + 3) % 7
    logit += 0.15 * ((hours >= 9) & (hours < 17) & (weekday < 5)) - 0.1 * (weekday >= 5) + 0.15 * (t - 0.5)
    columns["days_since_creation"] = ((SNAPSHOT.to_datetime64() - created) / np.timedelta64(1, "D")).round(1)
    columns["notes"] = _notes(rng, engaged)
    # a stream of its own, so every other column is what it was before the inquiry existed
    columns[TEXT_COLUMN], inquiry_logit = _inquiry(np.random.default_rng((seed, 1)), engaged)
    logit += inquiry_logit

    probability = 1 / (1 + np.exp(-(logit + _intercept(logit, profile.positive_rate))))
    columns[TARGET] = (rng.random(rows) < probability).astype(np.int64)
    columns[GROUND_TRUTH_COLUMNS[0]] = probability
    return _typed(pd.DataFrame(columns))


def _vertical_extra(rng: np.random.Generator, profile: VerticalProfile, rows: int,
                    columns: dict[str, object]) -> np.ndarray:
    """Vertical-specific columns (property price, applicant age, company size); returns their logit."""
    if profile.extra == "property":
        price = np.round(np.exp(rng.normal(12.6, 0.5, rows)), -3)
        columns["property_price"], missing = _with_missing(rng, price, 0.3)
        return np.where(missing, -0.1, 0.35 * (np.log(price) - 12.6))
    if profile.extra == "age":
        age = np.clip(np.round(rng.normal(45, 14, rows)), 18, 90)
        columns["applicant_age"], missing = _with_missing(rng, age, 0.05)
        columns["household_size"] = np.clip(rng.poisson(1.6, rows) + 1, 1, 8)
        return np.where(missing, 0.0, -((age - 50) / 20) ** 2 * 0.6 + 0.3)
    employees = np.maximum(1, np.round(np.exp(rng.normal(2.5, 1.3, rows))))
    columns["employees"], missing = _with_missing(rng, employees, 0.1)
    industry = rng.integers(0, len(_INDUSTRIES), rows)
    columns["industry"] = np.array(_INDUSTRIES)[industry]
    return np.where(missing, 0.0, 0.25 * np.log1p(employees) - 0.6) + _INDUSTRY_EFFECT[industry]


def _notes(rng: np.random.Generator, engaged: np.ndarray) -> np.ndarray:
    """Agent notes: more engaged leads get longer notes; a fifth have none."""
    count = np.clip(rng.poisson(np.exp(0.3 + 0.4 * engaged)), 0, 6)
    # a random order of the phrases per row (argsort of uniform keys); each row takes its first k
    order = np.argsort(rng.random((len(engaged), len(_NOTE_PHRASES))), axis=1)
    notes = np.empty(len(engaged), dtype=object)
    for i in np.flatnonzero(count):
        notes[i] = "; ".join(_NOTE_PHRASES[j] for j in order[i, : count[i]]).capitalize() + "."
    return notes


def _inquiry(rng: np.random.Generator, engaged: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The lead's message (30 % leave none) and its effect on the log-odds.

    One or two sentences of ``_INQUIRY`` (engaged leads lean to the keen ones), sometimes a phone
    number (+0.4), a monthly budget (larger helps) or the years insured so far (more help).
    """
    rows = len(engaged)
    effects = np.array([effect for _, effect in _INQUIRY])
    weights = np.exp(np.outer(0.6 * engaged, effects))
    first, second = _categorical(rng, weights), _categorical(rng, weights)
    two = (rng.random(rows) < 0.35) & (second != first)
    phone = rng.random(rows) < np.where(engaged > 0, 0.25, 0.1)
    area, line = rng.integers(200, 990, rows), rng.integers(0, 10000, rows)
    budget = np.round(np.exp(rng.normal(4.8, 0.6, rows)), -1).clip(10, None)
    with_budget = rng.random(rows) < 0.25
    insured = rng.integers(0, 26, rows)
    with_years = rng.random(rows) < 0.2
    written = rng.random(rows) < 0.7
    logit = (effects[first] + two * effects[second] + 0.4 * phone
             + with_budget * 0.3 * np.log(budget / 120) + with_years * 0.03 * (insured - 5))
    text = np.empty(rows, dtype=object)
    for i in np.flatnonzero(written):
        parts = [_INQUIRY[first[i]][0]] + ([_INQUIRY[second[i]][0]] if two[i] else [])
        if with_budget[i]:
            parts.append(f"My budget is about ${budget[i]:,.0f} a month.")
        if with_years[i]:
            parts.append(f"Insured for {insured[i]} years so far.")
        if phone[i]:
            parts.append(f"Call me at ({area[i]}) 555-{line[i]:04d}.")
        text[i] = " ".join(parts)
    return text, np.where(written, logit, 0.0)


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Counts as nullable integers, flags as nullable booleans: what a CRM export looks like."""
    for name in frame.columns:
        values = frame[name]
        if name in _FLAGS:
            frame[name] = values.astype("boolean")
        elif name in _COUNTS:
            frame[name] = pd.to_numeric(values).astype("Int64")
        elif name in _AMOUNTS:
            frame[name] = pd.to_numeric(values).astype("float64")
    return frame


def drop_ground_truth(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` without the columns that describe the truth rather than the lead."""
    return df.drop(columns=[c for c in GROUND_TRUTH_COLUMNS if c in df.columns])


def feedback(leads: pd.DataFrame, seed: int, noise: float = 1.0) -> pd.DataFrame:
    """What users' feedback would say about ``leads`` (from ``generate``): the collector export's
    ``feedback.*`` columns (``leadscore.api.feedback.SIGNAL_COLUMNS``), one row per lead.

    Feedback is a noisy view of each lead's true quality: the standardised log-odds of
    ``true_probability`` (a lead's rank among these leads, not the base rate) plus normal noise of
    scale ``noise`` (0: feedback knows the truth; large: it says nothing).
    Better leads get longer views, more and more successful contacts, fewer quick archives and
    higher ratings (15 % of leads are rated); 80 % of conversions are also reported as a convert
    action. How informative real feedback is, is a property of a team's CRM: this generator only
    lets the trainer's graded targets be exercised and measured.
    """
    from leadscore.api.feedback import SIGNAL_COLUMNS

    rng = np.random.default_rng(seed)
    p = np.clip(leads["true_probability"].to_numpy(dtype=np.float64), 1e-6, 1 - 1e-6)
    converted = leads[TARGET].to_numpy(dtype=np.int64) == 1
    rows = len(p)
    logit = np.log(p / (1 - p))
    standard = (logit - logit.mean()) / max(float(logit.std()), 1e-9)  # spread over all leads, not the base rate
    quality = 1.0 / (1.0 + np.exp(-(1.5 * standard + noise * rng.normal(size=rows))))
    viewed = rng.random(rows) < 0.7
    view = np.where(viewed, np.exp(rng.normal(np.log(60.0) + 2.0 * (quality - 0.3), 0.8)), np.nan)
    contacted = rng.random(rows) < 0.2 + 0.6 * quality
    successful = contacted & (rng.random(rows) < np.where(converted, 0.9, quality))
    archived = ~converted & (rng.random(rows) < 0.6 * (1 - quality))
    archive = np.where(archived, np.exp(rng.normal(np.log(40.0) + 2.0 * (quality - 0.3), 1.0)), np.nan)
    rated = rng.random(rows) < 0.15
    rating = np.where(rated, np.clip(100 * quality + rng.normal(0, 15, rows), 0, 100).round(), np.nan)
    convert_action = converted & (rng.random(rows) < 0.8)
    events = viewed.astype(int) + contacted + archived + rated + convert_action
    values = {"converted": convert_action, "rating": rating, "contacted": contacted,
              "contact_successful": successful, "longest_view_seconds": view.round(1),
              "quickest_archive_seconds": archive.round(1), "events": events}
    return pd.DataFrame({column: values[field] for field, column in SIGNAL_COLUMNS.items()}, index=leads.index)
