"""The experiment report for people: an HTML page and a PNG of the same chart for chat tools.

The only module of ``leadscore.experiments`` that does I/O, and the only one that needs
matplotlib and jinja2; both are imported inside ``render_report`` so the operator image, which
only decides, never loads them.

The lift band for each day is what ``decide`` would have reported that day (it is re-run on the
cumulative counts up to the day), so the chart and the status can never disagree.
"""

from __future__ import annotations

import base64
import math
import textwrap
from dataclasses import dataclass
from datetime import date, timedelta
from importlib import resources
from pathlib import Path

from leadscore.api.summary import ArmSummary, ExperimentSummary
from leadscore.experiments.decision import ExperimentAnalysis, decide
from leadscore.experiments.formatting import number, percent
from leadscore.experiments.proportions import ArmCounts, wilson_interval
from leadscore.experiments.timeline import ARMS, Look, daily_looks

COLOURS = {"control": "#4c72b0", "treatment": "#dd8452"}
DECISION_COLOURS = {
    "promote": "#2e7d32",
    "rollback": "#c62828",
    "inconclusive": "#6d6d6d",
    "continue": "#1565c0",
    "halted": "#ef6c00",
}


@dataclass(frozen=True)
class ReportFiles:
    """Where the report was written."""

    html: Path
    png: Path


@dataclass(frozen=True)
class _Point:
    """One look as drawn: each arm's rate with its Wilson band, and the lift with its interval."""

    label: str
    rates: dict[str, tuple[float, float, float]]
    lift: float | None
    lift_low: float | None
    lift_high: float | None


def render_report(summary: ExperimentSummary, analysis: ExperimentAnalysis, output_path: str | Path) -> ReportFiles:
    """Write ``output_path`` (HTML, chart embedded) and the same chart as a PNG beside it."""
    import jinja2

    html_path = Path(output_path)
    png_path = html_path.with_suffix(".png")
    html_path.parent.mkdir(parents=True, exist_ok=True)
    points = _points(summary, analysis)
    _draw(points, summary, analysis, png_path)
    template = resources.files("leadscore.experiments").joinpath("templates/report.html.j2").read_text("utf-8")
    page = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(template)
    html_path.write_text(
        page.render(
            summary=summary,
            analysis=analysis,
            arms=[analysis.control, analysis.treatment],
            colour=DECISION_COLOURS[analysis.decision],
            chart=base64.b64encode(png_path.read_bytes()).decode("ascii"),
            png_name=png_path.name,
            pct=percent,
            num=number,
        ),
        encoding="utf-8",
    )
    return ReportFiles(html=html_path, png=png_path)


def _points(summary: ExperimentSummary, analysis: ExperimentAnalysis) -> list[_Point]:
    """One point per day with both arms exposed; the current snapshot when there is no history."""
    looks = [look for look in daily_looks(summary.daily) if look.both_exposed]
    if not looks:
        counts = {name: ArmCounts(name, arm.exposures, arm.conversions) for name, arm in _arms(summary)}
        if not all(arm.exposures for arm in counts.values()):
            return []
        return [_point("now", counts, analysis.lift, analysis.lift_ci_low, analysis.lift_ci_high, analysis.alpha)]
    start = min(row.day for row in summary.daily)
    points = []
    for look in looks:
        assert look.day is not None  # daily looks always carry their day
        that_day = decide(_as_of(summary, look), analysis.settings, elapsed=_elapsed(start, look.day))
        counts = {"control": look.control, "treatment": look.treatment}
        points.append(
            _point(
                look.day.isoformat(),
                counts,
                that_day.lift,
                that_day.lift_ci_low,
                that_day.lift_ci_high,
                analysis.alpha,
            )
        )
    return points


def _point(
    label: str,
    counts: dict[str, ArmCounts],
    lift: float | None,
    low: float | None,
    high: float | None,
    alpha: float,
) -> _Point:
    rates = {}
    for name, arm in counts.items():
        interval = wilson_interval(arm, alpha)
        rates[name] = (arm.rate, interval.low, interval.high)
    return _Point(label, rates, lift, low, high)


