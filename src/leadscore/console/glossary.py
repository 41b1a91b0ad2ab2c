"""What each number and field on the console means, in words for a sales-operations reader.

Pages show these as help text next to a figure (``metric``) and as the drivers chart's hover text
and table (``field``). A field nobody described gets no text rather than a guess.
"""

from __future__ import annotations

import re

METRICS: dict[str, str] = {
    "roc_auc": "How well the score ranks leads: the chance that a lead who converted scored above one who "
               "did not. 0.5 is a coin toss, 1.0 a perfect ranking.",
    "precision": "Of the leads the model calls likely to convert, the share that did.",
    "recall": "Of the leads that converted, the share the model called likely to convert.",
    "f1": "One number that balances precision and recall (their harmonic mean); higher is better.",
    "accuracy": "Share of leads whose convert / not-convert call was right. Misleading when few leads "
                "convert: calling every lead a loss already scores high.",
    "brier": "Average squared gap between the predicted chance and what happened; lower is better.",
    "live_roc_auc": "ROC-AUC of the leads this version scored in production once they had time to convert, "
                    "with its 95 % interval; compare it with the ROC-AUC measured at training.",
    "health": "OK: the served version ranks and converts as trained. Watch: the incoming leads start to "
              "differ from the training ones. Drift: they differ enough to distrust the score. Degraded: "
              "the live ROC-AUC fell below the training one. Unknown: too few scored or matured leads yet.",
    "score_psi": "Population stability index of the scores against training: below 0.1 stable, 0.1 to 0.2 "
                 "worth watching, above 0.2 a real shift in who comes in.",
    "matured_leads": "Leads scored long enough ago to have had time to convert; only they count in live "
                     "accuracy.",
    "gate": "The promotion gate: a new version is served only when it is at least as good as the one "
            "it replaces on held-out leads.",
    "drivers": "How much each field moves a lead's score on average (mean absolute log-odds contribution "
               "on held-out leads); longer bars matter more, in either direction.",
    "reliability": "Predicted chance against the share that really converted, per band of leads. On the "
                   "dotted diagonal a score of 30 % means 3 in 10 such leads convert.",
    "metrics": "Held-out figures of the served version (leads it never saw in training), beside the "
               "version before it.",
    "lift": "How much better the treatment converts than the control, relative: +10 % means 11 % "
            "instead of 10 %. The interval stays valid however often it is looked at.",
    "p_value": "Chance of a gap this large if both arms converted alike; small means the gap is real.",
    "srm": "Whether the leads split between the arms as planned. A tiny p-value (below 0.001) means the "
           "split is broken and the result cannot be trusted.",
    "timeline": "Each arm's conversion rate so far, day by day, with the band it is known to lie in.",
    "tiers": "Share of the scored leads in each tier, and how many of them converted so far: higher tiers "
             "should convert more.",
}

# normalised field name pattern -> what the field records (first match wins)
_FIELDS: list[tuple[str, str]] = [
    (r"(requested_)?quote(_requested)?", "Whether the lead asked for a quote."),
    (r"form_completed", "Whether the lead finished the web form."),
    (r"return_visitor|returning", "Whether the lead had visited the site before."),
    (r"mobile(_device)?", "Whether the lead came from a phone or tablet rather than a desktop."),
    (r"has_email|email(_present)?", "Whether the lead left an e-mail address."),
    (r"has_phone|phone(_present)?", "Whether the lead left a phone number."),
    (r"has_full_name|full_name(_present)?", "Whether the lead gave a full name."),
    (r"has_address|address(_present)?", "Whether the lead gave a postal address."),
    (r"has_zip(code)?|zip(code)?(_present)?", "Whether the lead gave a zip code."),
    (r"contact_completeness", "Share of the contact details (name, e-mail, phone, address, zip) given."),
    (r"pages?_visited|page_views", "Pages the lead viewed on the site."),
    (r"time_on_site(_seconds)?", "Seconds the lead spent on the site."),
    (r"time_per_page", "Seconds per page viewed."),
    (r"inbound_share", "Share of the messages with the lead that the lead sent."),
    (r"inbound_messages", "Messages the lead sent."),
    (r"outbound_messages", "Messages the team sent the lead."),
    (r"appointments?(_count)?", "Appointments booked with the lead."),
    (r"response_time_minutes", "Minutes until the team first answered the lead."),
    (r"agent_conversion_rate", "How often the assigned agent converts leads."),
    (r"agent_avg_response_time", "The assigned agent's average answer time, in minutes."),
    (r"agent_rating", "The assigned agent's rating, 1 to 5."),
    (r"agent_id", "The agent the lead was assigned to."),
    (r"days_since_creation", "Days between the lead's creation and the day the data was exported: its age."),
    (r"property_price", "Price of the property the lead asked about."),
    (r"applicant_age|age", "Age of the applicant."),
    (r"household_size", "People in the applicant's household."),
    (r"employees", "Employees of the lead's company."),
    (r"industry", "Industry of the lead's company."),
    (r"source_engagement_level|source_quality", "Quality of the channel the lead came through, 1 to 3."),
    (r"(lead_)?source", "The channel the lead came through (search, referral, ads ...)."),
    (r"utm_source", "Campaign tag: the site or partner that sent the lead."),
    (r"utm_medium", "Campaign tag: the kind of traffic (email, cpc, social ...)."),
    (r"utm_campaign", "Campaign tag: the marketing campaign."),
    (r"browser", "The lead's web browser."),
    (r"state", "The lead's state."),
    (r"insurance_type", "The kind of insurance the lead wants."),
    (r"notes", "Free-text notes taken about the lead."),
    (r"created_at|.*_at|.*_(hour|weekday|month)", "When the lead was created (time of day, weekday or month)."),
]


def field(name: str) -> str | None:
    """What raw field ``name`` records, or None when it is not one we know."""
    key = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    return next((meaning for pattern, meaning in _FIELDS if re.fullmatch(pattern, key)), None)


def fields(names: list[str]) -> list[tuple[str, str]]:
    """``(name, meaning)`` for each of ``names`` (in order), "no description" when unknown."""
    return [(name, field(name) or "No description for this field.") for name in names]
