"""Group-sequential tests with alpha spending (``alphaSpending``).

For teams that look at planned times and know their maximum sample size: the z statistic at
information fraction t (exposures so far / planned maximum per arm) is compared with a boundary
b(t) chosen so that the chance of *ever* crossing under "no difference" is exactly alpha. The
boundaries come from a Lan-DeMets spending function (Lan and DeMets, "Discrete sequential
boundaries for clinical trials", Biometrika 1983), so the looks need not be planned exactly:

- O'Brien-Fleming type: α(t) = 2 − 2Φ(z_{α/2} / √t) — almost nothing spent early, close to the
  fixed test's threshold at the end;
- Pocock type: α(t) = α · log(1 + (e − 1)·t) — an even threshold, more early stops, a higher
  final bar.

b_k solves P(|Z_1| < b_1, …, |Z_{k−1}| < b_{k−1}, |Z_k| ≥ b_k) = α(t_k) − α(t_{k−1}) under the
canonical joint distribution of the Z's (Brownian motion in information time: Z_k | Z_{k−1} = u
is normal with mean u·√(t_{k−1}/t_k) and variance 1 − t_{k−1}/t_k), by the recursive numerical
integration of Armitage, McPherson and Rowe (1969), Simpson's rule on a grid.

The p-value reported is the *repeated* p-value (Jennison and Turnbull, Group Sequential Methods,
2000, ch. 9): the smallest level whose boundaries the path has crossed so far, so p ≤ α exactly
when the test has stopped for an effect. Intervals are repeated confidence intervals,
θ̂_k ± b_k·√V_k, which cover θ at every look simultaneously with probability 1 − α.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize, special, stats

from leadscore.errors import InvalidInputError

Spending = Literal["obrien-fleming", "pocock"]
SPENDING: tuple[Spending, ...] = ("obrien-fleming", "pocock")

GRID_POINTS = 241
"""Simpson grid per look (odd): accurate to ~1e-7 in the spent alpha."""
Z_RANGE = 9.0
"""Paths beyond |z| = 9 carry no measurable probability; an infinite boundary integrates to here."""
NEGLIGIBLE = 1e-15
"""Alpha increments below this are not spent (the boundary is infinite)."""
SQRT_2PI = math.sqrt(2 * math.pi)


def alpha_spent(fraction: ArrayLike, alpha: float, spending: Spending) -> np.ndarray:
    """Cumulative two-sided alpha spent by information fraction t (capped at 1: all of it)."""
    t = np.clip(np.asarray(fraction, float), 0.0, 1.0)
    if spending == "obrien-fleming":
        with np.errstate(divide="ignore"):
            spent: np.ndarray = np.where(t > 0, 2 * stats.norm.sf(stats.norm.isf(alpha / 2) / np.sqrt(t)), 0.0)
        return spent
    if spending == "pocock":
        return np.asarray(alpha * np.log1p((math.e - 1) * t), float)
    raise InvalidInputError(f"spending: expected one of {', '.join(SPENDING)}, got {spending!r}")


def _simpson_weights(points: int, width: float) -> np.ndarray:
    weights = np.ones(points)
    weights[1:-1:2] = 4
    weights[2:-1:2] = 2
    return weights * width / (3 * (points - 1))


def boundaries(fractions: Sequence[float] | np.ndarray, alpha: float, spending: Spending) -> np.ndarray:
    """Two-sided z boundaries b_k at increasing information fractions (inf where nothing is spent)."""
    t = np.asarray(fractions, float)
    if t.size == 0:
        return t
    if np.any(t <= 0) or np.any(np.diff(t) <= 0):
        raise InvalidInputError(f"fractions: must be positive and strictly increasing, got {t.tolist()}")
    spent = alpha_spent(t, alpha, spending)
    increments = np.diff(spent, prepend=0.0)
    result = np.empty(t.size)
    # the first look: the test statistic is standard normal on a grid up to its boundary
    result[0] = stats.norm.isf(increments[0] / 2) if increments[0] > NEGLIGIBLE else math.inf
    bound = min(result[0], Z_RANGE)
    grid: np.ndarray = np.linspace(-bound, bound, GRID_POINTS)
    weights = _simpson_weights(GRID_POINTS, 2 * bound)
    density: np.ndarray = np.exp(-0.5 * grid**2) / SQRT_2PI
    previous = float(t[0])
    for k in range(1, t.size):
        fraction, increment = float(t[k]), float(increments[k])
        rho = math.sqrt(previous / fraction)
        scale = math.sqrt(1 - previous / fraction)
        mass = weights * density
        centre = grid * rho

        def crossing(b: float, mass: np.ndarray = mass, centre: np.ndarray = centre, scale: float = scale) -> float:
            return float(mass @ (special.ndtr((centre - b) / scale) + special.ndtr((-b - centre) / scale)))

        if increment <= NEGLIGIBLE or crossing(Z_RANGE * 2) >= increment:
            result[k] = math.inf
        else:
            result[k] = optimize.brentq(lambda b, spend=increment: crossing(b) - spend, 0.0, Z_RANGE * 2, xtol=1e-10)
        bound = min(result[k], Z_RANGE)
        new_grid = np.linspace(-bound, bound, GRID_POINTS)
        density = np.exp(-0.5 * ((new_grid[:, None] - centre[None, :]) / scale) ** 2) @ mass / (scale * SQRT_2PI)
        grid, weights = new_grid, _simpson_weights(GRID_POINTS, 2 * bound)
        previous = fraction
    return result


def crossed(z: ArrayLike, bounds: ArrayLike) -> np.ndarray:
    """Looks at which |z| reached its boundary (either side)."""
    return np.asarray(np.abs(np.asarray(z, float)) >= np.asarray(bounds, float))


def repeated_p_value(
    z: Sequence[float] | np.ndarray, fractions: Sequence[float] | np.ndarray, spending: Spending
) -> float:
    """Smallest alpha whose boundaries the looks so far have crossed (1 if none below 1)."""
    z = np.asarray(z, float)

    def rejects(level: float) -> bool:
        return bool(crossed(z, boundaries(fractions, level, spending)).any())

    if not rejects(0.999999):
        return 1.0
    low, high = -30.0, math.log(0.999999)
    for _ in range(26):  # log-p to ~5e-7
        middle = (low + high) / 2
        if rejects(math.exp(middle)):
            high = middle
        else:
            low = middle
    return math.exp(high)