def _as_of(summary: ExperimentSummary, look: Look) -> ExperimentSummary:
    """The summary as the collector would have served it at the end of ``look.day``."""
    versions = dict((name, arm.model_version) for name, arm in _arms(summary))
    return ExperimentSummary(
        namespace=summary.namespace,
        experiment=summary.experiment,
        arms={
            name: ArmSummary(model_version=versions[name], exposures=counts.exposures, conversions=counts.conversions)
            for name, counts in (("control", look.control), ("treatment", look.treatment))
        },
        daily=[row for row in summary.daily if look.day is not None and row.day <= look.day],
    )


def _arms(summary: ExperimentSummary) -> list[tuple[str, ArmSummary]]:
    return [(name, summary.arms[name]) for name in ARMS]


def _elapsed(start: date, day: date) -> timedelta:
    return day - start + timedelta(days=1)


def _draw(points: list[_Point], summary: ExperimentSummary, analysis: ExperimentAnalysis, png_path: Path) -> None:
    """Rates with Wilson bands per arm (top) and the lift with its interval (bottom)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 7.5), dpi=100, layout="constrained")
    rate_axes, lift_axes = figure.subplots(2, 1, sharex=True)
    x = list(range(len(points)))
    for name in ARMS:
        arm = getattr(analysis, name)
        label = f"{name} ({arm.model_version})" if arm.model_version else name
        rates = [point.rates[name] for point in points]
        rate_axes.plot(x, [r[0] for r in rates], marker="o", color=COLOURS[name], label=label)
        rate_axes.fill_between(x, [r[1] for r in rates], [r[2] for r in rates], color=COLOURS[name], alpha=0.2)
    rate_axes.set_ylabel("cumulative conversion rate")
    rate_axes.yaxis.set_major_formatter(lambda value, _: f"{value:.1%}")
    rate_axes.legend(loc="best")
    rate_axes.set_title(f"bands: {1 - analysis.alpha:.0%} Wilson intervals per arm", fontsize=9, loc="left")

    drawn = [(i, p) for i, p in enumerate(points) if p.lift is not None and math.isfinite(p.lift)]
    lift_x = [i for i, _ in drawn]
    lift_axes.plot(lift_x, [p.lift for _, p in drawn], marker="o", color="#333333", label="lift")
    lift_axes.fill_between(
        lift_x,
        [_clip(p.lift_low) for _, p in drawn],
        [_clip(p.lift_high) for _, p in drawn],
        color="#888888",
        alpha=0.25,
        label="confidence sequence" if analysis.sequential else "confidence interval (valid at the planned end)",
    )
    lift_axes.axhline(0, color="black", linewidth=0.8)
    mde = analysis.settings.minimum_detectable_effect
    bounds: tuple[tuple[float, str | None], ...] = ((mde, f"±MDE ({mde:.0%})"), (-mde, None))
    for bound, mde_label in bounds:
        lift_axes.axhline(bound, color="#888888", linewidth=0.8, linestyle="--", label=mde_label)
    lift_axes.set_ylabel("relative lift (treatment / control − 1)")
    lift_axes.yaxis.set_major_formatter(lambda value, _: f"{value:+.0%}")
    lift_axes.legend(loc="best")
    lift_axes.set_xticks(x, [point.label for point in points], rotation=45, ha="right", fontsize=8)

    figure.suptitle(
        f"{summary.namespace}/{summary.experiment}: {analysis.decision.upper()}\n"
        + "\n".join(textwrap.wrap(analysis.reason, 110)),
        fontsize=10,
        color=DECISION_COLOURS[analysis.decision],
    )
    figure.savefig(png_path, format="png")


def _clip(value: float | None) -> float:
    """Keep an open-ended (one-sided) interval drawable."""
    if value is None or not math.isfinite(value):
        return math.copysign(1.0, value) if value is not None else 0.0
    return value
