import time
from typing import Any

import numpy as np
import pytest

from leadscore.errors import ClusterError, ConfigError
from leadscore.trainer.algorithms import ALGORITHMS, TrainData, resolve
from leadscore.trainer.algorithms.base import Reporter
from leadscore.trainer.algorithms.logreg import LogisticBaseline
from leadscore.trainer.tuning import tune


@pytest.fixture(scope="module")
def data() -> TrainData:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(800, 5)).astype(np.float32)
    y = (rng.random(800) < 1 / (1 + np.exp(-2 * x[:, 0]))).astype(int)
    return TrainData(x[:600], y[:600], x[600:], y[600:], seed=4, threads=1)


def test_tune_runs_the_defaults_first_and_counts_trials(data: TrainData) -> None:
    result = tune(ALGORITHMS["lightgbm"], data, trials=3, timeout=None)
    assert result.trials == 3
    assert result.valid_margin.shape == (200,)
    assert result.valid_log_loss < 0.6


def test_tune_is_reproducible_for_a_seed(data: TrainData) -> None:
    first = tune(ALGORITHMS["lr"], data, trials=4, timeout=None)
    second = tune(ALGORITHMS["lr"], data, trials=4, timeout=None)
    assert first.params == second.params
    assert first.valid_log_loss == pytest.approx(second.valid_log_loss)


def test_tune_still_finishes_the_default_trial_when_the_budget_is_spent(data: TrainData) -> None:
    result = tune(ALGORITHMS["xgboost"], data, trials=50, timeout=1e-6)
    assert result.trials == 1
    assert result.params == ALGORITHMS["xgboost"].default_params()


def test_tune_with_zero_trials_keeps_the_default_hyper_parameters(data: TrainData) -> None:
    """``trials: 0`` in the CR means "keep the defaults": one trial, the default one."""
    result = tune(ALGORITHMS["lr"], data, trials=0, timeout=None)
    assert result.trials == 1
    assert result.params == ALGORITHMS["lr"].default_params()


def test_resolve_puts_the_baseline_first_even_when_not_asked_for() -> None:
    assert [a.name for a in resolve(["catboost", "xgboost"])] == ["lr", "catboost", "xgboost"]


def test_resolve_refuses_an_unknown_algorithm_by_name() -> None:
    with pytest.raises(ConfigError, match="'svm'"):
        resolve(["lr", "svm"])


class _RecordingTrial:
    """Stands in for an Optuna trial: records the bounds each parameter was suggested within."""

    def __init__(self) -> None:
        self.bounds: dict[str, tuple[float, float]] = {}

    def suggest_float(self, name: str, low: float, high: float, log: bool = False) -> float:
        self.bounds[name] = (low, high)
        return low

    def suggest_int(self, name: str, low: int, high: int, log: bool = False) -> int:
        self.bounds[name] = (low, high)
        return low


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_every_search_space_tunes_exactly_the_parameters_the_crd_names(name: str) -> None:
    """``training.params`` is validated against ``HYPERPARAMETERS``: the search must agree with it."""
    from leadscore.api.hyperparameters import HYPERPARAMETERS

    algorithm = ALGORITHMS[name]
    assert set(algorithm.search_space(_RecordingTrial())) == set(HYPERPARAMETERS[name])
    assert set(algorithm.default_params()) == set(HYPERPARAMETERS[name])


def test_bounded_trial_pins_values_and_replaces_bounds() -> None:
    from leadscore.api.hyperparameters import ParamSetting
    from leadscore.trainer.tuning import BoundedTrial

    recording = _RecordingTrial()
    overrides = {"max_depth": ParamSetting(value=7), "n_estimators": ParamSetting(low=120),
                 "max_features": ParamSetting(high=0.4)}
    params = ALGORITHMS["randomforest"].search_space(BoundedTrial(recording, overrides))
    assert params["max_depth"] == 7 and "max_depth" not in recording.bounds
    assert recording.bounds["n_estimators"] == (120, 300)
    assert recording.bounds["max_features"] == (0.1, 0.4)


def test_tune_keeps_pinned_values_and_stays_within_bounds(data: TrainData) -> None:
    from leadscore.api.hyperparameters import ParamSetting

    overrides = {"num_leaves": ParamSetting(value=4), "learning_rate": ParamSetting(low=0.1, high=0.2)}
    result = tune(ALGORITHMS["lightgbm"], data, trials=4, timeout=None, overrides=overrides)
    assert result.params["num_leaves"] == 4
    assert 0.1 <= result.params["learning_rate"] <= 0.2  # the defaults' 0.05 was clipped into the bounds
    assert result.trials == 4


# ``tune(concurrency=k)``, the search of ``train --engine ray --parallel-trials k``, on real algorithms
# without Ray: after the defaults, trials run k at a time through Optuna's ask/tell; the same seed and
# k give the same trials, a batch does not suggest one point twice, the trial count and the time
# budget bound it as they bound the sequential search, and every trial is reported in order.



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


class _Refusing(type(ALGORITHMS["lr"])):  # type: ignore[misc]
    """The baseline whose every fit raises ``error`` (a lost Ray worker, a bug)."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def fit(self, *args: object, **kwargs: object) -> object:
        raise self.error


@pytest.mark.parametrize(("error", "traceback_logged"), [(ClusterError("the Ray cluster lost a worker"), False),
                                                         (RuntimeError("a bug"), True)])
def test_a_refusal_in_a_trial_is_not_logged_with_a_traceback_but_a_bug_is(
        data: TrainData, error: Exception, traceback_logged: bool) -> None:
    import logging

    from leadscore.trainer.tuning import OPTUNA_TRIAL_LOGGER

    seen: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = seen.append  # type: ignore[method-assign]
    trial_log = logging.getLogger(OPTUNA_TRIAL_LOGGER)
    trial_log.addHandler(handler)
    try:
        with pytest.raises(type(error)):
            tune(_Refusing(error), data, trials=1, timeout=None)
    finally:
        trial_log.removeHandler(handler)
    assert any(r.exc_info for r in seen) is traceback_logged, [r.getMessage() for r in seen]
    assert seen  # Optuna's own warning (the trial failed) still comes
