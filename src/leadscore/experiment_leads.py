"""Synthetic leads with known truth, scored by a real model: the pool A/B simulations draw from.

The adjusted tests need a pre-treatment covariate as good as the one production has: the
control model's score of each lead. Here the "control model" is a logistic regression on the
platform's own feature pipeline (``LeadFeatures``), trained on one sample of a vertical's
synthetic leads (``leadscore.data.synth``) and scoring another, held-out sample, whose true
conversion probabilities are known. A few seconds; deterministic for a given seed.
"""

from __future__ import annotations

from leadscore.data.synth import TARGET, Vertical, drop_ground_truth, generate
from leadscore.experiments.simulation import LeadPool

TRUTH = "true_probability"


def scored_lead_pool(
    vertical: Vertical = "pc", rows: int = 40_000, train_rows: int = 10_000, seed: int = 0
) -> LeadPool:
    """``rows`` held-out leads: their true conversion probability and a trained model's score."""
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from leadscore.features.pipeline import LeadFeatures

    train = generate(vertical, train_rows, seed)
    held_out = generate(vertical, rows, seed + 1)
    model = make_pipeline(
        LeadFeatures(random_state=seed),
        SimpleImputer(),
        StandardScaler(),
        LogisticRegression(C=0.1, max_iter=1000),
    )
    model.fit(drop_ground_truth(train).drop(columns=[TARGET]), train[TARGET].to_numpy())
    scores = model.predict_proba(drop_ground_truth(held_out).drop(columns=[TARGET]))[:, 1]
    return LeadPool(probability=held_out[TRUTH].to_numpy(dtype=float), covariate=scores.astype(float))
