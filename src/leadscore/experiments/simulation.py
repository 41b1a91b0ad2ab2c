"""Monte-Carlo proof of what peeking does to a test: false positives, power, samples to decision.

R simulated experiments with known rates are looked at every K exposures per arm up to N and
stopped at the first look whose test says "significant", exactly as an operator (or a sales
manager refreshing a dashboard) would. The fixed-horizon z-test looked at this way rejects a
true null far more often than alpha; the mSPRT and the group-sequential test do not. All use the
production functions in ``proportions``, ``sequential``, ``adjustment`` and
``group_sequential`` — the simulation tests the code that decides, not a copy.

Without a ``LeadPool`` the arms are Bernoulli(baseline) and Bernoulli(baseline × (1 + lift)),
drawn as binomial increments per look. With one, each exposed lead is drawn from the pool of
synthetic leads with a known conversion probability and a real model's score (the covariate
the adjusted tests use); the treatment multiplies the lead's probability by (1 + lift).
Runs are simulated in chunks as (runs × looks) arrays, so 2,000 runs × 50 looks take seconds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from leadscore.errors import InvalidInputError
from leadscore.experiments.adjustment import AdjustedDifference, ArmMoments, adjusted_difference, adjusted_log_lr
from leadscore.experiments.group_sequential import Spending, boundaries
from leadscore.experiments.proportions import check_alpha, z_to_p
from leadscore.experiments.sequential import Mixing, always_valid_p, running_min_p
from leadscore.experiments.settings import DEFAULT_MINIMUM_DETECTABLE_EFFECT

TestKind = Literal["fixed", "msprt", "planned"]
TESTS: tuple[TestKind, ...] = ("fixed", "msprt", "planned")

MAX_CELLS = 20_000_000
"""runs × looks per simulation: a few arrays of this many floats stay within ~1 GB."""
LEADS_PER_CHUNK = 2_000_000
"""Per-lead simulation: leads drawn per arm at once (a few 16 MB arrays)."""


@dataclass(frozen=True)
class LeadPool:
    """Leads to draw from: each one's true conversion probability and its pre-treatment score."""

    probability: np.ndarray
    covariate: np.ndarray

    def __post_init__(self) -> None:
        if self.probability.shape != self.covariate.shape or self.probability.ndim != 1 or not self.probability.size:
            raise InvalidInputError("pool: probability and covariate must be equally long, non-empty 1-d arrays")


class SimulationResult(BaseModel):
    """How often simulated experiments declared a difference, and how soon."""

    baseline: float
    lift: float = Field(description="True relative lift of the treatment arm.")
    per_arm: int
    peek_every: int
    looks: int
    runs: int
    test: TestKind = Field(description="fixed: z-test at every look; msprt: always-valid; planned: alpha spending.")
    adjusted: bool = Field(description="Regression-adjusted for the pool's model score (CUPED/CUPAC).")
    mixing: str | None = Field(None, description="msprt only: 'tuned', or the fixed relative effect of τ.")
    spending: Spending | None = None
    alpha: float
    seed: int
    rejection_rate: float = Field(description="Share of runs stopped at a significant look.")
    monte_carlo_error: float = Field(description="Standard error of rejection_rate: sqrt(r(1-r)/runs).")
    false_positive_rate: float | None = Field(None, description="rejection_rate when the true lift is 0.")
    power: float | None = Field(None, description="rejection_rate when the true lift is not 0.")
    mean_samples_to_decision: float = Field(
        description="Mean per-arm exposures at the stopping look; runs that never stop count as per_arm."
    )
    variance_reduction: float | None = Field(
        None, description="Adjusted only: mean share of the difference's variance removed, at the horizon."
    )


def look_sizes(per_arm: int, peek_every: int) -> np.ndarray:
    """Per-arm exposures at each look: every ``peek_every`` and always at the horizon itself."""
    sizes = np.arange(peek_every, per_arm + 1, peek_every)
    if sizes.size == 0 or sizes[-1] != per_arm:
        sizes = np.append(sizes, per_arm)
    return sizes


