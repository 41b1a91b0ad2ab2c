"""The learners, by the names the CLI and the CR use."""

from __future__ import annotations

from leadscore.errors import ConfigError
from leadscore.trainer.algorithms.base import Algorithm, TrainData
from leadscore.trainer.algorithms.catb import CatBoostAlgorithm
from leadscore.trainer.algorithms.forest import RandomForestAlgorithm
from leadscore.trainer.algorithms.lgbm import LightGBMAlgorithm
from leadscore.trainer.algorithms.logreg import LogisticBaseline
from leadscore.trainer.algorithms.mlp import MLPAlgorithm
from leadscore.trainer.algorithms.xgb import XGBoostAlgorithm

BASELINE = "lr"
ALGORITHMS: dict[str, Algorithm] = {
    a.name: a for a in (LogisticBaseline(), XGBoostAlgorithm(), LightGBMAlgorithm(), CatBoostAlgorithm(),
                        RandomForestAlgorithm(), MLPAlgorithm())
}


def resolve(names: list[str]) -> list[Algorithm]:
    """The algorithms asked for, baseline first (it is always trained: it is the yardstick)."""
    unknown = [n for n in names if n not in ALGORITHMS]
    if unknown:
        raise ConfigError(f"--algorithms: unknown algorithm {unknown[0]!r} (choose from {', '.join(ALGORITHMS)})")
    if not names:
        raise ConfigError("--algorithms: empty list (choose from " + ", ".join(ALGORITHMS) + ")")
    ordered = [BASELINE, *[n for n in dict.fromkeys(names) if n != BASELINE]]
    return [ALGORITHMS[n] for n in ordered]


__all__ = ["ALGORITHMS", "BASELINE", "Algorithm", "TrainData", "resolve"]
