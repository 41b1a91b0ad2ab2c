"""The mixture SPRT: closed form, confidence sequence, and the Bernoulli wrappers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from leadscore.experiments.sequential import (
    Mixing,
    always_valid_p,
    difference_log_lr,
    lift_confidence_bounds,
    mixture_log_lr,
    mixture_radius,
    optimal_mixing_ratio,
    running_intersection,
    running_min_p,
)


def test_mixture_log_lr_equals_the_integral_over_the_normal_mixture() -> None:
    estimate, variance, tau2 = 0.03, 0.0001, 0.0004

    def integrand(theta: float) -> float:
        ratio = stats.norm.pdf(estimate, theta, math.sqrt(variance)) / stats.norm.pdf(estimate, 0, math.sqrt(variance))
        return ratio * stats.norm.pdf(theta, 0, math.sqrt(tau2))

    numeric, _ = integrate.quad(integrand, -0.2, 0.2, points=[estimate], limit=200)
    assert float(mixture_log_lr(estimate, variance, tau2)) == pytest.approx(math.log(numeric), abs=1e-8)


def test_mixture_radius_is_where_the_likelihood_ratio_reaches_one_over_alpha() -> None:
    variance, tau2, alpha = 0.0002, 0.0001, 0.05
    radius = float(mixture_radius(variance, tau2, alpha))
    assert float(mixture_log_lr(radius, variance, tau2)) == pytest.approx(math.log(1 / alpha), abs=1e-9)


def test_mixture_radius_is_wider_than_the_fixed_interval() -> None:
    variance = 0.0002
    fixed = stats.norm.isf(0.025) * math.sqrt(variance)
    assert float(mixture_radius(variance, variance, 0.05)) > fixed


def test_always_valid_p_is_no_evidence_without_variance() -> None:
    assert float(always_valid_p(mixture_log_lr(0.1, 0.0, 0.01))) == 1.0


def test_running_min_p_never_increases() -> None:
    assert running_min_p([0.9, 0.4, 0.6, 0.2, 0.3]).tolist() == [0.9, 0.4, 0.4, 0.2, 0.2]


TODAY = Mixing(0.1, 0.05, fixed_effect=0.1)
"""τ fixed to a +10 % lift, as before tuning."""


def test_difference_log_lr_is_zero_when_nobody_converted() -> None:
    assert float(difference_log_lr(0, 100, 0, 100, TODAY)) == 0.0


def test_difference_log_lr_grows_with_evidence_for_a_real_lift() -> None:
    small = float(difference_log_lr(100, 1000, 130, 1000, TODAY))
    large = float(difference_log_lr(1000, 10000, 1300, 10000, TODAY))
    assert large > small > 0


def test_lift_confidence_bounds_contain_the_estimate_and_narrow_with_data() -> None:
    low_small, high_small = lift_confidence_bounds(100, 1000, 120, 1000, TODAY)
    low_large, high_large = lift_confidence_bounds(1000, 10000, 1200, 10000, TODAY)
    assert float(low_small) < 0.2 < float(high_small)
    assert float(high_large - low_large) < float(high_small - low_small)
    assert np.isfinite([low_large, high_large]).all()


def test_running_intersection_accumulates_along_the_looks_of_each_run() -> None:
    low, high = running_intersection([[1, 3, 2], [0, 1, 0]], [[9, 8, 9], [5, 6, 4]])
    assert low.tolist() == [[1, 3, 3], [0, 1, 1]]
    assert high.tolist() == [[9, 8, 8], [5, 5, 4]]


def test_optimal_mixing_ratio_minimises_the_radius() -> None:
    from scipy import optimize

    for alpha in (0.01, 0.05, 0.1):
        best = optimize.minimize_scalar(
            lambda log_ratio, a=alpha: float(mixture_radius(1.0, math.exp(log_ratio), a)),
            bounds=(-5, 8),
            method="bounded",
            options={"xatol": 1e-10},
        )
        assert optimal_mixing_ratio(alpha) == pytest.approx(math.exp(best.x), rel=1e-4)
        # Howard et al.'s closed form approximates the exact optimum within a few percent
        howard = -2 * math.log(alpha) + math.log(1 - 2 * math.log(alpha))
        assert optimal_mixing_ratio(alpha) == pytest.approx(howard, rel=0.05)
    # at the optimum the radius is √(1 + x*)·√V
    ratio = optimal_mixing_ratio(0.05)
    assert float(mixture_radius(2.0, 2.0 * ratio, 0.05)) == pytest.approx(math.sqrt(2.0 * (1 + ratio)), rel=1e-9)


def test_tuned_mixture_has_the_wanted_power_at_its_planned_size() -> None:
    # At N*, the estimate of an MDE-sized effect clears the radius with probability `power`.
    mixing = Mixing(0.1, 0.05, power=0.8)
    delta = 0.1 * 0.12
    variance = float(mixing.planned_variance(delta))
    tau2 = float(mixing.tau2(delta, 1.0))
    radius = float(mixture_radius(variance, tau2, 0.05))
    assert stats.norm.sf((radius - delta) / math.sqrt(variance)) == pytest.approx(0.8, abs=1e-9)


def test_tuning_to_an_expected_size_below_n_star_widens_tau() -> None:
    unit = 0.12 * 0.88
    free = float(Mixing(0.1, 0.05).difference_tau2(0.12, unit))
    short = float(Mixing(0.1, 0.05, expected_per_arm=5000).difference_tau2(0.12, unit))
    long = float(Mixing(0.1, 0.05, expected_per_arm=10**7).difference_tau2(0.12, unit))
    assert short > free == pytest.approx(long)
    assert short == pytest.approx(optimal_mixing_ratio(0.05) * unit * 2 / 5000)
    assert float(TODAY.difference_tau2(0.12, unit)) == pytest.approx((0.1 * 0.12) ** 2)