@dataclass(frozen=True)
class Procedure:
    """One test to read the simulated experiments with (see ``simulate_peeking``)."""

    test: TestKind
    adjusted: bool = False
    mixing_effect: float | None = None
    spending: Spending = "obrien-fleming"
    once: bool = False
    """Read only at the horizon, whatever ``peek_every`` (the fixed test as designed)."""


def simulate_peeking(
    baseline: float,
    lift: float,
    per_arm: int,
    runs: int,
    peek_every: int,
    *,
    test: TestKind,
    alpha: float = 0.05,
    minimum_detectable_effect: float = DEFAULT_MINIMUM_DETECTABLE_EFFECT,
    mixing_effect: float | None = None,
    adjusted: bool = False,
    spending: Spending = "obrien-fleming",
    pool: LeadPool | None = None,
    seed: int = 0,
) -> SimulationResult:
    """Simulate ``runs`` two-sided experiments stopped at their first significant look.

    The mSPRT is tuned (``sequential.Mixing``) to ``minimum_detectable_effect`` and an expected
    size of ``per_arm``, unless ``mixing_effect`` fixes τ. ``planned`` spends alpha over the
    looks with ``per_arm`` as the maximum. ``adjusted`` needs a ``pool`` (its ``baseline`` is
    then the pool's mean probability, and ``baseline`` is ignored).
    """
    design = Procedure(test, adjusted, mixing_effect, spending)
    return simulate_designs(
        baseline, lift, per_arm, runs, peek_every, [design],
        alpha=alpha, minimum_detectable_effect=minimum_detectable_effect, pool=pool, seed=seed,
    )[0]  # fmt: skip


def simulate_designs(
    baseline: float,
    lift: float,
    per_arm: int,
    runs: int,
    peek_every: int,
    designs: Sequence[Procedure],
    *,
    alpha: float = 0.05,
    minimum_detectable_effect: float = DEFAULT_MINIMUM_DETECTABLE_EFFECT,
    pool: LeadPool | None = None,
    seed: int = 0,
) -> list[SimulationResult]:
    """``simulate_peeking`` for several tests read on the *same* simulated experiments."""
    check_alpha(alpha)
    for design in designs:
        if design.test not in TESTS:
            raise InvalidInputError(f"test: expected one of {', '.join(TESTS)}, got {design.test!r}")
        if design.mixing_effect is not None and design.mixing_effect <= 0:
            raise InvalidInputError(f"mixing_effect: must be positive, got {design.mixing_effect}")
        if design.adjusted and pool is None:
            raise InvalidInputError("adjusted: needs a pool of leads with a covariate to adjust for")
    if pool is not None:
        baseline = float(pool.probability.mean())
    if not 0.0 < baseline < 1.0:
        raise InvalidInputError(f"baseline: a conversion rate strictly between 0 and 1, got {baseline}")
    treated = baseline * (1 + lift)
    if not 0.0 <= treated <= 1.0:
        raise InvalidInputError(f"lift: {lift} moves baseline {baseline} to {treated:.4g}, outside [0, 1]")
    for name, value in (("per_arm", per_arm), ("runs", runs), ("peek_every", peek_every)):
        if value < 1:
            raise InvalidInputError(f"{name}: must be at least 1, got {value}")

    sizes = look_sizes(per_arm, peek_every)
    if runs * sizes.size > MAX_CELLS:
        raise InvalidInputError(
            f"runs × looks: {runs} × {sizes.size} = {runs * sizes.size} exceeds {MAX_CELLS}; "
            "use fewer runs or a larger peek_every"
        )
    rng = np.random.default_rng(seed)
    if pool is None:
        control, treatment = (_binomial_moments(rng, sizes, runs, rate) for rate in (baseline, treated))
    else:
        control, treatment = (_pool_moments(rng, pool, sizes, runs, factor) for factor in (1.0, 1 + lift))
    comparisons = {adjust: adjusted_difference(control, treatment, adjust=adjust) for adjust in (False, True)
                   if any(design.adjusted == adjust for design in designs)}  # fmt: skip
    results = []
    for design in designs:
        comparison = comparisons[design.adjusted]
        mixing = Mixing(minimum_detectable_effect, alpha, expected_per_arm=per_arm, fixed_effect=design.mixing_effect)
        significant = _significant(comparison, sizes / per_arm, design.test, alpha, mixing, design.spending)
        if design.once:
            significant[:, :-1] = False
        stopped = significant.any(axis=1)
        samples = np.where(stopped, sizes[significant.argmax(axis=1)], per_arm)
        rate = float(stopped.mean())
        results.append(
            SimulationResult(
                baseline=baseline,
                lift=lift,
                per_arm=per_arm,
                peek_every=per_arm if design.once else peek_every,
                looks=1 if design.once else int(sizes.size),
                runs=runs,
                test=design.test,
                adjusted=design.adjusted,
                mixing=_mixing_label(design),
                spending=design.spending if design.test == "planned" else None,
                alpha=alpha,
                seed=seed,
                rejection_rate=rate,
                monte_carlo_error=math.sqrt(rate * (1 - rate) / runs),
                false_positive_rate=rate if lift == 0 else None,
                power=rate if lift != 0 else None,
                mean_samples_to_decision=float(samples.mean()),
                variance_reduction=float(comparison.variance_reduction[:, -1].mean()) if design.adjusted else None,
            )
        )
    return results


