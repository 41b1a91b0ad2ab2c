"""Always-valid inference: the mixture sequential probability ratio test (mSPRT).

Johari, Koomen, Pekelis and Walsh, "Always Valid Inference: Continuous Monitoring of A/B
Tests" (Operations Research, 2022). For an estimate θ̂ that is approximately N(θ, V), mixing
the likelihood ratio over θ ~ N(θ₀, τ²) gives the closed form

    Λ = √(V / (V + τ²)) · exp( τ² (θ̂ − θ₀)² / (2 V (V + τ²)) ).

Under θ = θ₀, Λ is a non-negative martingale, so by Ville's inequality the chance it *ever*
reaches 1/α is at most α. Hence ``p = min(1, 1/Λ)`` — and its running minimum over looks — is a
p-value that may be checked after every exposure without inflating false positives, and
``{θ₀ : Λ(θ₀) < 1/α}`` (intersected over looks) is a confidence *sequence*. The price is width:
at a fixed sample size these intervals are wider than the fixed-horizon ones.

Written in terms of V (the variance of the estimate) rather than per-observation variance and
n, the same formula covers uneven splits. V is a plug-in estimate, as in the paper.

Choosing τ (``Mixing``): τ is the spread of effects the test is tuned to find. By default it is
*tuned*: the radius of the confidence sequence at a variance V is smallest when τ² = x*·V, where
x* solves x = 2·log(1/α) + log(1 + x) (≈ 8.2 at α = 0.05; Howard, Ramdas, McAuliffe and Sekhon,
"Time-uniform, nonparametric, nonasymptotic confidence sequences", Annals of Statistics 2021,
give the closed-form approximation x ≈ −2·log α + log(1 − 2·log α)). At that τ the radius is
√(1 + x*)·√V, so the test has the wanted power at the MDE δ once
√V ≤ δ / (√(1 + x*) + z_power): the sample size N* the tuned test plans for. The mixture is
tuned to the smaller of N* and the expected sample size (when known), i.e. to the larger of
their variances: a test that must finish by then gains nothing from being tuned for later.
``mixingEffect`` fixes τ = mixingEffect × scale instead (the behaviour before tuning).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from leadscore.experiments.proportions import log_ratio_estimate, pooled_variance


@cache
def optimal_mixing_ratio(alpha: float) -> float:
    """x* = τ²/V that minimises the confidence sequence's radius at variance V.

    d/dx of (1 + 1/x)·(log(1/α) + ½·log(1 + x)) vanishes where x = 2·log(1/α) + log(1 + x);
    the fixed-point iteration contracts (slope 1/(1 + x) < 1) and is exact to 1e-12 in a few steps.
    """
    target = 2 * math.log(1 / alpha)
    ratio = target
    for _ in range(100):
        following = target + math.log1p(ratio)
        if abs(following - ratio) < 1e-13:
            break
        ratio = following
    return ratio


@dataclass(frozen=True)
class Mixing:
    """How the mixture's τ is chosen: tuned from the MDE and expected sample size, or fixed.

    ``expected_per_arm`` is the control arm's expected size (the treatment arm's is
    ``treatment_ratio`` times it); ``fixed_effect`` (a relative lift) overrides the tuning.
    """

    minimum_detectable_effect: float
    alpha: float
    power: float = 0.8
    expected_per_arm: float | None = None
    treatment_ratio: float = 1.0
    fixed_effect: float | None = None

    def planned_variance(self, delta: ArrayLike) -> np.ndarray:
        """V at N*: where the tuned test reaches ``power`` for an absolute effect ``delta``."""
        ratio = optimal_mixing_ratio(self.alpha)
        return np.asarray((np.asarray(delta, float) / (math.sqrt(1 + ratio) + stats.norm.ppf(self.power))) ** 2)

    def tau2(self, delta: ArrayLike, unit_variance: ArrayLike, fixed_delta: ArrayLike | None = None) -> np.ndarray:
        """τ² for an MDE of absolute size ``delta`` and a per-lead (null) variance ``unit_variance``.

        ``fixed_delta`` is the absolute size of ``fixed_effect`` on the same scale.
        """
        if self.fixed_effect is not None:
            return np.asarray(fixed_delta, float) ** 2
        tuned_for = self.planned_variance(delta)
        if self.expected_per_arm is not None:
            horizon = np.asarray(unit_variance, float) * (
                1 / self.expected_per_arm + 1 / (self.treatment_ratio * self.expected_per_arm)
            )
            tuned_for = np.maximum(tuned_for, horizon)
        return optimal_mixing_ratio(self.alpha) * tuned_for

    def difference_tau2(self, pooled_rate: ArrayLike, unit_variance: ArrayLike) -> np.ndarray:
        """τ² on the rate-difference scale: the MDE is ``minimum_detectable_effect × pooled rate``."""
        rate = np.asarray(pooled_rate, float)
        fixed = None if self.fixed_effect is None else self.fixed_effect * rate
        return self.tau2(self.minimum_detectable_effect * rate, unit_variance, fixed)

    def log_ratio_tau2(self, unit_log_variance: ArrayLike) -> np.ndarray:
        """τ² on the log rate-ratio scale: the MDE is ``log(1 + minimum_detectable_effect)``."""
        fixed = None if self.fixed_effect is None else math.log1p(self.fixed_effect)
        return self.tau2(math.log1p(self.minimum_detectable_effect), unit_log_variance, fixed)

    def relative_effect(self, tau2: ArrayLike, pooled_rate: ArrayLike) -> np.ndarray:
        """The relative lift τ stands for on the difference scale (reported as ``mixing_effect``)."""
        return np.asarray(np.sqrt(np.asarray(tau2, float)) / np.asarray(pooled_rate, float))


def mixture_log_lr(estimate: ArrayLike, variance: ArrayLike, tau2: ArrayLike, null: float = 0.0) -> np.ndarray:
    """log Λ of the normal-mixture likelihood ratio; 0 (no evidence) where V or τ² is not positive."""
    theta = np.asarray(estimate, float)
    v = np.asarray(variance, float)
    t2 = np.asarray(tau2, float)
    usable = (v > 0) & (t2 > 0) & np.isfinite(v)
    v_safe = np.where(usable, v, 1.0)
    t2_safe = np.where(usable, t2, 1.0)
    log_lr = 0.5 * np.log(v_safe / (v_safe + t2_safe)) + t2_safe * (theta - null) ** 2 / (
        2 * v_safe * (v_safe + t2_safe)
    )
    return np.where(usable, log_lr, 0.0)


def always_valid_p(log_lr: ArrayLike) -> np.ndarray:
    """min(1, 1/Λ) at one look; take the running minimum over looks (``running_min_p``)."""
    p: np.ndarray = np.minimum(1.0, np.exp(-np.asarray(log_lr, float)))
    return p


def running_min_p(p_values: ArrayLike, axis: int = -1) -> np.ndarray:
    """Running minimum along the looks: the always-valid p-value never goes back up."""
    return np.minimum.accumulate(np.asarray(p_values, float), axis=axis)


def running_intersection(lows: ArrayLike, highs: ArrayLike, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """Intersect a confidence sequence over looks (along ``axis``): still valid, and it never widens."""
    return (
        np.maximum.accumulate(np.asarray(lows, float), axis=axis),
        np.minimum.accumulate(np.asarray(highs, float), axis=axis),
    )


def mixture_radius(variance: ArrayLike, tau2: ArrayLike, alpha: float) -> np.ndarray:
    """Half-width of the confidence sequence: the |θ̂ − θ₀| at which Λ(θ₀) reaches 1/α.

    Solving Λ = 1/α for θ₀ gives (θ̂ − θ₀)² = 2V(V+τ²)/τ² · (log(1/α) + ½·log((V+τ²)/V)).
    Infinite where there is no usable variance yet.
    """
    v = np.asarray(variance, float)
    t2 = np.asarray(tau2, float)
    usable = (v > 0) & (t2 > 0) & np.isfinite(v)
    v_safe = np.where(usable, v, 1.0)
    t2_safe = np.where(usable, t2, 1.0)
    squared = (
        2 * v_safe * (v_safe + t2_safe) / t2_safe * (np.log(1 / alpha) + 0.5 * np.log((v_safe + t2_safe) / v_safe))
    )
    return np.where(usable, np.sqrt(squared), np.inf)


def difference_tau2(
    conversions_c: ArrayLike,
    exposures_c: ArrayLike,
    conversions_t: ArrayLike,
    exposures_t: ArrayLike,
    mixing: Mixing,
) -> np.ndarray:
    """τ² on the difference scale from the pooled rate p̄ (per-lead null variance p̄(1 − p̄))."""
    pooled = (np.asarray(conversions_c, float) + np.asarray(conversions_t, float)) / (
        np.asarray(exposures_c, float) + np.asarray(exposures_t, float)
    )
    return mixing.difference_tau2(pooled, pooled * (1 - pooled))


def difference_log_lr(
    conversions_c: ArrayLike,
    exposures_c: ArrayLike,
    conversions_t: ArrayLike,
    exposures_t: ArrayLike,
    mixing: Mixing,
) -> np.ndarray:
    """log Λ for "no difference in conversion rate", with V pooled under that null.

    The pooled variance is what makes early looks safe: with 0/100 against 3/100 the unpooled
    variance is tiny and would produce a spurious huge Λ.
    """
    kc, nc = np.asarray(conversions_c, float), np.asarray(exposures_c, float)
    kt, nt = np.asarray(conversions_t, float), np.asarray(exposures_t, float)
    variance = pooled_variance(kc, nc, kt, nt)
    tau2 = difference_tau2(kc, nc, kt, nt, mixing)
    return mixture_log_lr(kt / nt - kc / nc, variance, tau2)


def difference_confidence_radius(
    conversions_c: ArrayLike,
    exposures_c: ArrayLike,
    conversions_t: ArrayLike,
    exposures_t: ArrayLike,
    mixing: Mixing,
) -> np.ndarray:
    """Half-width of the confidence sequence for the rate difference (unpooled V: any θ)."""
    kc, nc = np.asarray(conversions_c, float), np.asarray(exposures_c, float)
    kt, nt = np.asarray(conversions_t, float), np.asarray(exposures_t, float)
    pc, pt = kc / nc, kt / nt
    variance = pc * (1 - pc) / nc + pt * (1 - pt) / nt
    return mixture_radius(variance, difference_tau2(kc, nc, kt, nt, mixing), mixing.alpha)


def lift_confidence_bounds(
    conversions_c: ArrayLike,
    exposures_c: ArrayLike,
    conversions_t: ArrayLike,
    exposures_t: ArrayLike,
    mixing: Mixing,
) -> tuple[np.ndarray, np.ndarray]:
    """Confidence sequence for relative lift, from the log rate ratio (per-lead variance (1 − p̄)/p̄)."""
    kc, nc = np.asarray(conversions_c, float), np.asarray(exposures_c, float)
    kt, nt = np.asarray(conversions_t, float), np.asarray(exposures_t, float)
    estimate, variance = log_ratio_estimate(kc, nc, kt, nt)
    pooled = (kc + kt) / (nc + nt)
    with np.errstate(divide="ignore", invalid="ignore"):
        unit = np.where(pooled > 0, (1 - pooled) / pooled, np.inf)
    radius = mixture_radius(variance, mixing.log_ratio_tau2(unit), mixing.alpha)
    return np.expm1(estimate - radius), np.expm1(estimate + radius)
