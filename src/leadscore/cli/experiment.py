"""``leadscore experiment ...``: analyse, plan, simulate and report A/B experiments.

Thin wrappers: every number comes from ``leadscore.experiments``, the same functions the operator
calls. ``--json`` prints one JSON object; otherwise a table. "lift" is always the relative lift,
treatment rate / control rate − 1.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import typer

from leadscore.api.abexperiment import ABExperimentSpec, experiment_salt
from leadscore.cli.help import example
from leadscore.errors import ConfigError, InvalidInputError, StorageError, one_line

if TYPE_CHECKING:
    from leadscore.api.summary import ArmSummary, ExperimentSummary
    from leadscore.experiments import ExperimentAnalysis
    from leadscore.experiments.group_sequential import Spending

experiment_app = typer.Typer(help="A/B statistics: analyse, plan, simulate, report; a lead's arm: assign.",
                             no_args_is_help=True)

# Defaults are the ABExperiment CR's (as ExperimentSettings' are): a CLI analysis with default flags
# decides what the operator decides for a CR that sets nothing.
_CR = ABExperimentSpec.model_fields
ALPHA = typer.Option(_CR["alpha"].default, "--alpha", min=0.0001, max=0.4999, help="Significance level.")
SPLIT = typer.Option(float(_CR["traffic_percent"].default), "--split", min=0.01, max=99.99,
                     help="Percent of leads sent to treatment.")
MDE = typer.Option(_CR["minimum_detectable_effect"].default, "--mde", min=0.0001,
                   help="Minimum detectable effect, relative (0.05 = +5 %).")
MIN_SAMPLES = typer.Option(_CR["min_samples_per_arm"].default, "--min-samples", min=1,
                           help="No decision below this many exposures per arm.")
MINIMUM_LIFT = typer.Option(
    _CR["minimum_lift"].default, "--minimum-lift", min=0.0,
    help="Promote only a measured lift of at least this (0.02 = +2 %)."
)
SEQUENTIAL = typer.Option(_CR["sequential"].default, "--sequential/--fixed",
                          help="Always-valid mSPRT, or a fixed-horizon z-test.")
AS_JSON = typer.Option(False, "--json", help="Print one JSON object instead of a table.")
SUMMARY_FIELDS = ("p_value", "lift", "lift_ci_low", "lift_ci_high", "srm_p_value", "decision", "reason")


def register(app: typer.Typer) -> None:
    """Attach ``experiment`` to the root CLI."""
    app.add_typer(experiment_app, name="experiment")


@experiment_app.command("assign", epilog=example(
    "leadscore experiment assign --namespace sales --experiment pc-v3-vs-v4 --split 20 L-1 L-2"))
def assign_command(
    lead_ids: list[str] = typer.Argument(..., help="Lead ids to place, as the predictor reads them (lead_id)."),
    experiment: str = typer.Option(..., "--experiment", help="ABExperiment name."),
    namespace: str = typer.Option(..., "--namespace", "-n", help="The ABExperiment's namespace (part of the salt)."),
    split: float = typer.Option(float(_CR["traffic_percent"].default), "--split", min=0.0, max=100.0,
                                help="The experiment's spec.trafficPercent: percent of leads in treatment."),
    as_json: bool = AS_JSON,
) -> None:
    """Each lead's arm in a sticky experiment, without scoring it: the predictor's own hash and salt.

    A random (KServe canary) split has no per-lead arm: each request is split anew."""
    from leadscore.predictor.routing import assign_arm

    salt = experiment_salt(namespace, experiment)
    arms = {lead: assign_arm(lead, salt, split) for lead in lead_ids}
    if as_json:
        typer.echo(json.dumps({"namespace": namespace, "experiment": experiment, "trafficPercent": split,
                               "arms": arms}))
        return
    for lead, arm in arms.items():
        typer.echo(f"{lead}\t{arm}")


@experiment_app.command("analyze", epilog=example(
    "leadscore experiment analyze --control 5120,604 --treatment 5033,661 --json"))
def analyze_command(
    control: str | None = typer.Option(
        None, "--control", help="Control arm as EXPOSURES,CONVERSIONS, e.g. 1000,150 (or use --leads)."
    ),
    treatment: str | None = typer.Option(None, "--treatment", help="Treatment arm as EXPOSURES,CONVERSIONS."),
    leads: str | None = typer.Option(
        None, "--leads", help="CSV of exposed leads: columns arm (control|treatment), converted (0/1) [, covariate]."
    ),
    covariate: str | None = typer.Option(
        None, "--covariate", help="--leads column with the control model's pre-treatment score: adjust for it."
    ),
    alpha: float = ALPHA,
    sequential: bool = SEQUENTIAL,
    split: float = SPLIT,
    mde: float = MDE,
    minimum_lift: float = MINIMUM_LIFT,
    min_samples: int = MIN_SAMPLES,
    as_json: bool = AS_JSON,
) -> None:
    """Analyse finished data once: decision, lift with interval, p-value, sample-ratio check."""
    from leadscore.api.summary import ArmSummary, ExperimentSummary
    from leadscore.experiments import ExperimentSettings, decide

    if leads is not None:
        arm_summaries = _leads_summary(leads, covariate)
    elif covariate is not None:
        raise ConfigError("--covariate: needs --leads, the per-lead file that carries the covariate")
    elif control is None or treatment is None:
        raise ConfigError("--control/--treatment: both arms' EXPOSURES,CONVERSIONS are needed (or --leads FILE)")
    else:
        arms = {name: _parse_arm(name, text) for name, text in (("control", control), ("treatment", treatment))}
        arm_summaries = {name: ArmSummary(exposures=n, conversions=k) for name, (n, k) in arms.items()}
    summary = ExperimentSummary(namespace="cli", experiment="analyze", arms=arm_summaries)
    settings = ExperimentSettings(
        alpha=alpha,
        sequential=sequential,
        variance_reduction="auto" if covariate else "off",
        traffic_percent=split,
        minimum_detectable_effect=mde,
        minimum_lift=minimum_lift,
        min_samples_per_arm=min_samples,
    )
    analysis = decide(summary, settings, elapsed=timedelta(0), final=True)
    _print_analysis(analysis, as_json)


@experiment_app.command("plan", epilog=example("leadscore experiment plan --baseline 0.12 --mde 0.1 --json"))
def plan_command(
    baseline: float = typer.Option(..., "--baseline", help="Control conversion rate, e.g. 0.1."),
    mde: float = typer.Option(..., "--mde", help="Minimum detectable effect, relative (0.1 = +10 %)."),
    alpha: float = ALPHA,
    power: float = typer.Option(0.8, "--power", min=0.01, max=0.9999, help="Chance of detecting the MDE."),
    split: float = SPLIT,
    alternative: str = typer.Option("two-sided", "--alternative", help="two-sided | greater | less."),
    daily_exposures: float | None = typer.Option(
        None, "--daily-exposures", help="Leads entering the experiment per day (for the expected duration)."
    ),
    correlation: float | None = typer.Option(
        None, "--correlation", help="Expected correlation of the control model's score with conversion: adds "
        "the sizes and durations with regression adjustment, fixed and sequential."
    ),
    as_json: bool = AS_JSON,
) -> None:
    """Exposures each arm needs for a fixed-horizon test (statsmodels NormalIndPower, Cohen's h)."""
    from leadscore.experiments import plan_experiment
    from leadscore.experiments.power import plan_adjusted
    from leadscore.experiments.proportions import check_alternative

    check_alternative(alternative)
    plan = plan_experiment(
        baseline,
        mde,
        alpha=alpha,
        power=power,
        alternative=alternative,  # type: ignore[arg-type]
        treatment_share=split / 100,
        daily_exposures=daily_exposures,
    )
    fields = plan.model_dump(mode="json")
    if correlation is not None:
        fields.update(plan_adjusted(plan, correlation, split / 100).model_dump(mode="json"))
    _print_fields(fields, as_json, "Experiment plan")


@experiment_app.command("simulate", epilog=example(
    "leadscore experiment simulate --baseline 0.1 --lift 0 --per-arm 5000 --runs 2000 --peek-every 100 --json"))
def simulate_command(
    baseline: float = typer.Option(..., "--baseline", help="True control conversion rate."),
    lift: float = typer.Option(..., "--lift", help="True relative lift of treatment (0 = no effect)."),
    per_arm: int = typer.Option(..., "--per-arm", min=1, help="Exposures per arm at the horizon."),
    runs: int = typer.Option(..., "--runs", min=1, help="Simulated experiments."),
    peek_every: int = typer.Option(..., "--peek-every", min=1, help="Look after every K exposures per arm."),
    sequential: bool | None = typer.Option(
        None, "--sequential/--fixed", help="Tuned mSPRT, or a naive z-test at every look."
    ),
    planned: bool = typer.Option(False, "--planned", help="Group-sequential: alpha spent over the looks."),
    spending: str = typer.Option("obrien-fleming", "--spending", help="--planned: obrien-fleming | pocock."),
    adjusted: bool = typer.Option(
        False, "--adjusted", help="Draw synthetic leads scored by a trained model and adjust for that score "
        "(CUPAC); --baseline is then the leads' own rate."
    ),
    alpha: float = ALPHA,
    mde: float = typer.Option(0.05, "--mde", min=0.0001, help="MDE the sequential test is tuned to."),
    mixing_effect: float | None = typer.Option(
        None, "--mixing-effect", min=0.0001, help="Fix the mSPRT's τ to this relative lift instead of tuning."
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed; the same seed gives the same numbers."),
    as_json: bool = AS_JSON,
) -> None:
    """Simulate peeking: false-positive rate (lift 0) or power, and exposures until a decision."""
    from leadscore.experiments import simulate_peeking

    if planned == (sequential is not None):
        raise ConfigError("--sequential/--fixed/--planned: give exactly one")
    pool = None
    if adjusted:
        from leadscore.experiment_leads import scored_lead_pool

        pool = scored_lead_pool(seed=seed)
    result = simulate_peeking(
        baseline,
        lift,
        per_arm,
        runs,
        peek_every,
        test="planned" if planned else "msprt" if sequential else "fixed",
        alpha=alpha,
        minimum_detectable_effect=mde,
        mixing_effect=mixing_effect,
        adjusted=adjusted,
        spending=_spending(spending),
        pool=pool,
        seed=seed,
    )
    fields = result.model_dump(mode="json", exclude={"power" if lift == 0 else "false_positive_rate"})
    _print_fields(fields, as_json, "Peeking simulation")


@experiment_app.command("report", epilog=example(
    "leadscore experiment report --summary http://collector:8090/v1/experiments/sales/pc-v2-vs-v1/summary \\",
    "    --output report.html"))
def report_command(
    summary_uri: str = typer.Option(
        ..., "--summary", help="ExperimentSummary JSON: a file, s3:// URI, or the collector's http(s) URL."
    ),
    output: str = typer.Option("report.html", "--output", help="HTML file; the PNG is written beside it."),
    alpha: float = ALPHA,
    sequential: bool = SEQUENTIAL,
    split: float = SPLIT,
    mde: float = MDE,
    minimum_lift: float = MINIMUM_LIFT,
    min_samples: int = MIN_SAMPLES,
    min_duration: str | None = typer.Option(
        None, "--min-duration", help="e.g. 14d: no promote or rollback before this age."
    ),
    max_duration: str = typer.Option(_CR["max_duration"].default, "--max-duration",
                                     help="e.g. 14d: decide at this age."),
    alpha_spending: str | None = typer.Option(
        None, "--alpha-spending", help="obrien-fleming | pocock: group-sequential design instead of the mSPRT."
    ),
    expected_per_arm: int | None = typer.Option(
        None, "--expected-per-arm", min=1, help="Expected exposures per arm: tunes the mSPRT; the planned maximum."
    ),
    elapsed: str | None = typer.Option(
        None, "--elapsed", help="Age of the experiment, e.g. 9d [days covered by the daily counts]."
    ),
    as_json: bool = AS_JSON,
) -> None:
    """Render conversion over time per arm with interval bands, and the decision, as HTML + PNG."""
    from leadscore.experiments import ExperimentSettings, decide
    from leadscore.experiments.report import render_report

    summary = _load_summary(summary_uri)
    settings = ExperimentSettings(
        alpha=alpha,
        sequential=sequential,
        traffic_percent=split,
        minimum_detectable_effect=mde,
        minimum_lift=minimum_lift,
        min_samples_per_arm=min_samples,
        min_duration=_duration("--min-duration", min_duration),
        max_duration=_duration("--max-duration", max_duration),
        alpha_spending=None if alpha_spending is None else _spending(alpha_spending, "--alpha-spending"),
        expected_samples_per_arm=expected_per_arm,
    )
    given = _duration("--elapsed", elapsed) if elapsed else None
    age = given if given is not None else _days_covered(summary)
    analysis = decide(summary, settings, elapsed=age)
    files = render_report(summary, analysis, output)
    if as_json:
        typer.echo(json.dumps({**_summary_fields(analysis), "html": str(files.html), "png": str(files.png)}))
        return
    _print_analysis(analysis, False)
    typer.echo(f"wrote {files.html} and {files.png}")


def _spending(text: str, option: str = "--spending") -> Spending:
    from leadscore.experiments.group_sequential import SPENDING

    if text not in SPENDING:
        raise ConfigError(f"{option}: expected one of {', '.join(SPENDING)}, got {text!r}")
    return text


def _leads_summary(path: str, covariate: str | None) -> dict[str, ArmSummary]:
    """Per-arm sums from a CSV of exposed leads (arm, converted, and the covariate column)."""
    import csv

    from leadscore.api.summary import ArmSummary

    try:
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise ConfigError(f"--leads: cannot read {path}: {exc.strerror}") from None
    sums = {arm: ArmSummary() for arm in ("control", "treatment")}
    for number, row in enumerate(rows, start=2):
        arm = sums.get(row.get("arm", ""))
        if arm is None:
            raise InvalidInputError(f"--leads: line {number}: arm must be control or treatment, got {row.get('arm')!r}")
        converted = _number(row, "converted", number)
        if converted not in (0.0, 1.0):
            raise InvalidInputError(f"--leads: line {number}: converted must be 0 or 1, got {row['converted']!r}")
        arm.exposures += 1
        arm.conversions += int(converted)
        if covariate is not None:
            x = _number(row, covariate, number)
            arm.covariate_count += 1
            arm.covariate_sum += x
            arm.covariate_sum_sq += x * x
            arm.covariate_conversion_sum += x * converted
    return sums


def _number(row: dict[str, str], column: str, line: int) -> float:
    import math

    try:
        value = float(row[column])
    except KeyError:
        raise InvalidInputError(f"--leads: no column {column!r}") from None
    except (TypeError, ValueError):
        raise InvalidInputError(f"--leads: line {line}: {column} must be a number, got {row[column]!r}") from None
    if not math.isfinite(value):
        raise InvalidInputError(f"--leads: line {line}: {column} must be finite, got {row[column]!r}")
    return value


def _parse_arm(name: str, text: str) -> tuple[int, int]:
    """'1000,150' -> (1000, 150); an empty arm cannot be analysed."""
    from leadscore.experiments import ArmCounts

    parts = [part.strip() for part in text.split(",")]
    try:
        exposures, conversions = (int(part) for part in parts)
    except ValueError:
        raise ConfigError(
            f"--{name}: expected EXPOSURES,CONVERSIONS such as 1000,150, got {text!r}"
        ) from None
    counts = ArmCounts(name, exposures, conversions)
    counts.require_exposures()
    return exposures, conversions


def _duration(option: str, text: str | None) -> timedelta | None:
    from leadscore.experiments import parse_duration

    if text is None:
        return None
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise ConfigError(f"{option}: {exc}") from None


def _days_covered(summary: ExperimentSummary) -> timedelta:
    if not summary.daily:
        return timedelta(0)
    days = [row.day for row in summary.daily]
    return max(days) - min(days) + timedelta(days=1)


def _load_summary(uri: str) -> ExperimentSummary:
    """Read an ExperimentSummary from a file, s3:// or the collector's summary URL."""
    import pydantic

    from leadscore.api.summary import ExperimentSummary

    if uri.startswith(("http://", "https://")):
        import urllib.error
        import urllib.request

        try:
            with urllib.request.urlopen(uri, timeout=30) as response:
                payload = response.read()
        except (urllib.error.URLError, TimeoutError) as exc:
            raise StorageError(f"--summary: cannot fetch {uri}: {getattr(exc, 'reason', exc)}") from exc
    else:
        from leadscore.store import artifacts

        payload = artifacts.read_bytes(uri)
    try:
        return ExperimentSummary.model_validate_json(payload)
    except pydantic.ValidationError as exc:
        raise InvalidInputError(f"--summary: {uri} is not an ExperimentSummary: {one_line(exc)}") from None


def _summary_fields(analysis: ExperimentAnalysis) -> dict[str, Any]:
    dumped = analysis.model_dump(mode="json")
    return {key: dumped[key] for key in SUMMARY_FIELDS}


def _print_analysis(analysis: ExperimentAnalysis, as_json: bool) -> None:
    if as_json:
        typer.echo(analysis.model_dump_json())
        return
    from rich.console import Console
    from rich.table import Table

    from leadscore.experiments.formatting import number, percent

    titles = {"msprt": "Sequential (mSPRT)", "planned": "Group-sequential", "fixed": "Fixed-horizon"}
    arms = Table(title=f"{titles[analysis.design]} analysis")
    for column in ("arm", "exposures", "conversions", "rate", f"{1 - analysis.alpha:.0%} interval", "mean score",
                   "hours to conversion", "accepted"):
        arms.add_column(column, justify="left" if column == "arm" else "right")
    for arm in (analysis.control, analysis.treatment):
        arms.add_row(
            arm.name,
            str(arm.exposures),
            str(arm.conversions),
            percent(arm.rate),
            f"{percent(arm.rate_ci_low)} – {percent(arm.rate_ci_high)}",
            number(arm.mean_score),
            number(arm.mean_hours_to_conversion),
            percent(arm.acceptance_rate),
        )
    figures = Table(show_header=False)
    figures.add_column("figure")
    figures.add_column("value", justify="right")
    figures.add_row("lift", percent(analysis.lift, signed=True))
    figures.add_row(
        "lift interval",
        f"{percent(analysis.lift_ci_low, signed=True)} to {percent(analysis.lift_ci_high, signed=True)}",
    )
    if analysis.variance_reduction == "applied":
        figures.add_row("adjusted lift", percent(analysis.adjusted_lift, signed=True))
        figures.add_row(
            "adjusted interval",
            f"{percent(analysis.adjusted_lift_ci_low, signed=True)} to "
            f"{percent(analysis.adjusted_lift_ci_high, signed=True)}",
        )
        figures.add_row("variance removed", percent(analysis.variance_reduction_share))
    figures.add_row("p-value", number(analysis.p_value))
    figures.add_row("SRM p-value", number(analysis.srm_p_value))
    figures.add_row("decision", analysis.decision)
    console = Console()
    console.print(arms)
    console.print(figures)
    console.print(analysis.reason, soft_wrap=True)


def _print_fields(fields: dict[str, Any], as_json: bool, title: str) -> None:
    if as_json:
        typer.echo(json.dumps(fields))
        return
    from rich.console import Console
    from rich.table import Table

    from leadscore.experiments.formatting import number

    table = Table(title=title, show_header=False)
    table.add_column("field")
    table.add_column("value", justify="right")
    for key, value in fields.items():
        table.add_row(key, number(value) if isinstance(value, float) else str(value))
    Console().print(table)
