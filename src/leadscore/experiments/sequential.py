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

Choosing τ: τ is the spread of effects the test is tuned to find. We centre it on the effect the
experiment was designed for: τ = MDE × pooled rate on the difference scale and τ = log(1 + MDE)
on the log-ratio (lift) scale. Too small a τ makes large effects slow to confirm, too large a τ
makes small effects slow; the MDE is the one effect size the owner of the experiment has told
us matters. ``mixing_effect`` overrides it.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from leadscore.experiments.proportions import log_ratio_estimate, pooled_variance


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
    mixing_effect: float,
) -> np.ndarray:
    """τ² on the difference scale: (mixing_effect × pooled rate)², the absolute size of the MDE."""
    pooled = (np.asarray(conversions_c, float) + np.asarray(conversions_t, float)) / (
        np.asarray(exposures_c, float) + np.asarray(exposures_t, float)
    )
    tau_squared: np.ndarray = (mixing_effect * pooled) ** 2
    return tau_squared


def difference_log_lr(
    conversions_c: ArrayLike,
    exposures_c: ArrayLike,
    conversions_t: ArrayLike,
    exposures_t: ArrayLike,
    mixing_effect: float,
) -> np.ndarray:
    """log Λ for "no difference in conversion rate", with V pooled under that null.

    The pooled variance is what makes early looks safe: with 0/100 against 3/100 the unpooled
    variance is tiny and would produce a spurious huge Λ.
    """
    kc, nc = np.asarray(conversions_c, float), np.asarray(exposures_c, float)
    kt, nt = np.asarray(conversions_t, float), np.asarray(exposures_t, float)
    variance = pooled_variance(kc, nc, kt, nt)
    tau2 = difference_tau2(kc, nc, kt, nt, mixing_effect)
    return mixture_log_lr(kt / nt - kc / nc, variance, tau2)


def difference_confidence_radius(
    conversions_c: ArrayLike,
    exposures_c: ArrayLike,
    conversions_t: ArrayLike,
    exposures_t: ArrayLike,
    mixing_effect: float,
    alpha: float,
) -> np.ndarray:
    """Half-width of the confidence sequence for the rate difference (unpooled V: any θ)."""
    kc, nc = np.asarray(conversions_c, float), np.asarray(exposures_c, float)
    kt, nt = np.asarray(conversions_t, float), np.asarray(exposures_t, float)
    pc, pt = kc / nc, kt / nt
    variance = pc * (1 - pc) / nc + pt * (1 - pt) / nt
    return mixture_radius(variance, difference_tau2(kc, nc, kt, nt, mixing_effect), alpha)


def lift_confidence_bounds(
    conversions_c: ArrayLike,
    exposures_c: ArrayLike,
    conversions_t: ArrayLike,
    exposures_t: ArrayLike,
    mixing_effect: float,
    alpha: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Confidence sequence for relative lift, from the log rate ratio with τ = log(1 + MDE)."""
    estimate, variance = log_ratio_estimate(conversions_c, exposures_c, conversions_t, exposures_t)
    radius = mixture_radius(variance, np.log1p(mixing_effect) ** 2, alpha)
    return np.expm1(estimate - radius), np.expm1(estimate + radius)
