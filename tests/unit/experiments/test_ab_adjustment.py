"""CUPED/CUPAC regression adjustment, checked against statsmodels OLS to 1e-6 (and tighter)."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from leadscore.experiments.adjustment import (
    ArmMoments,
    adjusted_difference,
    adjusted_lift_bounds,
    adjusted_log_lr,
)
from leadscore.experiments.proportions import pooled_variance
from leadscore.experiments.sequential import Mixing, difference_log_lr, lift_confidence_bounds


def _leads(seed: int, n: int = 3000, lift: float = 0.15) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Arm indicator, covariate (a score), conversion: the score predicts conversion in both arms."""
    rng = np.random.default_rng(seed)
    treated = np.r_[np.zeros(n), np.ones(n)]
    score = rng.beta(2, 12, size=2 * n)
    probability = np.clip(score * (1 + lift * treated), 0, 1)
    return treated, score, (rng.random(2 * n) < probability).astype(float)


def _arms(treated: np.ndarray, score: np.ndarray, converted: np.ndarray) -> tuple[ArmMoments, ArmMoments]:
    control, treatment = treated == 0, treated == 1
    return (
        ArmMoments.from_values(converted[control], score[control]),
        ArmMoments.from_values(converted[treatment], score[treatment]),
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_adjusted_difference_is_the_ols_treatment_coefficient_with_hc0_variance(seed: int) -> None:
    treated, score, converted = _leads(seed)
    result = adjusted_difference(*_arms(treated, score, converted))
    ancova = sm.OLS(converted, sm.add_constant(np.c_[treated, score])).fit()
    assert float(result.slope) == pytest.approx(ancova.params[2], abs=1e-9)
    assert float(result.difference) == pytest.approx(ancova.params[1], abs=1e-9)
    residualised = sm.OLS(converted - float(result.slope) * score, sm.add_constant(treated)).fit(cov_type="HC0")
    assert float(result.variance) == pytest.approx(residualised.bse[1] ** 2, rel=1e-6)
    raw = sm.OLS(converted, sm.add_constant(treated)).fit(cov_type="HC0")
    assert float(result.raw_variance) == pytest.approx(raw.bse[1] ** 2, rel=1e-6)
    assert 0.05 < float(result.variance_reduction) < 0.5


def test_without_adjustment_every_figure_is_the_unadjusted_one() -> None:
    treated, score, converted = _leads(4)
    control, treatment = _arms(treated, score, converted)
    result = adjusted_difference(control, treatment, adjust=False)
    kc, nc, kt, nt = control.y, control.n, treatment.y, treatment.n
    assert float(result.slope) == 0.0
    assert float(result.difference) == pytest.approx(float(kt / nt - kc / nc), abs=1e-12)
    assert float(result.null_variance) == pytest.approx(float(pooled_variance(kc, nc, kt, nt)), rel=1e-12)
    mixing = Mixing(0.1, 0.05, expected_per_arm=3000)
    assert float(adjusted_log_lr(result, mixing)) == pytest.approx(float(difference_log_lr(kc, nc, kt, nt, mixing)))
    low, high = adjusted_lift_bounds(result, mixing)
    expected_low, expected_high = lift_confidence_bounds(kc, nc, kt, nt, mixing)
    assert (float(low), float(high)) == pytest.approx((float(expected_low), float(expected_high)), rel=1e-9)


def test_a_covariate_that_does_not_vary_changes_nothing() -> None:
    control = ArmMoments.from_values([1, 0, 0, 1, 0], [0.3] * 5)
    treatment = ArmMoments.from_values([1, 1, 0, 1, 0], [0.3] * 5)
    result = adjusted_difference(control, treatment)
    assert float(result.slope) == 0.0
    assert float(result.difference) == pytest.approx(0.2)
    assert float(result.variance_reduction) == pytest.approx(0.0, abs=1e-12)


def test_adjusted_lift_compares_rates_at_the_average_lead() -> None:
    treated, score, converted = _leads(5)
    result = adjusted_difference(*_arms(treated, score, converted))
    grand = score.mean()
    for arm, mean in ((0, result.control_mean), (1, result.treatment_mean)):
        rows = treated == arm
        expected = converted[rows].mean() - float(result.slope) * (score[rows].mean() - grand)
        assert float(mean) == pytest.approx(expected, abs=1e-12)
    assert float(result.lift) == pytest.approx(float(result.treatment_mean / result.control_mean) - 1)


def test_moments_work_elementwise_over_looks() -> None:
    treated, score, converted = _leads(6)
    looks = [1000, 2000, 3000]
    per_look = [adjusted_difference(*_arms(*(a[np.r_[0:n, 3000 : 3000 + n]] for a in (treated, score, converted))))
                for n in looks]  # fmt: skip
    stacked = [
        ArmMoments(*(np.array([getattr(arm, field) for arm in arms]) for field in ("n", "y", "yy", "x", "xx", "xy")))
        for arms in zip(*(_arms(*(a[np.r_[0:n, 3000 : 3000 + n]] for a in (treated, score, converted))) for n in looks),
                        strict=True)
    ]  # fmt: skip
    together = adjusted_difference(*stacked)
    assert together.difference.tolist() == pytest.approx([float(r.difference) for r in per_look])
    assert together.null_variance.tolist() == pytest.approx([float(r.null_variance) for r in per_look])
