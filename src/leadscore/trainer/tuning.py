"""Optuna search per algorithm: seeded TPE, median pruning on the learning curve, bounded
by a trial count and a time budget.

The first trial is always the algorithm's defaults, so even ``--trials 0`` or ``1`` gives a sound
model; the second, where the algorithm has one, a strongly regularised configuration (what a few
thousand rows usually need, and TPE's random start rarely hits). The best fitted model is kept
from its trial (its validation margins are the selection rows when validation holds enough
positives; ``refit`` then fits its configuration on all non-test rows).
The objective is validation log loss after Platt scaling on those rows: every shipped model is
calibrated, so a trial is judged as it would ship, and a class-weighted trial
(``scale_pos_weight``), whose raw probabilities are shifted on purpose, competes on its ranking
and sharpness instead of losing on its offset. The pruner watches the raw learning curve early
stopping watches (so it can still stop a heavily weighted trial early: a known bias).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from leadscore.api.hyperparameters import ParamSetting
from leadscore.errors import LeadscoreError
from leadscore.trainer.algorithms.base import Algorithm, Reporter, TrainData
from leadscore.trainer.calibration import SigmoidCalibrator
from leadscore.trainer.metrics import logloss

OPTUNA_TRIAL_LOGGER = "optuna.study._optimize"
"""The logger Optuna warns on, with the traceback, when a trial raises."""
PRUNER_STARTUP_TRIALS = 3
PRUNER_WARMUP_STEPS = 30


@dataclass
class Tuned:
    """The best trial of one algorithm's search."""

    algorithm: Algorithm
    model: Any
    params: dict[str, Any]
    valid_log_loss: float
    valid_margin: np.ndarray
    trials: int
    pruned: int
    seconds: float


TrialCallback = Callable[[Any, Any], None]


class BoundedTrial:
    """An Optuna trial as an algorithm's ``search_space`` sees it, with the CR's ``training.params``
    applied: a pinned parameter returns its value (and is not searched), a bounded one is
    suggested within the given bounds instead of the algorithm's."""

    def __init__(self, trial: Any, overrides: Mapping[str, ParamSetting]) -> None:
        self._trial, self._overrides = trial, overrides

    def _bounds(self, name: str, low: float, high: float) -> tuple[float, float]:
        setting = self._overrides[name]
        low = setting.low if setting.low is not None else low
        high = setting.high if setting.high is not None else high
        return low, max(low, high)

    def suggest_float(self, name: str, low: float, high: float, log: bool = False) -> float:
        setting = self._overrides.get(name)
        if setting is not None and setting.value is not None:
            return float(setting.value)
        if setting is not None:
            low, high = self._bounds(name, low, high)
        return float(self._trial.suggest_float(name, low, high, log=log))

    def suggest_int(self, name: str, low: int, high: int, log: bool = False) -> int:
        setting = self._overrides.get(name)
        if setting is not None and setting.value is not None:
            return int(setting.value)
        if setting is not None:
            bounded = self._bounds(name, low, high)
            low, high = int(bounded[0]), int(bounded[1])
        return int(self._trial.suggest_int(name, low, high, log=log))


def start_points(params: dict[str, Any], overrides: Mapping[str, ParamSetting]) -> dict[str, Any]:
    """A starting configuration (defaults, regularised) with pinned values applied and the rest
    clipped into the overridden bounds; pinned parameters are left out (they are not searched)."""
    out = {}
    for name, value in params.items():
        setting = overrides.get(name)
        if setting is None:
            out[name] = value
        elif setting.value is None:
            low = setting.low if setting.low is not None else value
            high = setting.high if setting.high is not None else value
            clipped = min(max(value, low), high)
            out[name] = type(value)(clipped) if isinstance(value, int) else float(clipped)
    return out


