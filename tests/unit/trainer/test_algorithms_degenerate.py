"""Every algorithm survives constant and all-missing columns beside one informative column
(issue 19, item 12: the all-constant case is refused by ``leadscore.data.validate`` before
any algorithm sees it, because CatBoost crashes on it)."""

from __future__ import annotations

import numpy as np
import pytest

from leadscore.trainer.algorithms import ALGORITHMS, TrainData


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
def test_algorithm_fits_when_most_columns_are_constant_or_missing(name: str) -> None:
    rng = np.random.default_rng(3)
    rows = 300
    signal = rng.normal(size=rows)
    y = (signal + rng.normal(scale=0.5, size=rows) > 0).astype(np.int64)
    x = np.column_stack([signal, np.full(rows, 2.0), np.full(rows, np.nan), np.zeros(rows)]).astype(np.float32)
    data = TrainData(x[:200], y[:200], x[200:], y[200:], seed=1, threads=1)
    algorithm = ALGORITHMS[name]
    model = algorithm.fit(data, algorithm.default_params(), None)
    margin = np.asarray(algorithm.margin(model, data.x_valid))
    assert margin.shape == (100,) and np.isfinite(margin).all()
    assert np.corrcoef(margin, x[200:, 0])[0, 1] > 0.5  # it learned from the one informative column
