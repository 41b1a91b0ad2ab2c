"""``tune(concurrency=k)``, the search of ``train --engine ray --parallel-trials k``, on real algorithms
without Ray: after the defaults, trials run k at a time through Optuna's ask/tell; the same seed and k
give the same trials, a batch does not suggest one point twice, the trial count and the time budget
bound it as they bound the sequential search, and every trial is reported to the callbacks in order."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

from leadscore.trainer.algorithms import ALGORITHMS, TrainData
from leadscore.trainer.algorithms.base import Reporter
from leadscore.trainer.algorithms.logreg import LogisticBaseline
from leadscore.trainer.tuning import tune


@pytest.fixture(scope="module")
def data() -> TrainData:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(800, 5)).astype(np.float32)
    y = (rng.random(800) < 1 / (1 + np.exp(-2 * x[:, 0]))).astype(int)
    return TrainData(x[:600], y[:600], x[600:], y[600:], seed=4, threads=1)


def _recorded(algorithm: Any, data: TrainData, trials: int, concurrency: int,
              timeout: float | None = None) -> tuple[Any, list[tuple[int, dict[str, Any], str, float]]]:
    seen: list[tuple[int, dict[str, Any], str, float]] = []

    def record(study: Any, trial: Any) -> None:
        seen.append((trial.number, dict(trial.params), trial.state.name, trial.value))

    return tune(algorithm, data, trials, timeout, callbacks=[record], concurrency=concurrency), seen


def test_trials_after_the_defaults_run_in_batches_each_told_and_reported_in_order(data: TrainData) -> None:
    result, seen = _recorded(ALGORITHMS["lr"], data, trials=6, concurrency=2)
    assert result.trials == 6 and result.pruned == 0
    assert [number for number, *_ in seen] == list(range(6))  # defaults, then 3 batches of 2
    assert {state for _, _, state, _ in seen} == {"COMPLETE"}
    assert seen[0][1] == ALGORITHMS["lr"].default_params()
    for first, second in ((1, 2), (3, 4)):  # the constant liar: one batch, two different points
        assert seen[first][1] != seen[second][1]
    assert result.valid_log_loss == pytest.approx(min(value for *_, value in seen))  # the best is the one kept


def test_the_same_seed_and_concurrency_give_the_same_trials(data: TrainData) -> None:
    first, first_seen = _recorded(ALGORITHMS["lr"], data, trials=5, concurrency=3)
    second, second_seen = _recorded(ALGORITHMS["lr"], data, trials=5, concurrency=3)
    assert first_seen == second_seen  # the last batch is cut to the trials left: 1 + 3 + 1
    assert first.trials == 5 and first.params == second.params
    assert first.valid_log_loss == pytest.approx(second.valid_log_loss)


def test_a_booster_that_reports_its_curve_is_never_pruned_in_flight(data: TrainData) -> None:
    """Pruning on trials racing on threads would make the seed's trials depend on timing: none reports."""
    result = tune(ALGORITHMS["lightgbm"], data, trials=4, timeout=None, concurrency=2)
    assert (result.trials, result.pruned) == (4, 0)


class _SlowBaseline(LogisticBaseline):
    """The real baseline, each fit taking ``FIT_S`` longer: the time budget's arithmetic made visible."""

    FIT_S = 1.0

    def fit(self, data: TrainData, params: dict[str, Any], reporter: Reporter | None) -> Any:
        time.sleep(self.FIT_S)
        return super().fit(data, params, reporter)


def test_the_time_budget_is_checked_before_each_batch_and_a_batch_fits_at_once(data: TrainData) -> None:
    # the defaults (~1 s) leave budget, so one batch of two starts; it ends past the budget: no more
    result, seen = _recorded(_SlowBaseline(), data, trials=20, concurrency=2, timeout=1.5)
    assert result.trials == 3 and len(seen) == 3
    assert result.seconds < 3 * _SlowBaseline.FIT_S - 0.2  # the batch's two fits overlapped
    spent, _ = _recorded(_SlowBaseline(), data, trials=20, concurrency=2, timeout=1e-6)
    assert spent.trials == 1 and spent.params == ALGORITHMS["lr"].default_params()  # the defaults always run


def test_concurrency_below_one_is_refused(data: TrainData) -> None:
    with pytest.raises(ValueError, match="concurrency must be at least 1"):
        tune(ALGORITHMS["lr"], data, trials=2, timeout=None, concurrency=0)
