"""The Venn-ABERS interval, confidence and agreement of ``leadscore.uncertainty``: a hand-computed
example, equality with a brute-force isotonic refit, and validity on simulated data."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.isotonic import IsotonicRegression

from leadscore.api.artifact import MemberCalibration, Uncertainty
from leadscore.uncertainty import Table, confidence, coverage, fit_venn_abers, per_lead

SCORES = np.array([0.1, 0.2, 0.3, 0.4])
LABELS = np.array([0, 1, 0, 1])


@pytest.mark.parametrize(
    ("score", "p0", "p1"),
    [
        # between 0.2 and 0.3: labels 0,1,[y],0,1; with y=0 PAV pools (1,0,0) -> 1/3, with y=1 (1,1,0) -> 2/3
        (0.25, 1 / 3, 2 / 3),
        # below every score: [y],0,1,0,1; y=0 stays 0, y=1 pools (1,0) -> 1/2
        (0.05, 0.0, 0.5),
        # equal to 0.3: the tie pools with that row: 0,1,{0,y},1 -> (1+0+y)/3
        (0.3, 1 / 3, 2 / 3),
        # above every score: 0,1,0,1,[y]; y=0 pools (1,0) -> 1/2, y=1 stays 1
        (0.5, 0.5, 1.0),
    ],
)
def test_interval_matches_a_hand_computed_venn_abers_example(score: float, p0: float, p1: float) -> None:
    low, high = Table(fit_venn_abers(SCORES, LABELS)).interval(np.array([score]))
    assert (low[0], high[0]) == pytest.approx((p0, p1))
    assert confidence(low, high)[0] == pytest.approx(1 - (p1 - p0))


def test_interval_equals_an_isotonic_refit_with_the_lead_labelled_0_and_1() -> None:
    """The precomputed table gives what refitting the isotonic regression per lead gives, ties included."""
    rng = np.random.default_rng(0)
    for _ in range(25):
        n = int(rng.integers(1, 40))
        scores = np.round(rng.random(n), 1)  # many ties
        labels = (rng.random(n) < scores).astype(float)
        table = Table(fit_venn_abers(scores, labels))
        queries = np.r_[np.round(rng.random(8), 1), rng.random(8), -1.0, 2.0]
        low, high = table.interval(queries)
        for i, s in enumerate(queries):
            for label, got in ((0.0, low[i]), (1.0, high[i])):
                refit = IsotonicRegression().fit(np.r_[scores, s], np.r_[labels, label])
                assert got == pytest.approx(refit.predict([s])[0], abs=1e-12)


def test_the_probability_of_the_true_label_is_unbiased_on_exchangeable_data() -> None:
    """Venn-ABERS validity: p_Y (p1 when the lead converted, p0 otherwise) has the mean of Y, even for a
    badly miscalibrated score (true probability = score squared). Mean over 400 calibration sets of
    300 rows, 50 leads each; checked within 4 Monte-Carlo standard errors."""
    rng = np.random.default_rng(2026)
    gaps = []
    for _ in range(400):
        scores = rng.random(350)
        labels = (rng.random(350) < scores**2).astype(float)
        low, high = Table(fit_venn_abers(scores[:300], labels[:300])).interval(scores[300:])
        chosen = np.where(labels[300:] == 1, high, low)
        gaps.append(float(np.mean(labels[300:] - chosen)))
    mean, se = np.mean(gaps), np.std(gaps, ddof=1) / np.sqrt(len(gaps))
    assert abs(mean) < 4 * se
    # and the naive score is not: its bias is far outside the same error
    assert abs(np.mean(scores**2) - np.mean(scores)) > 20 * se


def test_intervals_narrow_as_the_calibration_set_grows() -> None:
    rng = np.random.default_rng(5)
    widths = []
    for n in (100, 1000, 10000):
        scores = rng.random(n)
        labels = (rng.random(n) < scores).astype(float)
        low, high = Table(fit_venn_abers(scores, labels)).interval(rng.random(2000))
        widths.append(float(np.mean(high - low)))
    assert widths[0] > widths[1] > widths[2]


def test_coverage_counts_deciles_whose_observed_rate_lies_within_the_interval() -> None:
    rng = np.random.default_rng(9)
    scores = rng.random(20000)
    labels = (rng.random(20000) < scores).astype(float)
    table = Table(fit_venn_abers(scores[:5000], labels[:5000]))
    low, high = table.interval(scores[5000:])
    good = coverage(low, high, labels[5000:])
    assert good.bins == 10 and good.bins_within >= 9 and good.rows == 15000
    shifted = coverage(low, high, (rng.random(15000) < 0.5).astype(float))  # labels unrelated to the scores
    assert shifted.bins_within <= 2


def test_agreement_is_one_minus_the_range_of_the_members_calibrated_probabilities() -> None:
    members = [MemberCalibration(algorithm="lr", a=1.0, b=0.0), MemberCalibration(algorithm="lightgbm", a=2.0, b=1.0)]
    table = Table(fit_venn_abers(SCORES, LABELS, members))
    margins = np.array([[0.0, -0.5], [2.0, -3.0], [40.0, -40.0]])
    agreement = table.agreement(margins)
    assert agreement is not None
    assert agreement.tolist() == pytest.approx([1.0, 1 - (1 / (1 + np.exp(-2)) - 1 / (1 + np.exp(5))), 0.0])
    single = Table(fit_venn_abers(SCORES, LABELS, members[:1]))
    assert single.agreement(margins[:, :1]) is None


def test_per_lead_is_nan_where_a_version_has_no_numbers() -> None:
    assert np.isnan(per_lead(None, np.array([0.2, 0.3]), None)).all()
    table = Table(Uncertainty.model_validate_json(fit_venn_abers(SCORES, LABELS).model_dump_json()))
    values = per_lead(table, np.array([0.25]), None)
    assert values[0, :3].tolist() == pytest.approx([1 / 3, 2 / 3, 2 / 3]) and np.isnan(values[0, 3])


def test_one_lead_is_answered_exactly_as_a_batch_answers_it() -> None:
    """The single-lead path (Python scalars) and the batch path (numpy) are one contract: equal
    to the last bit on ties, scores between and beyond the calibration scores, and extreme margins."""
    rng = np.random.default_rng(11)
    scores = np.round(rng.uniform(size=400), 3)  # rounded: many ties
    members = [MemberCalibration(algorithm=n, a=a, b=b) for n, a, b in (("lr", 0.9, -0.2), ("xgboost", 1.3, 0.1),
                                                                       ("lightgbm", 0.7, 0.4))]
    table = Table(fit_venn_abers(scores, rng.uniform(size=400) < scores, members))
    leads = np.concatenate([scores[:50], rng.uniform(size=50), [-1.0, 0.0, 1.0, 2.0]])
    margins = np.concatenate([rng.normal(scale=3, size=(103, 3)), [[800.0, -800.0, 0.0]]])
    batch = per_lead(table, leads, margins)
    one_by_one = np.vstack([per_lead(table, leads[i : i + 1], margins[i : i + 1]) for i in range(len(leads))])
    assert np.array_equal(one_by_one[:, :3], batch[:, :3])
    assert np.allclose(one_by_one[:, 3], batch[:, 3], rtol=0, atol=1e-15)
    single = Table(fit_venn_abers(scores, rng.uniform(size=400) < scores, members[:1]))
    assert np.isnan(per_lead(single, leads[:1], margins[:1, :1])[0, 3])
