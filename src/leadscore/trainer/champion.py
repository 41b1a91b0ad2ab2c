"""The serving version (the champion) scored on exactly the held-out rows the new version is
measured on, so the promotion gate compares like with like instead of two AUCs from two
different test periods."""

from __future__ import annotations

import numpy as np
import pandas as pd

from leadscore.trainer.batch import PublishedModel
from leadscore.trainer.card import ChampionCard
from leadscore.trainer.metrics import evaluate

COMPARED = ("roc_auc", "pr_auc", "log_loss", "brier")


def score_champion(uri: str, test_rows: pd.DataFrame, y_test: np.ndarray, threshold: float) -> ChampionCard:
    """The champion's held-out metrics, or why it could not be scored (never raises: a champion
    that cannot read this data, e.g. after a schema change, must not stop the new version)."""
    try:
        champion = PublishedModel.open(uri)
        metrics = evaluate(y_test, champion.probabilities(test_rows), threshold).headline()
    except Exception as exc:  # reported in the card; the gate then falls back to stored AUCs
        return ChampionCard(uri=uri, error=f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    return ChampionCard(uri=uri, version=champion.artifact.card.version,
                        metrics={name: float(metrics[name]) for name in COMPARED})
