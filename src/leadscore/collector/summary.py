"""Per-arm aggregates of one experiment: the input of the A/B statistics.

Rules (pure, in ``summarize``; docs/collector.md repeats them):

* a lead is exposed once, to the arm of its **first** prediction in the experiment; later
  predictions of the same lead (re-scoring, or the other arm under a random split) do not
  count again, so arms stay disjoint;
* a lead converts when any outcome with ``converted`` true **occurred at or after** its
  first exposure; an earlier conversion cannot have been caused by the model it never saw;
* a lead's value is the sum of the values of those converted outcomes (a lost deal's
  value is not revenue); ``value_sum`` and ``value_sum_sq`` add it up per lead, so that
  Welch's test runs on per-lead values with ``n = exposures``;
* ``daily`` counts leads by the UTC day of their first exposure (cohorts), with the
  conversions of that cohort so far;
* an arm's ``model_version`` is the version its most recent prediction came from;
* an arm's scores (``score_count``, ``score_sum``) are those of its leads' first exposures, and
  its time to conversion (``conversion_time_count``, ``conversion_seconds_sum``) adds up, over converted leads, the time
  from the first exposure to the earliest converting outcome at or after it;
* a lead's acceptance is the most recent ``accepted`` report (by ``occurred_at``) among its
  outcomes at or after its first exposure: ``acceptance_reports`` counts the leads that have
  one, ``accepted`` those whose report says true (sales may turn a lead down, then take it);
* a lead's covariate (the control model's probability, which the predictor logs in sticky
  experiments) is the one of its first exposure; the arm and its daily cohort add up n, Σx,
  Σx² and Σx over converted leads for the regression-adjusted (CUPED/CUPAC) statistics.

Both ``control`` and ``treatment`` are always present, zero until traffic arrives, so the
operator can poll before the first lead without special cases.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from leadscore.api.summary import ArmSummary, DailyArmCount, ExperimentSummary, ServingSplit
from leadscore.api.wire import CONTROL, TREATMENT
from leadscore.store import events
from leadscore.store.events import EventStore


@dataclass(frozen=True)
class Exposure:
    lead_id: str
    arm: str
    model_version: str
    at: datetime
    covariate: float | None = None
    score: float | None = None


@dataclass(frozen=True)
class Result:
    lead_id: str
    converted: bool
    value: float | None
    occurred_at: datetime
    accepted: bool | None = None


def _first_exposures(exposures: list[Exposure]) -> dict[str, Exposure]:
    first: dict[str, Exposure] = {}
    for exposure in sorted(exposures, key=lambda e: e.at):
        first.setdefault(exposure.lead_id, exposure)
    return first


def _latest_versions(exposures: list[Exposure]) -> dict[str, str]:
    return {e.arm: e.model_version for e in sorted(exposures, key=lambda e: e.at)}


@dataclass
class _Tally:
    """Plain accumulators (pydantic attribute assignment is slow in a 100k-lead loop)."""

    exposures: int = 0
    conversions: int = 0
    value_sum: float = 0.0
    value_sum_sq: float = 0.0
    covariate_count: int = 0
    covariate_sum: float = 0.0
    covariate_sum_sq: float = 0.0
    covariate_conversion_sum: float = 0.0
    score_count: int = 0
    score_sum: float = 0.0
    conversion_time_count: int = 0
    conversion_seconds_sum: float = 0.0
    acceptance_reports: int = 0
    accepted: int = 0

    def add_covariate(self, x: float | None, converted: bool) -> None:
        if x is None:
            return
        self.covariate_count += 1
        self.covariate_sum += x
        self.covariate_sum_sq += x * x
        self.covariate_conversion_sum += x * converted


def summarize(
    namespace: str,
    experiment: str,
    exposures: Iterable[Exposure],
    results: Iterable[Result],
    generated_at: datetime,
) -> ExperimentSummary:
    """Aggregate exposures and outcomes by the rules in this module's docstring."""
    exposures = list(exposures)
    first = _first_exposures(exposures)
    wins: dict[str, list[Result]] = defaultdict(list)
    acceptances: dict[str, list[Result]] = defaultdict(list)
    for result in results:
        if result.converted:
            wins[result.lead_id].append(result)
        if result.accepted is not None:
            acceptances[result.lead_id].append(result)

    tallies: dict[str, _Tally] = {CONTROL: _Tally(), TREATMENT: _Tally()}
    daily: dict[tuple[date, str], _Tally] = defaultdict(_Tally)
    for lead_id, exposure in first.items():
        won = [r for r in wins.get(lead_id, ()) if r.occurred_at >= exposure.at]
        value = sum(r.value or 0.0 for r in won)
        tally = tallies.setdefault(exposure.arm, _Tally())
        tally.exposures += 1
        tally.conversions += bool(won)
        tally.value_sum += value
        tally.value_sum_sq += value * value
        tally.add_covariate(exposure.covariate, bool(won))
        if exposure.score is not None:
            tally.score_count += 1
            tally.score_sum += exposure.score
        reports = [r for r in acceptances.get(lead_id, ()) if r.occurred_at >= exposure.at]
        if reports:
            tally.acceptance_reports += 1
            tally.accepted += bool(max(reports, key=lambda r: r.occurred_at).accepted)
        if won:
            tally.conversion_time_count += 1
            tally.conversion_seconds_sum += (min(r.occurred_at for r in won) - exposure.at).total_seconds()
        cohort = daily[(exposure.at.astimezone(UTC).date(), exposure.arm)]
        cohort.exposures += 1
        cohort.conversions += bool(won)
        cohort.add_covariate(exposure.covariate, bool(won))
    versions = _latest_versions(exposures)
    return ExperimentSummary(
        namespace=namespace,
        experiment=experiment,
        arms={arm: ArmSummary(model_version=versions.get(arm, ""), **vars(tally)) for arm, tally in tallies.items()},
        daily=[
            DailyArmCount(day=day, arm=arm, **_daily_fields(cohort)) for (day, arm), cohort in sorted(daily.items())
        ],
        generated_at=generated_at,
    )


def _daily_fields(cohort: _Tally) -> dict[str, float]:
    return {name: value for name, value in vars(cohort).items() if name in DailyArmCount.model_fields}


def experiment_summary(
    store: EventStore,
    namespace: str,
    experiment: str,
    now: datetime | None = None,
    split: ServingSplit | None = None,
) -> ExperimentSummary:
    """Read one experiment's predictions and their leads' outcomes, then ``summarize``.

    Without ``split`` the experiment's predictions are those tagged with it, in the arm they
    name (sticky splits). With one, they are every prediction of ``split.service`` since
    ``split.since`` by either version, in that version's arm (KServe's random split).
    """
    if split is None:
        where = events.in_experiment(namespace, experiment)
    else:
        arms = split.arms()
        where = events.in_service(namespace, split.service, list(arms), split.since)
    with store.transaction() as session:
        exposures = [
            Exposure(
                e.lead_id,
                arms[e.model_version] if split else e.arm or CONTROL,
                e.model_version,
                e.predicted_at,
                e.covariate,
                e.score,
            )
            for e in events.exposures(session, where)
        ]
        results = [Result(o.lead_id, o.converted, o.value, o.occurred_at, o.accepted)
                   for o in events.exposure_outcomes(session, where)]
    return summarize(namespace, experiment, exposures, results, now or datetime.now(UTC))
