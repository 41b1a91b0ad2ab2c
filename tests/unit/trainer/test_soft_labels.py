"""Every algorithm learns from graded targets through ``soft_rows``, in the search's fit and in the
refit: a column that tells only the graded target (not the binary outcome) is learned from."""

from __future__ import annotations

import numpy as np
import pytest

from leadscore.trainer.algorithms import ALGORITHMS, TrainData


def _data(soft: bool) -> TrainData:
    """Column 0 drives conversion; column 1 only says which non-converted leads got warm feedback."""
    rng = np.random.default_rng(5)
    rows = 800
    x = rng.normal(size=(rows, 2)).astype(np.float32)
    y = (x[:, 0] + rng.normal(scale=1.0, size=rows) > 1.2).astype(np.int64)
    t = np.where(y == 1, 1.0, np.where(x[:, 1] > 0, 0.7, 0.0))
    return TrainData(x[:600], y[:600], x[600:], y[600:], seed=1, threads=1,
                     t_train=t[:600] if soft else None, t_valid=t[600:] if soft else None)


def _follows_column_1(margin: np.ndarray, x: np.ndarray) -> float:
    return float(np.corrcoef(margin, x[:, 1])[0, 1])


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
def test_a_signal_only_the_graded_targets_carry_is_learned_in_fit_and_refit(name: str) -> None:
    algorithm = ALGORITHMS[name]
    params = algorithm.default_params()
    binary, soft = _data(False), _data(True)
    x = binary.x_valid
    fitted = {kind: algorithm.margin(algorithm.fit(data, params, None), x)
              for kind, data in (("binary", binary), ("soft", soft))}
    assert _follows_column_1(fitted["soft"], x) > _follows_column_1(fitted["binary"], x) + 0.3
    refitted = algorithm.refit(soft, soft.x_train, soft.y_train, params, 50, soft.t_train)
    plain = algorithm.refit(binary, binary.x_train, binary.y_train, params, 50)
    assert (_follows_column_1(algorithm.margin(refitted, x), x)
            > _follows_column_1(algorithm.margin(plain, x), x) + 0.3)
    assert np.isfinite(fitted["soft"]).all()
