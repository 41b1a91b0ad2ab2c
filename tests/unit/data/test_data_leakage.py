"""check_leakage: refuses label-revealing and declared post-outcome columns, names them and their AUC."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from leadscore.data import DatasetSpec, check_leakage, validate
from leadscore.data.leakage import roc_auc, stratified_holdout
from leadscore.errors import LeakageError

ROWS = 2000


@pytest.fixture
def leads() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    converted = rng.random(ROWS) < 0.2
    noise = rng.random(ROWS)
    return pd.DataFrame({
        "lead_id": np.arange(ROWS),
        "pages": rng.poisson(3 + 2 * converted),
        "source": rng.choice(["web", "referral", "partner"], ROWS),
        # a sales tag filled after the outcome: "won" almost only for converters
        "tag": np.where(converted & (noise < 0.95), "won", np.where(noise < 0.5, "ringing", None)),
        "call_seconds": np.where(converted, rng.normal(600, 200, ROWS), rng.normal(300, 200, ROWS)),
        "converted": converted.astype(int),
    })


def _checked(leads: pd.DataFrame, **spec: object) -> list:
    settings = DatasetSpec(target="converted", id_column="lead_id", **spec)
    clean, schema = validate(leads, settings)
    return check_leakage(clean, schema, settings)


def test_check_leakage_refuses_column_when_alone_above_threshold(leads: pd.DataFrame) -> None:
    with pytest.raises(LeakageError, match=r"leaky columns refused: tag predicts the target almost perfectly "
                                           r"\(ROC-AUC 0\.9\d\d alone\).*--allow-leaky"):
        _checked(leads)


def test_check_leakage_refuses_declared_post_outcome_column_whatever_its_auc(leads: pd.DataFrame) -> None:
    with pytest.raises(LeakageError, match=r"source is declared post-outcome \(ROC-AUC 0\.\d+ alone\)"):
        _checked(leads.drop(columns=["tag"]), post_outcome=["source"])


def test_check_leakage_warns_and_reports_when_leaks_are_allowed(leads: pd.DataFrame) -> None:
    with pytest.warns(UserWarning, match="kept leaky column: tag"):
        findings = _checked(leads, allow_leaky=True)
    assert findings[0].column == "tag" and findings[0].refused and findings[0].reason == "auc"
    assert findings[0].auc is not None and findings[0].auc >= 0.9


def test_check_leakage_reports_suspect_without_refusing_when_between_thresholds(leads: pd.DataFrame) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        findings = _checked(leads.drop(columns=["tag"]))
    assert [(f.column, f.reason, f.refused) for f in findings] == [("call_seconds", "suspect", False)]


def test_check_leakage_follows_configured_threshold(leads: pd.DataFrame) -> None:
    with pytest.raises(LeakageError, match="call_seconds"):
        _checked(leads.drop(columns=["tag"]), leak_threshold=0.8)


def test_check_leakage_ignores_excluded_columns(leads: pd.DataFrame) -> None:
    assert all(f.column != "tag" for f in _checked(leads, exclude=["tag"]))


def test_check_leakage_treats_missing_as_its_own_level() -> None:
    # missing tag <=> converted: only the missing level carries the signal
    y = np.array([0, 1] * 200)
    frame = pd.DataFrame({"tag": np.where(y == 1, None, "open"), "converted": y})
    with pytest.raises(LeakageError, match=r"tag predicts the target almost perfectly \(ROC-AUC 1\.000"):
        settings = DatasetSpec(target="converted")
        clean, schema = validate(frame, settings)
        check_leakage(clean, schema, settings)


def test_roc_auc_counts_ties_half_and_matches_perfect_ranking() -> None:
    labels = np.array([0, 0, 1, 1])
    assert roc_auc(labels, np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert roc_auc(labels, np.array([0.5, 0.5, 0.5, 0.5])) == 0.5
    assert roc_auc(labels, np.array([0.9, 0.8, 0.2, 0.1])) == 0.0


def test_stratified_holdout_keeps_class_shares_and_is_reproducible() -> None:
    labels = np.array([1] * 100 + [0] * 900)
    mask = stratified_holdout(labels, 0.3, seed=3)
    assert mask[:100].sum() == 30 and mask[100:].sum() == 270
    assert np.array_equal(mask, stratified_holdout(labels, 0.3, seed=3))
    assert not np.array_equal(mask, stratified_holdout(labels, 0.3, seed=4))


def test_check_leakage_scores_datetime_columns_with_gaps(leads: pd.DataFrame) -> None:
    # closed_at exists only for converters: its missingness alone gives the outcome away
    closed = pd.Timestamp("2025-01-01") + pd.to_timedelta(np.arange(ROWS), unit="h")
    leads["closed_at"] = pd.Series(closed).where(leads["converted"] == 1).astype(str).replace("NaT", None)
    with pytest.raises(LeakageError, match=r"closed_at predicts the target almost perfectly \(ROC-AUC 1\.000"):
        _checked(leads.drop(columns=["tag"]))
