"""Sample-ratio mismatch: do the arms hold the share of leads the split promised?

A 50/50 experiment that shows 5,300 against 4,700 exposures is broken (a routing bug, a
crashing arm, a logger that drops one version's events), and every other number it produces is
biased in an unknown direction. The check is a chi-square goodness-of-fit test; it uses a much
smaller threshold than the experiment's alpha (0.001 by default) because it runs on every look
and a false alarm stops a healthy experiment.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

from leadscore.errors import InvalidInputError

DEFAULT_SRM_ALPHA = 0.001


def srm_p_value(exposures: Sequence[int], expected_shares: Sequence[float]) -> float:
    """p-value of the observed exposures under the configured traffic shares.

    ``expected_shares`` need not sum to one (percentages are fine); they are normalised. With no
    exposures at all there is nothing to contradict the split, so the p-value is 1.
    """
    observed = np.asarray(exposures, dtype=float)
    shares = np.asarray(expected_shares, dtype=float)
    if observed.shape != shares.shape or observed.ndim != 1 or observed.size < 2:
        raise InvalidInputError(
            f"exposures/expected_shares: need one share per arm and at least two arms, "
            f"got {len(exposures)} exposures and {len(expected_shares)} shares"
        )
    if (observed < 0).any():
        raise InvalidInputError(f"exposures: must not be negative, got {list(exposures)}")
    if (shares <= 0).any():
        raise InvalidInputError(f"expected_shares: every arm needs a positive share, got {list(expected_shares)}")
    total = observed.sum()
    if total == 0:
        return 1.0
    expected = total * shares / shares.sum()
    return float(stats.chisquare(observed, expected).pvalue)
