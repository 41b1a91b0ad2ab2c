"""What every algorithm offers the search, the ensemble, the ONNX export and the artifact.

Algorithms see only the float32 ``LeadFeatures`` matrix (NaN = missing). Native
categorical handling is deliberately never used: CatBoost's and onnxmltools' exporters refuse
it, and LightGBM's categorical splits lost ONNX parity.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:  # onnx is imported only where a model is converted
    import onnx

Device = Literal["cpu", "cuda"]
Reporter = Callable[[int, float], bool]
"""Called with (iteration, validation log loss); returning True stops training (pruned)."""

MAX_ROUNDS = 2000
EARLY_STOPPING_ROUNDS = 50
REPORT_EVERY = 10
ONNX_OPSET = 15  # the highest onnxmltools' tree converters accept


@dataclass(frozen=True)
class TrainData:
    """The split matrices and run-wide settings an algorithm needs."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_valid: np.ndarray
    y_valid: np.ndarray
    seed: int
    device: Device = "cpu"
    threads: int = 0  # 0 = the library's default (all cores)
    t_train: np.ndarray | None = None
    """Graded targets in [0, 1] of the training rows (``leadscore.data.targets``): learned from
    instead of ``y_train`` when given. Validation, early stopping and calibration keep ``y``."""
    t_valid: np.ndarray | None = None

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])

    def learning_rows(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """The training part as the learner sees it (``soft_rows``)."""
        return soft_rows(self.x_train, self.y_train, self.t_train)


def soft_rows(x: np.ndarray, y: np.ndarray, soft: np.ndarray | None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(x, y, sample_weight)`` that make a binary learner minimise cross-entropy on ``soft``.

    Each row appears as a positive with weight s and as a negative with weight 1 - s (a copy of
    weight 0 is left out), so the weighted log loss is exactly sum -(s log p + (1 - s) log(1 - p)).
    Without ``soft``: the rows as they are, unweighted.
    """
    if soft is None:
        return x, y, None
    positive, negative = soft > 0, soft < 1
    return (np.concatenate([x[positive], x[negative]]),
            np.concatenate([np.ones(int(positive.sum()), dtype=y.dtype), np.zeros(int(negative.sum()), dtype=y.dtype)]),
            np.concatenate([soft[positive], 1.0 - soft[negative]]))


class Algorithm(ABC):
    """One learner: defaults, search space, fit with early stopping, predict, export, save."""

    name: str
    native_file: str
    """File name under ``boosters/`` for the native model (explanations)."""
    rounds_scale_with_rows: bool = True
    """Whether a refit on more rows runs proportionally more rounds (boosting: yes; epochs of a
    network, which already take more steps per epoch on more rows: no)."""
    concurrent_trials: int = 1
    """Search trials that may fit at once (``tuning.tune``'s concurrency): one, except for the Ray
    boosters of ``train --engine ray --parallel-trials``, whose fits are cluster work the driver
    waits on."""

    @abstractmethod
    def default_params(self) -> dict[str, Any]:
        """Sensible hyper-parameters; always the first trial, so one trial is already good."""

    def regularised_params(self) -> dict[str, Any] | None:
        """A strongly regularised configuration for small data, the search's second trial
        (None: the defaults are all there is to start from)."""
        return None

    @abstractmethod
    def search_space(self, trial: Any) -> dict[str, Any]:
        """Hyper-parameters suggested by an Optuna trial."""

    @abstractmethod
    def fit(self, data: TrainData, params: dict[str, Any], reporter: Reporter | None) -> Any:
        """The fitted native model (early-stopped on validation where the library can)."""

    @abstractmethod
    def refit(self, data: TrainData, x: np.ndarray, y: np.ndarray, params: dict[str, Any],
              rounds: int | None, soft: np.ndarray | None = None) -> Any:
        """The tuned configuration fitted on ``(x, y)`` (on graded targets ``soft`` when given,
        ``soft_rows``) for a fixed number of ``rounds`` (None for non-iterative models), without
        early stopping: no row is held back to watch."""

    @abstractmethod
    def margin(self, model: Any, x: np.ndarray) -> np.ndarray:
        """Raw log-odds of the positive class, float64 [N] (probability = sigmoid(margin)).

        Blending and calibration work on margins, not on probabilities: a float32 probability
        near 0 or 1 has lost the digits its logit needs, margins have not.
        """

    @abstractmethod
    def to_onnx(self, model: Any, n_features: int) -> onnx.ModelProto:
        """ONNX model: input ``features`` float32 [N, F] -> output ``margin`` [N, 1]."""

    @abstractmethod
    def save_native(self, model: Any, path: Path) -> None:
        """Write the native model to ``path`` (the library's own format)."""

    def iterations(self, model: Any) -> int | None:
        """Boosting rounds kept after early stopping (None for non-iterative models)."""
        return None


def stop_every(reporter: Reporter | None, iteration: int, value: float) -> bool:
    """Ask the reporter every ``REPORT_EVERY`` rounds (Optuna's pruner is not free)."""
    return reporter is not None and iteration % REPORT_EVERY == 0 and reporter(iteration, value)
