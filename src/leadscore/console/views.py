"""What a model page and an experiment page show, computed from the CRs, the card and the
collector's summary: shared by the live console and the static snapshot ``make demo`` writes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from leadscore.api.summary import ExperimentSummary, TierSummary
from leadscore.console import charts, glossary
from leadscore.experiments.decision import decide
from leadscore.experiments.report import timeline_points
from leadscore.experiments.settings import ExperimentSettings

ARMS = ("control", "treatment")


def version_rows(model: dict[str, Any]) -> list[dict[str, Any]]:
    """status.versions newest first, each with its marks (active, served, pinned) and trigger."""
    status, spec = model.get("status", {}), model.get("spec", {})
    pinned = spec.get("serving", {}).get("pinnedVersion")
    training = status.get("training") or {}
    rows = []
    for item in reversed(status.get("versions", [])):
        marks = [label for label, value in (("active", status.get("activeVersion")),
                                            ("served", status.get("servedVersion")), ("pinned", pinned))
                 if value == item["version"]]
        rows.append({**item, "marks": marks,
                     "trigger": training.get("trigger") if training.get("version") == item["version"] else None})
    return rows


def model_view(model: dict[str, Any], read_card: Callable[[str], dict[str, Any] | None],
               tier_summary: TierSummary | None = None) -> dict[str, Any]:
    """Versions, the served version's card and its charts (the newest version when none serves),
    and how its tiers fill and convert when the collector knows."""
    versions = version_rows(model)
    served = model.get("status", {}).get("servedVersion")
    shown = next((v for v in versions if v["version"] == served), versions[0] if versions else None)
    card = read_card(shown["artifactUri"]) if shown else None
    older = versions[versions.index(shown) + 1:] if shown else []  # versions are newest first
    previous = older[0] if older else None
    figures = {}
    if card:
        figures["drivers"] = charts.drivers(card)
        figures["reliability"] = charts.reliability(card)
    if tier_summary is not None and tier_summary.tiers:
        figures["tiers"] = charts.tiers(tier_summary)
    if shown:
        figures["metrics"] = charts.metrics(shown.get("metrics", {}), previous.get("metrics") if previous else None,
                                            (shown["version"], previous["version"] if previous else ""))
    drivers = list(reversed(figures["drivers"]["data"][0]["y"])) if "drivers" in figures else []
    return {"model": model, "versions": versions, "shown": shown, "card": card, "figures": figures,
            "tier_summary": tier_summary, "fields": glossary.fields(drivers)}


def elapsed_since_start(experiment: dict[str, Any], now: datetime | None = None) -> timedelta:
    started = experiment.get("status", {}).get("started")
    return (now or datetime.now(UTC)) - datetime.fromisoformat(started) if started else timedelta(0)


def experiment_view(experiment: dict[str, Any], summary: ExperimentSummary | None,
                    elapsed: timedelta) -> dict[str, Any]:
    """The analysis the operator's own rule gives now, its charts, and the leads still needed per arm."""
    analysis, figures, needed = None, {}, {}
    if summary is not None and all(arm in summary.arms for arm in ARMS):
        settings = ExperimentSettings.model_validate(experiment["spec"])
        analysis = decide(summary, settings, elapsed=elapsed)
        points = timeline_points(summary, analysis)
        figures = {"timeline": charts.timeline(points), "lift": charts.lift(points)}
        if analysis.decision == "continue":  # once decided, no more leads are needed
            target = max(settings.min_samples_per_arm, analysis.planned_per_arm or 0)
            needed = {arm: max(0, target - summary.arms[arm].exposures) for arm in ARMS}
    return {"experiment": experiment, "summary": summary, "analysis": analysis, "figures": figures, "needed": needed}