class _NoRefusalTraceback(logging.Filter):
    """Optuna logs a failed trial's exception with its traceback; a leadscore refusal (a lost Ray
    worker, ...) ends the run as the CLI's one-line error, so it is not also logged as a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], LeadscoreError))


def tune(algorithm: Algorithm, data: TrainData, trials: int, timeout: float | None,
         callbacks: list[TrialCallback] | None = None,
         overrides: Mapping[str, ParamSetting] | None = None, concurrency: int = 1) -> Tuned:
    """Run the search; ``callbacks`` are Optuna study callbacks (progress, MLflow); ``overrides``
    the CR's ``training.params`` for this algorithm (pinned values, search bounds); ``concurrency``
    how many trials run at once after the defaults (``_run_batches``)."""
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1 (got {concurrency})")
    overrides = overrides or {}
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    trial_log = logging.getLogger(OPTUNA_TRIAL_LOGGER)
    if not any(isinstance(f, _NoRefusalTraceback) for f in trial_log.filters):
        trial_log.addFilter(_NoRefusalTraceback())
    study = optuna.create_study(
        direction="minimize",
        # constant_liar: a trial asked while others run treats them as poor results, so one batch
        # does not suggest the same point several times (Optuna's advice for parallel TPE)
        sampler=optuna.samplers.TPESampler(seed=data.seed, constant_liar=True) if concurrency > 1
        else optuna.samplers.TPESampler(seed=data.seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=PRUNER_STARTUP_TRIALS,
                                           n_warmup_steps=PRUNER_WARMUP_STEPS),
        study_name=algorithm.name,
    )
    study.enqueue_trial(start_points(algorithm.default_params(), overrides))
    regularised = algorithm.regularised_params()
    if regularised is not None:
        study.enqueue_trial(start_points(regularised, overrides))
    best: dict[str, Any] = {}
    started = time.monotonic()

    def keep(fitted: _Fitted) -> None:
        if not best or fitted.value < best["value"]:
            best.update(value=fitted.value, model=fitted.model, params=fitted.params, margin=fitted.margin)

    def objective(trial: optuna.Trial) -> float:
        params = algorithm.search_space(BoundedTrial(trial, overrides))

        def report(step: int, value: float) -> bool:
            trial.report(value, step)
            return trial.should_prune()

        fitted = _fit(algorithm, data, params, report)
        if trial.should_prune():
            raise optuna.TrialPruned()
        keep(fitted)
        return fitted.value

    # The defaults run whatever the budget says (Optuna checks the timeout before a trial).
    study.optimize(objective, n_trials=1, callbacks=callbacks or [])
    left = None if timeout is None else timeout - (time.monotonic() - started)
    if trials > 1 and (left is None or left > 0):
        if concurrency == 1:
            study.optimize(objective, n_trials=trials - 1, timeout=left, callbacks=callbacks or [])
        else:
            deadline = None if left is None else time.monotonic() + left
            _run_batches(study, algorithm, data, overrides, trials - 1, concurrency, deadline, keep,
                         callbacks or [])
    # An enqueued trial the budget never reached waits in the study: not a trial that ran.
    states = [t.state for t in study.trials if t.state != optuna.trial.TrialState.WAITING]
    return Tuned(
        algorithm=algorithm, model=best["model"], params=best["params"], valid_log_loss=best["value"],
        valid_margin=best["margin"], trials=len(states),
        pruned=sum(s == optuna.trial.TrialState.PRUNED for s in states),
        seconds=time.monotonic() - started,
    )


@dataclass
class _Fitted:
    """One trial's fitted model, judged: its calibrated validation log loss."""

    model: Any
    params: dict[str, Any]
    margin: np.ndarray
    value: float


def _fit(algorithm: Algorithm, data: TrainData, params: dict[str, Any], reporter: Reporter | None) -> _Fitted:
    """Fit one configuration and judge it as it would ship (Platt-scaled validation log loss)."""
    model = algorithm.fit(data, params, reporter)
    margin = algorithm.margin(model, data.x_valid)
    value = logloss(data.y_valid, SigmoidCalibrator().fit(margin, data.y_valid).predict(margin))
    return _Fitted(model=model, params=params, margin=margin, value=value)


def _run_batches(study: Any, algorithm: Algorithm, data: TrainData, overrides: Mapping[str, ParamSetting],
                 trials: int, concurrency: int, deadline: float | None, keep: Callable[[_Fitted], None],
                 callbacks: list[TrialCallback]) -> None:
    """``trials`` trials, ``concurrency`` at a time (Optuna's ask/tell), until ``deadline`` (checked
    before each batch, as ``study.optimize`` checks its timeout before each trial).

    Everything that decides a trial's outcome happens on this thread in ask order: each trial's
    parameters are suggested right after it is asked (so the constant liar sees the batch's earlier
    trials), its result told, kept and reported to the callbacks in that order. Only the fits run
    on threads: a Ray booster's fit submits its work to the cluster and its thread waits on it. The
    trials do not report their learning curves (pruning would then hang on the threads' timing:
    the same seed would no longer give the same trials), so none is pruned.
    """
    from concurrent.futures import ThreadPoolExecutor

    import optuna

    done = 0
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=f"trial-{algorithm.name}") as pool:
        while done < trials and (deadline is None or time.monotonic() < deadline):
            batch = [study.ask() for _ in range(min(concurrency, trials - done))]
            suggested = [algorithm.search_space(BoundedTrial(trial, overrides)) for trial in batch]
            futures = [pool.submit(_fit, algorithm, data, params, None) for params in suggested]
            failure: BaseException | None = None
            for trial, future in zip(batch, futures, strict=True):
                try:
                    fitted = future.result()
                except Exception as exc:
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
                    failure = failure or exc
                    continue
                frozen = study.tell(trial, fitted.value)
                if frozen.state == optuna.trial.TrialState.COMPLETE:
                    keep(fitted)
                for callback in callbacks:
                    callback(study, frozen)
            if failure is not None:
                raise failure
            done += len(batch)
