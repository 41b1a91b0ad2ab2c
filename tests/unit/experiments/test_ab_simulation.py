"""Peeking, simulated: the naive z-test's false positives inflate, the mSPRT's do not.

The numbers are the ones docs/experiments.md quotes (seed 20261121, 2,000 runs, baseline 10 %,
a look every 100 exposures per arm up to 5,000 per arm, the sequential test set up for a +10 % MDE).
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from leadscore.errors import InvalidInputError
from leadscore.experiments.sequential import Mixing, lift_confidence_bounds, running_intersection
from leadscore.experiments.simulation import look_sizes, simulate_peeking

SEED = 20261121
PEEKING = {
    "baseline": 0.10,
    "per_arm": 5000,
    "runs": 2000,
    "peek_every": 100,
    "seed": SEED,
    "mixing_effect": 0.1,
}


def test_fixed_test_false_positive_rate_is_inflated_when_peeking(
    record_property: pytest.RecordProperty,
) -> None:
    result = simulate_peeking(lift=0.0, test="fixed", **PEEKING)
    record_property("fixed_false_positive_rate", result.false_positive_rate)
    print(f"fixed z-test, 50 looks: false-positive rate {result.false_positive_rate:.3f}")
    assert result.false_positive_rate is not None
    assert result.false_positive_rate > 0.15
    assert result.power is None


def test_sequential_false_positive_rate_stays_at_alpha_when_peeking(
    record_property: pytest.RecordProperty,
) -> None:
    result = simulate_peeking(lift=0.0, test="msprt", **PEEKING)
    record_property("sequential_false_positive_rate", result.false_positive_rate)
    print(f"mSPRT, 50 looks: false-positive rate {result.false_positive_rate:.4f}")
    assert result.false_positive_rate is not None
    assert result.false_positive_rate <= 0.05 + 3 * 0.05**0.5 * 0.95**0.5 / PEEKING["runs"] ** 0.5


def test_sequential_power_is_reported_at_a_realistic_lift(record_property: pytest.RecordProperty) -> None:
    result = simulate_peeking(lift=0.20, test="msprt", **PEEKING)
    record_property("sequential_power_lift_20pct", result.power)
    record_property("sequential_mean_samples_lift_20pct", result.mean_samples_to_decision)
    print(
        f"mSPRT, +20 % lift on 10 %: power {result.power:.3f}, "
        f"mean per-arm exposures at decision {result.mean_samples_to_decision:.0f}"
    )
    assert result.power is not None
    assert result.power > 0.5
    assert result.mean_samples_to_decision < PEEKING["per_arm"]


def test_simulation_is_reproducible_with_a_seed() -> None:
    first = simulate_peeking(lift=0.1, test="msprt", **PEEKING)
    second = simulate_peeking(lift=0.1, test="msprt", **PEEKING)
    assert first == second


def test_simulation_runs_two_thousand_experiments_of_fifty_looks_fast() -> None:
    started = time.perf_counter()
    simulate_peeking(lift=0.0, test="msprt", **PEEKING)
    assert time.perf_counter() - started < 5.0


def test_look_sizes_end_at_the_horizon_when_it_is_not_a_multiple() -> None:
    assert look_sizes(250, 100).tolist() == [100, 200, 250]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"baseline": 1.2}, "baseline: a conversion rate strictly between 0 and 1"),
        ({"lift": 20.0}, "lift: 20.0 moves baseline 0.1"),
        ({"runs": 0}, "runs: must be at least 1, got 0"),
        ({"peek_every": 0}, "peek_every: must be at least 1, got 0"),
        ({"peek_every": 1, "runs": 5000}, "runs × looks: 5000 × 5000 = 25000000 exceeds 20000000"),
    ],
)
def test_simulation_refuses_bad_input(overrides: dict, message: str) -> None:
    arguments = {**PEEKING, "lift": 0.0, **overrides}
    with pytest.raises(InvalidInputError, match=f"^{message}"):
        simulate_peeking(test="msprt", **arguments)


def test_lift_confidence_sequence_covers_the_true_lift_at_every_look() -> None:
    # Always-valid coverage: the share of runs whose sequence *ever* excludes the true lift stays
    # at or below alpha, although it is checked at all 50 looks.
    rng = np.random.default_rng(SEED)
    sizes = look_sizes(5000, 100)
    increments = np.diff(sizes, prepend=0)
    true_lift = 0.2
    kc = rng.binomial(increments, 0.10, size=(1000, sizes.size)).cumsum(axis=1)
    kt = rng.binomial(increments, 0.10 * (1 + true_lift), size=(1000, sizes.size)).cumsum(axis=1)
    low, high = lift_confidence_bounds(kc, sizes, kt, sizes, Mixing(0.1, 0.05, fixed_effect=0.1))
    low, high = running_intersection(low, high)  # per run, along looks (last axis)
    ever_missed = ((low > true_lift) | (high < true_lift)).any(axis=1).mean()
    assert ever_missed <= 0.05


def test_tuning_the_mixture_to_the_horizon_gains_power_and_stays_valid(record_property: pytest.RecordProperty) -> None:
    tuned = {key: value for key, value in PEEKING.items() if key != "mixing_effect"}
    null = simulate_peeking(lift=0.0, test="msprt", minimum_detectable_effect=0.1, **tuned)
    real = simulate_peeking(lift=0.2, test="msprt", minimum_detectable_effect=0.1, **tuned)
    today = simulate_peeking(lift=0.2, test="msprt", **PEEKING)
    record_property("tuned_false_positive_rate", null.false_positive_rate)
    record_property("tuned_power_lift_20pct", real.power)
    print(f"tuned mSPRT: false positives {null.false_positive_rate:.4f}, power {real.power:.3f} "
          f"(fixed tau {today.power:.3f}), mean samples {real.mean_samples_to_decision:.0f}")
    assert null.false_positive_rate is not None and null.false_positive_rate <= 0.05
    assert real.power is not None and today.power is not None and real.power > today.power
    assert real.mean_samples_to_decision < today.mean_samples_to_decision
