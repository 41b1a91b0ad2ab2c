"""Plotly figure specs (plain JSON) for the console's charts; plotly.js draws them in the page.

Pure functions of the model card, the CR status and the experiment timeline, so the numbers a
chart shows can be tested without a browser.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from leadscore.api.summary import TierSummary
from leadscore.console import glossary
from leadscore.experiments.report import TimelinePoint

METRICS = ("precision", "recall", "f1", "roc_auc", "accuracy")
TOP_DRIVERS = 10
ARM_COLOURS = {"control": (31, 119, 180), "treatment": (214, 39, 40)}
_LAYOUT = {"margin": {"l": 160, "r": 20, "t": 30, "b": 40}, "height": 320}


def drivers(card: dict[str, Any]) -> dict[str, Any]:
    """Top raw fields by mean |log-odds contribution| (the card's features summed per field)."""
    per_field: dict[str, float] = {}
    for item in card.get("feature_importance", []):
        per_field[item["field"]] = per_field.get(item["field"], 0.0) + float(item["mean_abs_contribution"])
    top = sorted(per_field.items(), key=lambda kv: kv[1], reverse=True)[:TOP_DRIVERS][::-1]
    names = [f for f, _ in top]
    trace = {"type": "bar", "orientation": "h", "x": [round(v, 4) for _, v in top], "y": names,
             "name": "mean |contribution|", "hovertext": [meaning for _, meaning in glossary.fields(names)]}
    return {"data": [trace], "layout": {**_LAYOUT, "xaxis": {"title": {"text": "mean |log-odds contribution|"}}}}


def metrics(current: dict[str, float], previous: dict[str, float] | None, labels: tuple[str, str]) -> dict[str, Any]:
    """The five classification metrics of a version, beside the previous version's when known."""
    names = [m for m in METRICS if m in current]
    data = [{"type": "bar", "name": labels[0], "x": names, "y": [current[m] for m in names]}]
    if previous:
        data.append({"type": "bar", "name": labels[1], "x": names, "y": [previous.get(m) for m in names]})
    return {"data": data, "layout": {**_LAYOUT, "margin": {"l": 50, "r": 20, "t": 30, "b": 40},
                                     "barmode": "group", "yaxis": {"range": [0, 1]}}}


def reliability(card: dict[str, Any]) -> dict[str, Any]:
    """Mean predicted probability against the observed rate per bin; the diagonal is perfect."""
    bins = [b for b in card.get("metrics", {}).get("reliability", []) if b.get("mean_predicted") is not None]
    top = max([b["mean_predicted"] for b in bins] + [b["observed_rate"] or 0 for b in bins] + [0.05])
    data = [{"type": "scatter", "mode": "lines+markers", "name": "model",
             "x": [b["mean_predicted"] for b in bins], "y": [b["observed_rate"] for b in bins],
             "text": [f"{b['count']} leads" for b in bins]},
            {"type": "scatter", "mode": "lines", "name": "perfect", "x": [0, top], "y": [0, top],
             "line": {"dash": "dot"}}]
    return {"data": data, "layout": {**_LAYOUT, "margin": {"l": 50, "r": 20, "t": 30, "b": 40},
                                     "xaxis": {"title": {"text": "predicted"}},
                                     "yaxis": {"title": {"text": "observed"}}}}


def timeline(points: Sequence[TimelinePoint]) -> dict[str, Any]:
    """Each arm's cumulative conversion rate per day with its interval band."""
    data: list[dict[str, Any]] = []
    labels = [p.label for p in points]
    for arm, (r, g, b) in ARM_COLOURS.items():
        rates = [p.rates[arm] for p in points]
        data.append({"type": "scatter", "mode": "lines", "x": labels + labels[::-1],
                     "y": [r[2] for r in rates] + [r[1] for r in rates][::-1], "fill": "toself",
                     "fillcolor": f"rgba({r},{g},{b},0.15)", "line": {"width": 0},
                     "name": f"{arm} interval", "hoverinfo": "skip", "showlegend": False})
        data.append({"type": "scatter", "mode": "lines+markers", "x": labels, "y": [r[0] for r in rates],
                     "name": arm, "line": {"color": f"rgb({r},{g},{b})"}})
    return {"data": data, "layout": {**_LAYOUT, "margin": {"l": 50, "r": 20, "t": 30, "b": 40},
                                     "yaxis": {"title": {"text": "conversion rate"}, "tickformat": ".1%"}}}


def lift(points: Sequence[TimelinePoint]) -> dict[str, Any]:
    """The lift per day with its always-valid interval (the sequential test's, as the operator decides).

    The axis spans the lifts, not the first days' very wide intervals, which run off the chart.
    """
    shown = [p for p in points if p.lift is not None]
    labels = [p.label for p in shown]
    lifts = [p.lift for p in shown if p.lift is not None]
    span = max([0.25, *(2 * abs(value) for value in lifts)])
    data = [{"type": "scatter", "mode": "lines", "x": labels + labels[::-1],
             "y": [p.lift_high for p in shown] + [p.lift_low for p in shown][::-1], "fill": "toself",
             "opacity": 0.2, "name": "always-valid interval", "hoverinfo": "skip"},
            {"type": "scatter", "mode": "lines+markers", "x": labels, "y": [p.lift for p in shown], "name": "lift"}]
    return {"data": data, "layout": {**_LAYOUT, "margin": {"l": 50, "r": 20, "t": 30, "b": 40},
                                     "yaxis": {"title": {"text": "relative lift"}, "tickformat": "+.0%",
                                               "range": [-span, span]}}}


def tiers(summary: TierSummary) -> dict[str, Any]:
    """Share of scored leads per tier (bars) and each tier's conversion rate (markers, right axis)."""
    total = sum(t.leads for t in summary.tiers) or 1
    names = [t.tier or "(none)" for t in summary.tiers]
    data = [{"type": "bar", "name": "share of leads", "x": names, "y": [t.leads / total for t in summary.tiers]},
            {"type": "scatter", "mode": "markers", "name": "conversion rate", "x": names, "yaxis": "y2",
             "y": [t.conversions / t.leads if t.leads else None for t in summary.tiers], "marker": {"size": 12}}]
    return {"data": data, "layout": {**_LAYOUT, "margin": {"l": 50, "r": 50, "t": 30, "b": 40},
                                     "legend": {"orientation": "h", "y": 1.15},
                                     "yaxis": {"tickformat": ".0%", "title": {"text": "share of leads"},
                                               "rangemode": "tozero"},
                                     "yaxis2": {"tickformat": ".0%", "overlaying": "y", "side": "right",
                                                "rangemode": "tozero", "title": {"text": "converted"}}}}