def _mixing_label(design: Procedure) -> str | None:
    if design.test != "msprt":
        return None
    return "tuned" if design.mixing_effect is None else f"{design.mixing_effect:g}"


def _significant(
    comparison: AdjustedDifference,
    fractions: np.ndarray,
    test: TestKind,
    alpha: float,
    mixing: Mixing,
    spending: Spending,
) -> np.ndarray:
    """(runs × looks) booleans: does the test, read at that look, declare a difference?"""
    if test == "msprt":
        return running_min_p(always_valid_p(adjusted_log_lr(comparison, mixing))) <= alpha
    z = comparison.null_z
    if test == "fixed":
        return z_to_p(z, "two-sided") <= alpha
    return np.asarray(np.abs(z) >= boundaries(fractions, alpha, spending))


def _binomial_moments(rng: np.random.Generator, sizes: np.ndarray, runs: int, rate: float) -> ArmMoments:
    increments = np.diff(sizes, prepend=0)
    conversions = rng.binomial(increments, rate, size=(runs, sizes.size)).cumsum(axis=1)
    zeros = np.zeros_like(conversions, dtype=float)
    return ArmMoments.of(np.broadcast_to(sizes, conversions.shape), conversions, zeros, zeros, zeros)


def _pool_moments(rng: np.random.Generator, pool: LeadPool, sizes: np.ndarray, runs: int, factor: float) -> ArmMoments:
    """Cumulative sums at each look of leads drawn from the pool, converting with p × factor."""
    per_arm = int(sizes[-1])
    chunk = max(1, LEADS_PER_CHUNK // per_arm)
    parts: list[np.ndarray] = []
    for begin in range(0, runs, chunk):
        count = min(chunk, runs - begin)
        leads = rng.integers(0, pool.probability.size, size=(count, per_arm))
        x = pool.covariate[leads]
        y = (rng.random((count, per_arm)) < np.minimum(pool.probability[leads] * factor, 1.0)).astype(float)
        starts = np.diff(sizes, prepend=0).cumsum() - np.diff(sizes, prepend=0)
        sums = np.add.reduceat(np.stack([y, x, x * x, x * y]), starts, axis=2).cumsum(axis=2)
        parts.append(sums)
    y, x, xx, xy = np.concatenate(parts, axis=1)
    return ArmMoments.of(np.broadcast_to(sizes, y.shape).astype(float), y, x, xx, xy)
