"""XGBoost and LightGBM trained data-parallel on a Ray cluster: ``train --engine ray``'s boosters.

Each of ``workers`` Ray tasks (one CPU each, held together by a placement group so none waits for
another's CPU) gets a contiguous part of the rows and joins XGBoost's own collective (a
``RabitTracker`` on the driver, ``xgboost.collective.CommunicatorContext`` in the tasks): the
histogram sketch, the split search and the validation log loss early stopping watches are
all-reduced across them, so they grow one model as if over all rows. This is the mechanism Ray
Train's ``XGBoostTrainer`` sets up; it is used directly because Ray Train hands a model back only
through a checkpoint in storage every node shares, while rank 0 here returns the (small) model.

LightGBM's own data-parallel learner (``tree_learner=data``) runs the same way in Ray actors: each
reports a free port, then all train with the list as LightGBM's ``machines`` (what Ray Train's
``LightGBMConfig`` sets up). Every LightGBM worker holds the whole validation part, so all of them
see the same log loss and early stopping stops them at the same round.

A worker lost mid-training (its process killed, its node gone) fails the run at once: the ranks
are never retried (``max_retries=0``, ``max_restarts=0``: a new rank cannot join a collective the
others are halfway through), and ``_gather`` waits for whichever rank ends first, so the first
failure (a lost rank's own, when one was lost) is the run's ``ClusterError`` and the survivors,
which would otherwise wait in the collective, are stopped.

The model comes back as the classifier the single-node algorithm returns, so the margins,
the ONNX export, the native file and the rounds kept are the single-node code's. Not done on Ray:
the search's pruning (the reporter runs on the driver; every trial runs to early stopping). With
``--parallel-trials N`` N search trials fit at once, each on its share of the CPUs (``trial_workers``).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from leadscore.errors import ClusterError
from leadscore.trainer.algorithms import lgbm, xgb
from leadscore.trainer.algorithms.base import EARLY_STOPPING_ROUNDS, MAX_ROUNDS, Reporter, TrainData, soft_rows
from leadscore.trainer.distributed import cluster

PLACEMENT_TIMEOUT_S = 120.0
TRACKER_JOIN_S = 10.0
LOST_GRACE_S = 10.0
"""After a rank fails, how long to wait for a lost peer's error (the cause) before reporting the first."""


class _DataParallel:
    """``fit`` (early stopping on the validation part) and ``refit`` (all rows, fixed rounds) of a
    booster whose ``_train`` grows one model on Ray workers: a search trial's fit on
    ``trial_workers`` (``workers`` shared by the ``concurrent_trials`` in flight), a refit, which
    runs alone, on all ``workers``."""

    def __init__(self, workers: int, concurrent_trials: int = 1) -> None:
        self.workers, self.concurrent_trials = workers, concurrent_trials

    @property
    def trial_workers(self) -> int:
        return trial_workers(self.workers, self.concurrent_trials)

    def fit(self, data: TrainData, params: dict[str, Any], reporter: Reporter | None) -> Any:
        return self._train(data, params, MAX_ROUNDS, data.learning_rows(), (data.x_valid, data.y_valid),
                           self.trial_workers)

    def refit(self, data: TrainData, x: np.ndarray, y: np.ndarray, params: dict[str, Any],
              rounds: int | None, soft: np.ndarray | None = None) -> Any:
        return self._train(data, params, rounds or MAX_ROUNDS, soft_rows(x, y, soft), None, self.workers)

    def _train(self, data: TrainData, params: dict[str, Any], rounds: int,
               rows: tuple[np.ndarray, np.ndarray, np.ndarray | None],
               valid: tuple[np.ndarray, np.ndarray] | None, workers: int) -> Any:
        raise NotImplementedError


