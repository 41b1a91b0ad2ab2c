"""XGBoost trained data-parallel on a Ray cluster: ``train --engine ray``'s booster.

Each of ``workers`` Ray tasks (one CPU each, held together by a placement group so none waits for
another's CPU) gets a contiguous part of the rows and joins XGBoost's own collective (a
``RabitTracker`` on the driver, ``xgboost.collective.CommunicatorContext`` in the tasks): the
histogram sketch, the split search and the validation log loss early stopping watches are
all-reduced across them, so they grow one model as if over all rows. This is the mechanism Ray
Train's ``XGBoostTrainer`` sets up; it is used directly because Ray Train hands a model back only
through a checkpoint in storage every node shares, while rank 0 here returns the (small) model.

The model comes back as the ``XGBClassifier`` the single-node algorithm returns, so the margins,
the ONNX export, the native file and the rounds kept are the single-node code's. Not done on Ray:
the search's pruning (the reporter runs on the driver; every trial runs to early stopping).
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

import numpy as np

from leadscore.errors import ClusterError
from leadscore.trainer.algorithms.base import EARLY_STOPPING_ROUNDS, MAX_ROUNDS, Reporter, TrainData, soft_rows
from leadscore.trainer.algorithms.xgb import XGBoostAlgorithm, _classifier

PLACEMENT_TIMEOUT_S = 120.0
TRACKER_JOIN_S = 10.0


class RayXGBoost(XGBoostAlgorithm):
    """``xgboost`` with ``fit`` and ``refit`` on ``workers`` Ray tasks (needs a joined Ray)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers

    def fit(self, data: TrainData, params: dict[str, Any], reporter: Reporter | None) -> Any:
        x, y, weight = data.learning_rows()
        return self._train(data, params, MAX_ROUNDS, (x, y, weight), (data.x_valid, data.y_valid))

    def refit(self, data: TrainData, x: np.ndarray, y: np.ndarray, params: dict[str, Any],
              rounds: int | None, soft: np.ndarray | None = None) -> Any:
        return self._train(data, params, rounds or MAX_ROUNDS, soft_rows(x, y, soft), None)

    def _train(self, data: TrainData, params: dict[str, Any], rounds: int,
               rows: tuple[np.ndarray, np.ndarray, np.ndarray | None],
               valid: tuple[np.ndarray, np.ndarray] | None) -> Any:
        import ray
        import xgboost as xgb
        from ray.util.placement_group import placement_group, remove_placement_group
        from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

        native = native_params(_classifier(data, params, rounds).get_xgb_params())
        workers = max(1, min(self.workers, len(rows[1]) // 2))
        group = placement_group([{"CPU": 1}] * workers, strategy="PACK")
        try:
            if not group.wait(PLACEMENT_TIMEOUT_S):
                raise ClusterError(f"the Ray cluster did not give {workers} CPUs for the XGBoost workers within "
                                   f"{PLACEMENT_TIMEOUT_S:g} s; free CPUs or run fewer workers")
            tracker = xgb.tracker.RabitTracker(n_workers=workers, host_ip=ray.util.get_node_ip_address(),
                                               sortby="task")
            tracker.start()
            waiting = threading.Thread(target=tracker.wait_for, daemon=True)
            waiting.start()
            task = ray.remote(_train_part).options(num_cpus=1, scheduling_strategy=PlacementGroupSchedulingStrategy(
                placement_group=group))
            parts = [ray.put(part) for part in _parts(rows, workers)]
            valid_parts: list[Any] = [ray.put(part) for part in _parts((*valid, None), workers)] if valid \
                else [None] * workers
            early = EARLY_STOPPING_ROUNDS if valid else None
            models = ray.get([task.remote(rank, tracker.worker_args(), native, rounds, early, parts[rank],
                                          valid_parts[rank]) for rank in range(workers)])
            waiting.join(TRACKER_JOIN_S)
        finally:
            remove_placement_group(group)
        model = xgb.XGBClassifier()
        model.load_model(bytearray(models[0]))
        return model


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
    import xgboost as xgb

    x, y, weight = part
    with xgb.collective.CommunicatorContext(**tracker, dmlc_task_id=f"{rank:08}"):
        train = xgb.DMatrix(x, label=y, weight=weight)
        evals = [(xgb.DMatrix(valid[0], label=valid[1]), "validation_0")] if valid is not None else []
        booster = xgb.train(params, train, num_boost_round=rounds, evals=evals, early_stopping_rounds=early,
                            verbose_eval=False)
    return bytes(booster.save_raw("json")) if rank == 0 else b""
