"""Live accuracy figures: pure functions checked against independent implementations."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from leadscore.monitoring.accuracy import MaturedLeads, bootstrap, calibration, revenue_per_lead, roc_auc, tiers, wilson


def leads(n: int, seed: int, informative: bool = True) -> MaturedLeads:
    rng = np.random.default_rng(seed)
    p = rng.beta(2, 8, n)
    y = rng.random(n) < (p if informative else p.mean())
    tier = np.where(p >= 0.4, "high", np.where(p >= 0.2, "medium", "low")).astype(object)
    value = np.where(y, 1000.0, 0.0)
    days = np.where(y, rng.uniform(0, 14, n), np.nan)
    return MaturedLeads(probability=p, converted=y, tier=tier, value=value, days_to_conversion=days)


def test_roc_auc_matches_scikit_learn_with_ties() -> None:
    data = leads(2000, 1)
    rounded = np.round(data.probability, 2)  # ties
    assert roc_auc(data.converted, rounded) == pytest.approx(roc_auc_score(data.converted, rounded))
    assert np.isnan(roc_auc(np.zeros(5, bool), np.arange(5.0)))


def test_bootstrap_interval_holds_the_figure_and_narrows_with_more_leads() -> None:
    small_auc, small_brier, small_lift = bootstrap(leads(300, 2), "high")
    large_auc, _, large_lift = bootstrap(leads(10000, 2), "high")
    for interval in (small_auc, small_brier, small_lift, large_auc):
        assert interval is not None and interval.lower <= interval.value <= interval.upper
    assert (large_auc.upper - large_auc.lower) < (small_auc.upper - small_auc.lower) / 3
    assert large_lift.lower > 1.5  # informative scores: the high tier converts far more than average


def test_uninformative_scores_give_an_interval_around_one_half() -> None:
    auc, _, _ = bootstrap(leads(5000, 3, informative=False), "high")
    assert auc.lower < 0.5 < auc.upper


def test_calibration_deciles_split_the_leads_evenly_in_rank_order() -> None:
    bins = calibration(leads(1000, 4))
    assert [b.decile for b in bins] == list(range(1, 11)) and {b.leads for b in bins} == {100}
    means = [b.mean_probability for b in bins]
    assert means == sorted(means)
    assert bins[-1].conversion_rate > bins[0].conversion_rate


def test_tiers_report_counts_rates_and_wilson_bounds_in_tier_order() -> None:
    data = leads(3000, 5)
    rows = tiers(data)
    assert [t.tier for t in rows] == ["high", "medium", "low"]
    assert sum(t.leads for t in rows) == 3000
    for tier in rows:
        assert tier.lower <= tier.rate <= tier.upper
    assert rows[0].rate > rows[-1].rate


def test_wilson_matches_the_textbook_values() -> None:
    low, high = wilson(10, 100)
    assert (round(low, 4), round(high, 4)) == (0.0552, 0.1744)
    assert wilson(0, 0) == (0.0, 1.0)


def test_revenue_per_lead_is_the_mean_value_with_a_normal_interval() -> None:
    data = leads(1000, 6)
    interval = revenue_per_lead(data)
    assert interval.value == pytest.approx(data.value.mean())
    assert interval.lower < interval.value < interval.upper