def trial_workers(workers: int, concurrent_trials: int) -> int:
    """Workers of each of ``concurrent_trials`` search trials fitting at once on ``workers`` CPUs:
    an equal share, at least one (their placement groups then fit on the cluster together)."""
    return max(1, workers // concurrent_trials)


class RayXGBoost(_DataParallel, xgb.XGBoostAlgorithm):
    """``xgboost`` with ``fit`` and ``refit`` on ``workers`` Ray tasks (needs a joined Ray)."""

    def _train(self, data: TrainData, params: dict[str, Any], rounds: int,
               rows: tuple[np.ndarray, np.ndarray, np.ndarray | None],
               valid: tuple[np.ndarray, np.ndarray] | None, workers: int) -> Any:
        import ray
        import xgboost
        from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

        native = native_params(xgb._classifier(data, params, rounds).get_xgb_params())
        workers = max(1, min(workers, len(rows[1]) // 2))
        with _cpus(workers) as group:
            tracker = xgboost.tracker.RabitTracker(n_workers=workers, host_ip=ray.util.get_node_ip_address(),
                                                   sortby="task")
            tracker.start()
            waiting = threading.Thread(target=tracker.wait_for, daemon=True)
            waiting.start()
            task = ray.remote(_train_part).options(num_cpus=1, max_retries=0, scheduling_strategy=
                                                   PlacementGroupSchedulingStrategy(placement_group=group))
            parts = [ray.put(part) for part in _parts(rows, workers)]
            valid_parts: list[Any] = [ray.put(part) for part in _parts((*valid, None), workers)] if valid \
                else [None] * workers
            early = EARLY_STOPPING_ROUNDS if valid else None
            ranks = [task.remote(rank, tracker.worker_args(), native, rounds, early, parts[rank], valid_parts[rank])
                     for rank in range(workers)]
            models = _gather(ranks, "an XGBoost worker (Ray task _train_part)",
                             lambda: [ray.cancel(r, force=True) for r in ranks])
            waiting.join(TRACKER_JOIN_S)
        model = xgboost.XGBClassifier()
        model.load_model(bytearray(models[0]))
        return model


class RayLightGBM(_DataParallel, lgbm.LightGBMAlgorithm):
    """``lightgbm`` with ``fit`` and ``refit`` on ``workers`` Ray actors (needs a joined Ray)."""

    def _train(self, data: TrainData, params: dict[str, Any], rounds: int,
               rows: tuple[np.ndarray, np.ndarray, np.ndarray | None],
               valid: tuple[np.ndarray, np.ndarray] | None, workers: int) -> Any:
        import ray
        from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

        native = lightgbm_params(lgbm._classifier(data, params, rounds).get_params())
        workers = max(1, min(workers, len(rows[1]) // 2))
        with _cpus(workers) as group:
            placed = PlacementGroupSchedulingStrategy(placement_group=group)
            actor: Any = ray.remote(_LightGBMWorker).options(num_cpus=1, max_restarts=0, max_task_retries=0,
                                                             scheduling_strategy=placed)
            actors: list[Any] = [actor.remote() for _ in range(workers)]
            what = "a LightGBM worker (Ray actor _LightGBMWorker)"

            def stop() -> None:
                for a in actors:
                    ray.kill(a, no_restart=True)

            addresses = _gather([a.address.remote() for a in actors], what, stop)
            network = {"tree_learner": "data", "num_machines": workers, "pre_partition": True, "time_out": 5,
                       "machines": ",".join(f"{ip}:{port}" for ip, port in addresses)}
            shared_valid = ray.put(valid) if valid is not None else None
            results = _gather([a.train.remote({**native, **network, "local_listen_port": addresses[rank][1]},
                                              rounds, ray.put(part), shared_valid)
                               for rank, (a, part) in enumerate(zip(actors, _parts(rows, workers), strict=True))],
                              what, stop)
            stop()
        text, best = results[0]
        return classifier_from(lgbm._classifier(data, params, rounds), text, best, int(rows[0].shape[1]))


class _LightGBMWorker:
    """One LightGBM machine: a free port first, then its part of the rows."""

    def address(self) -> tuple[str, int]:
        import socket

        import ray

        with socket.socket() as probe:
            probe.bind(("", 0))
            return ray.util.get_node_ip_address(), int(probe.getsockname()[1])

    def train(self, params: dict[str, Any], rounds: int, part: tuple[np.ndarray, np.ndarray, np.ndarray | None],
              valid: tuple[np.ndarray, np.ndarray] | None) -> tuple[str, int]:
        import lightgbm

        x, y, weight = part
        train = lightgbm.Dataset(x, label=y, weight=weight, params={"verbose": -1})
        sets = [lightgbm.Dataset(valid[0], label=valid[1], reference=train)] if valid is not None else []
        callbacks: list[Any] = [lightgbm.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False)] if valid else []
        booster = lightgbm.train(params, train, num_boost_round=rounds, valid_sets=sets, callbacks=callbacks)
        return booster.model_to_string(), int(booster.best_iteration or 0)


def classifier_from(model: Any, text: str, best: int, n_features: int) -> Any:
    """An unfitted ``LGBMClassifier`` (the single-node algorithm's, same parameters) holding the booster
    trained on Ray, as its ``fit`` would have left it (a binary 0/1 target): what ``margin``,
    ``to_onnx``, ``save_native`` and ``iterations`` read."""
    import lightgbm
    from sklearn.preprocessing import LabelEncoder

    booster = lightgbm.Booster(model_str=text)
    booster.best_iteration = best
    model._Booster, model.fitted_, model._objective = booster, True, "binary"
    model._n_features = model._n_features_in = n_features
    model._classes, model._n_classes, model._class_map = np.array([0, 1]), 2, {0: 0, 1: 1}
    model._le = LabelEncoder().fit([0, 1])
    model._best_iteration, model._best_score, model._evals_result = best, {}, {}
    return model


def _gather(ranks: list[Any], what: str, stop: Callable[[], object]) -> list[Any]:
    """Every rank's result, in rank order; or, as soon as one rank fails, ``stop()`` (the others would
    wait in the collective for it) and that failure raised: a lost rank's as a ``ClusterError`` naming
    ``what`` and the rank (up to ``LOST_GRACE_S`` is left for one: a peer's socket error often comes first)."""
    import ray

    pending = list(ranks)
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        failure = _failure(done[0])
        if failure is None:
            continue
        failed, deadline = done[0], time.monotonic() + LOST_GRACE_S
        while not _lost(failure) and pending and (left := deadline - time.monotonic()) > 0:
            done, pending = ray.wait(pending, num_returns=1, timeout=left)
            lost = _failure(done[0]) if done else None
            if lost is not None and _lost(lost):
                failed, failure = done[0], lost
        stop()
        if _lost(failure):
            raise cluster.lost_worker(failure, f"{what}, rank {ranks.index(failed)} of {len(ranks)},") from failure
        raise failure
    return ray.get(ranks)


def _failure(ref: Any) -> Exception | None:
    """The error of a finished rank; None when it returned."""
    import ray

    try:
        ray.get(ref, timeout=0)
    except Exception as exc:
        return exc
    return None


def _lost(exc: Exception) -> bool:
    return isinstance(cluster.as_leadscore_error(exc), ClusterError)


@contextmanager
def _cpus(workers: int) -> Iterator[Any]:
    """A placement group of ``workers`` one-CPU bundles: every worker of a collective runs at once
    (none waits for another's CPU), or a ``ClusterError`` after ``PLACEMENT_TIMEOUT_S``."""
    from ray.util.placement_group import placement_group, remove_placement_group

    group = placement_group([{"CPU": 1}] * workers, strategy="PACK")
    try:
        if not group.wait(PLACEMENT_TIMEOUT_S):
            raise ClusterError(f"the Ray cluster did not give {workers} CPUs for the boosting workers within "
                               f"{PLACEMENT_TIMEOUT_S:g} s; free CPUs or run fewer workers")
        yield group
    finally:
        remove_placement_group(group)


def lightgbm_params(sklearn: dict[str, Any]) -> dict[str, Any]:
    """The ``LGBMClassifier``'s parameters as ``lightgbm.train`` takes them (its aliases), one thread
    per worker, a binary objective watched by log loss."""
    native = {k: v for k, v in sklearn.items()
              if v is not None and k not in ("n_estimators", "class_weight", "importance_type", "n_jobs",
                                             "random_state", "objective")}
    return {**native, "objective": "binary", "seed": sklearn.get("random_state") or 0, "num_threads": 1,
            "metric": "binary_logloss"}


def native_params(sklearn: dict[str, Any]) -> dict[str, Any]:
    """The classifier's parameters as ``xgboost.train`` takes them, one thread per worker (its CPU),
    on the CPU (the cluster's workers)."""
    native = {k: v for k, v in sklearn.items() if v is not None and k not in ("n_jobs", "random_state", "device")}
    return {**native, "seed": sklearn.get("random_state") or 0, "nthread": 1, "device": "cpu",
            "eval_metric": "logloss"}


def _parts(rows: tuple[np.ndarray, np.ndarray, np.ndarray | None], workers: int
           ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray | None]]:
    """The rows in ``workers`` contiguous parts (every worker gets rows of both classes in practice:
    the split's training rows are not sorted by label)."""
    x, y, weight = rows
    bounds = np.linspace(0, len(y), workers + 1).astype(int)
    return [(x[a:b], y[a:b], None if weight is None else weight[a:b]) for a, b in itertools.pairwise(bounds)]


def _train_part(rank: int, tracker: dict[str, Any], params: dict[str, Any], rounds: int, early: int | None,
                part: tuple[np.ndarray, np.ndarray, np.ndarray | None],
                valid: tuple[np.ndarray, np.ndarray, None] | None) -> bytes:
    """One worker's share: join the collective, boost over its rows, return the model (rank 0's;
    every rank holds the same model)."""
    import xgboost

    x, y, weight = part
    with xgboost.collective.CommunicatorContext(**tracker, dmlc_task_id=f"{rank:08}"):
        train = xgboost.DMatrix(x, label=y, weight=weight)
        evals = [(xgboost.DMatrix(valid[0], label=valid[1]), "validation_0")] if valid is not None else []
        booster = xgboost.train(params, train, num_boost_round=rounds, evals=evals, early_stopping_rounds=early,
                            verbose_eval=False)
    return bytes(booster.save_raw("json")) if rank == 0 else b""
