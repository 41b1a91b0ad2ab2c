"""Regression adjustment (CUPED/CUPAC) of a conversion difference with a pre-treatment covariate.

The covariate x is the control arm's model score of each exposed lead, computed from the lead's
features at scoring time in *both* arms (the predictor logs it), so the treatment cannot move
it. Method (Deng, Xu, Kohavi and Walker, "Improving the sensitivity of online controlled
experiments by utilizing pre-experiment data", WSDM 2013; with a model prediction as x this is
"CUPAC"):

    θ̂_adj = (ȳ_t − ȳ_c) − β̂ (x̄_t − x̄_c),   β̂ = (S_xy,c + S_xy,t) / (S_xx,c + S_xx,t)

with S the within-arm centred sums: one slope for both arms, estimated on the pooled data. That
θ̂_adj is exactly the coefficient of the treatment indicator in the OLS fit y ~ 1 + T + x
(ANCOVA). Its variance is the HC0 (sandwich) variance of the difference in means of the
residualised outcome y − β̂x, Σ_arms Σ(r − r̄_arm)² / n_arm²; under "no difference" both arms
share one distribution of y − β̂x, and the pooled variance around the grand mean replaces it
(as the unadjusted test pools p̄). With β̂ = 0 (no covariate) every figure is the unadjusted one.

Everything works on aggregates (n, Σy, Σy², Σx, Σx², Σxy per arm), which the collector keeps
per arm and per day, and on numpy arrays of them (looks, simulated runs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from leadscore.experiments.sequential import Mixing, mixture_log_lr, mixture_radius


@dataclass(frozen=True)
class ArmMoments:
    """One arm's sums (scalars or arrays of the same shape): n, Σy, Σy², Σx, Σx², Σxy."""

    n: np.ndarray
    y: np.ndarray
    yy: np.ndarray
    x: np.ndarray
    xx: np.ndarray
    xy: np.ndarray

    @classmethod
    def of(
        cls, n: ArrayLike, y: ArrayLike, x: ArrayLike, xx: ArrayLike, xy: ArrayLike, yy: ArrayLike | None = None
    ) -> ArmMoments:
        """Binary outcomes unless ``yy`` is given: y² = y, so Σy² = Σy."""
        return cls(*(np.asarray(v, float) for v in (n, y, y if yy is None else yy, x, xx, xy)))

    @classmethod
    def from_values(cls, outcomes: ArrayLike, covariate: ArrayLike) -> ArmMoments:
        """The sums of per-lead outcomes and covariates (for tests and the CLI's per-lead files)."""
        y, x = np.asarray(outcomes, float), np.asarray(covariate, float)
        return cls.of(y.size, y.sum(), x.sum(), (x * x).sum(), (x * y).sum(), (y * y).sum())

    def centred(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(S_yy, S_xx, S_xy): sums of squares and products around this arm's own means."""
        with np.errstate(divide="ignore", invalid="ignore"):
            n = np.where(self.n > 0, self.n, np.nan)
            return (
                np.nan_to_num(self.yy - self.y**2 / n),
                np.nan_to_num(self.xx - self.x**2 / n),
                np.nan_to_num(self.xy - self.x * self.y / n),
            )


def pooled_slope(control: ArmMoments, treatment: ArmMoments) -> np.ndarray:
    """β̂: the within-arm OLS slope of y on x, both arms pooled; 0 while x does not vary."""
    _, sxx_c, sxy_c = control.centred()
    _, sxx_t, sxy_t = treatment.centred()
    denominator = sxx_c + sxx_t
    usable = denominator > 1e-10 * (control.xx + treatment.xx)
    return np.where(usable, (sxy_c + sxy_t) / np.where(usable, denominator, 1.0), 0.0)


@dataclass(frozen=True)
class AdjustedDifference:
    """The regression-adjusted comparison; all fields are arrays shaped like the inputs."""

    slope: np.ndarray
    control_mean: np.ndarray
    """Control's adjusted mean, ȳ_c − β̂(x̄_c − x̄): its rate had it seen the average lead."""
    treatment_mean: np.ndarray
    difference: np.ndarray
    variance: np.ndarray
    """HC0 variance of ``difference`` (any effect)."""
    null_variance: np.ndarray
    """Its variance under "no difference": pooled residual variance × (1/n_c + 1/n_t)."""
    unit_null_variance: np.ndarray
    """Per-lead residual variance under "no difference" (p̄(1 − p̄) when unadjusted)."""
    raw_variance: np.ndarray
    """HC0 variance of the unadjusted difference, for the variance reduction achieved."""
    pooled_mean: np.ndarray
    log_ratio: np.ndarray
    log_variance: np.ndarray
    """Delta-method variance of log(treatment_mean / control_mean); inf unless both are positive."""

    @property
    def variance_reduction(self) -> np.ndarray:
        """Share of the difference's variance the covariate removed: 1 − V_adj / V_raw."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.raw_variance > 0, 1 - self.variance / self.raw_variance, 0.0)

    @property
    def null_z(self) -> np.ndarray:
        """z of the difference with its null variance (0 while that variance is 0)."""
        usable = self.null_variance > 0
        return np.where(usable, self.difference / np.sqrt(np.where(usable, self.null_variance, 1.0)), 0.0)

    @property
    def lift(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.control_mean > 0, self.treatment_mean / self.control_mean - 1, np.nan)


def adjusted_difference(control: ArmMoments, treatment: ArmMoments, *, adjust: bool = True) -> AdjustedDifference:
    """θ̂_adj and its variances (module docstring); ``adjust=False`` gives β̂ = 0, the raw figures."""
    slope = pooled_slope(control, treatment) if adjust else np.zeros(np.broadcast(control.n, treatment.n).shape)
    nc, nt = control.n, treatment.n
    n = nc + nt
    grand_x = (control.x + treatment.x) / n
    mean_c = control.y / nc - slope * (control.x / nc - grand_x)
    mean_t = treatment.y / nt - slope * (treatment.x / nt - grand_x)
    syy_c, sxx_c, sxy_c = control.centred()
    syy_t, sxx_t, sxy_t = treatment.centred()
    residual_c = np.maximum(syy_c - 2 * slope * sxy_c + slope**2 * sxx_c, 0.0)
    residual_t = np.maximum(syy_t - 2 * slope * sxy_t + slope**2 * sxx_t, 0.0)
    variance = residual_c / nc**2 + residual_t / nt**2
    raw_variance = syy_c / nc**2 + syy_t / nt**2
    r_sum = control.y + treatment.y - slope * (control.x + treatment.x)
    r_squares = (
        control.yy + treatment.yy - 2 * slope * (control.xy + treatment.xy) + slope**2 * (control.xx + treatment.xx)
    )
    unit_null = np.maximum(r_squares - r_sum**2 / n, 0.0) / n
    positive = (mean_c > 0) & (mean_t > 0)
    safe_c, safe_t = np.where(positive, mean_c, 1.0), np.where(positive, mean_t, 1.0)
    return AdjustedDifference(
        slope=slope,
        control_mean=mean_c,
        treatment_mean=mean_t,
        difference=mean_t - mean_c,
        variance=variance,
        null_variance=unit_null * (1 / nc + 1 / nt),
        unit_null_variance=unit_null,
        raw_variance=raw_variance,
        pooled_mean=(control.y + treatment.y) / n,
        log_ratio=np.where(positive, np.log(safe_t / safe_c), 0.0),
        log_variance=np.where(positive, residual_t / nt**2 / safe_t**2 + residual_c / nc**2 / safe_c**2, np.inf),
    )


def difference_tau2(adjusted: AdjustedDifference, mixing: Mixing) -> np.ndarray:
    """τ² on the difference scale, tuned with the (residual) per-lead variance."""
    return mixing.difference_tau2(adjusted.pooled_mean, adjusted.unit_null_variance)


def adjusted_log_lr(adjusted: AdjustedDifference, mixing: Mixing) -> np.ndarray:
    """log Λ of the mSPRT for "no difference", on θ̂_adj with its null variance."""
    return mixture_log_lr(adjusted.difference, adjusted.null_variance, difference_tau2(adjusted, mixing))


def adjusted_difference_radius(adjusted: AdjustedDifference, mixing: Mixing) -> np.ndarray:
    """Half-width of the confidence sequence for the adjusted difference (HC0 variance)."""
    return mixture_radius(adjusted.variance, difference_tau2(adjusted, mixing), mixing.alpha)


def adjusted_lift_bounds(adjusted: AdjustedDifference, mixing: Mixing) -> tuple[np.ndarray, np.ndarray]:
    """Confidence sequence for the adjusted relative lift, on the log ratio of adjusted means."""
    with np.errstate(divide="ignore", invalid="ignore"):
        unit = np.where(adjusted.pooled_mean > 0, adjusted.unit_null_variance / adjusted.pooled_mean**2, np.inf)
    radius = mixture_radius(adjusted.log_variance, mixing.log_ratio_tau2(unit), mixing.alpha)
    return np.expm1(adjusted.log_ratio - radius), np.expm1(adjusted.log_ratio + radius)
