"""Monte-Carlo proof of what peeking does to a test: false positives and power.

R simulated experiments with known rates are looked at every K exposures per arm up to N and
stopped at the first look whose p-value is at or below alpha, exactly as an operator (or a sales
manager refreshing a dashboard) would. The fixed-horizon z-test looked at this way rejects a
true null far more often than alpha; the mSPRT does not. Both use the production functions in
``proportions`` and ``sequential`` — the simulation tests the code that decides, not a copy.

All runs are simulated at once: a (runs × looks) array of binomial increments per arm, summed
along the looks, so 2,000 runs × 50 looks take well under a second.
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import BaseModel, Field

from leadscore.errors import InvalidInputError
from leadscore.experiments.proportions import check_alpha, pooled_z, z_to_p
from leadscore.experiments.sequential import always_valid_p, difference_log_lr, running_min_p
from leadscore.experiments.settings import DEFAULT_MINIMUM_DETECTABLE_EFFECT

MAX_CELLS = 20_000_000
"""runs × looks per simulation: a few arrays of this many floats stay within ~1 GB."""


class SimulationResult(BaseModel):
    """How often simulated experiments declared a difference, and how soon."""

    baseline: float
    lift: float = Field(description="True relative lift of the treatment arm.")
    per_arm: int
    peek_every: int
    looks: int
    runs: int
    sequential: bool
    alpha: float
    seed: int
    rejection_rate: float = Field(description="Share of runs stopped at a significant look.")
    monte_carlo_error: float = Field(description="Standard error of rejection_rate: sqrt(r(1-r)/runs).")
    false_positive_rate: float | None = Field(None, description="rejection_rate when the true lift is 0.")
    power: float | None = Field(None, description="rejection_rate when the true lift is not 0.")
    mean_samples_to_decision: float = Field(
        description="Mean per-arm exposures at the stopping look; runs that never stop count as per_arm."
    )


def look_sizes(per_arm: int, peek_every: int) -> np.ndarray:
    """Per-arm exposures at each look: every ``peek_every`` and always at the horizon itself."""
    sizes = np.arange(peek_every, per_arm + 1, peek_every)
    if sizes.size == 0 or sizes[-1] != per_arm:
        sizes = np.append(sizes, per_arm)
    return sizes


def simulate_peeking(
    baseline: float,
    lift: float,
    per_arm: int,
    runs: int,
    peek_every: int,
    *,
    sequential: bool,
    alpha: float = 0.05,
    mixing_effect: float = DEFAULT_MINIMUM_DETECTABLE_EFFECT,
    seed: int = 0,
) -> SimulationResult:
    """Simulate ``runs`` two-sided experiments stopped at their first significant look.

    ``mixing_effect`` is the sequential test's MDE (see ``sequential``); it does not affect the
    fixed test.
    """
    check_alpha(alpha)
    if not 0.0 < baseline < 1.0:
        raise InvalidInputError(f"baseline: a conversion rate strictly between 0 and 1, got {baseline}")
    treated = baseline * (1 + lift)
    if not 0.0 <= treated <= 1.0:
        raise InvalidInputError(f"lift: {lift} moves baseline {baseline} to {treated:.4g}, outside [0, 1]")
    for name, value in (("per_arm", per_arm), ("runs", runs), ("peek_every", peek_every)):
        if value < 1:
            raise InvalidInputError(f"{name}: must be at least 1, got {value}")
    if mixing_effect <= 0:
        raise InvalidInputError(f"mixing_effect: must be positive, got {mixing_effect}")

    sizes = look_sizes(per_arm, peek_every)
    if runs * sizes.size > MAX_CELLS:
        raise InvalidInputError(
            f"runs × looks: {runs} × {sizes.size} = {runs * sizes.size} exceeds {MAX_CELLS}; "
            "use fewer runs or a larger peek_every"
        )
    rng = np.random.default_rng(seed)
    increments = np.diff(sizes, prepend=0)
    conversions_c = rng.binomial(increments, baseline, size=(runs, sizes.size)).cumsum(axis=1)
    conversions_t = rng.binomial(increments, treated, size=(runs, sizes.size)).cumsum(axis=1)
    if sequential:
        p = running_min_p(always_valid_p(difference_log_lr(conversions_c, sizes, conversions_t, sizes, mixing_effect)))
    else:
        p = z_to_p(pooled_z(conversions_c, sizes, conversions_t, sizes), "two-sided")
    significant = p <= alpha
    stopped = significant.any(axis=1)
    first = significant.argmax(axis=1)
    samples = np.where(stopped, sizes[first], per_arm)
    rate = float(stopped.mean())
    return SimulationResult(
        baseline=baseline,
        lift=lift,
        per_arm=per_arm,
        peek_every=peek_every,
        looks=int(sizes.size),
        runs=runs,
        sequential=sequential,
        alpha=alpha,
        seed=seed,
        rejection_rate=rate,
        monte_carlo_error=math.sqrt(rate * (1 - rate) / runs),
        false_positive_rate=rate if lift == 0 else None,
        power=rate if lift != 0 else None,
        mean_samples_to_decision=float(samples.mean()),
    )
