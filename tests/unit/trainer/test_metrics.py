import numpy as np
import pytest

from leadscore.trainer.metrics import best_f1_threshold, evaluate, lift_and_capture, reliability_curve


def test_lift_and_capture_count_positives_in_the_top_share():
    y = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0] * 10)
    p = np.where(y == 1, 0.9, 0.1)
    lift, capture = lift_and_capture(y, p, 0.10)
    assert lift == pytest.approx(1.0 / 0.2)  # the top 10 rows are all positive; 20 % overall
    assert capture == pytest.approx(0.5)


def test_lift_is_one_when_scores_are_uninformative():
    y = np.tile([1, 0, 0, 0], 250)
    lift, capture = lift_and_capture(y, np.zeros(len(y)), 0.20)
    assert lift == pytest.approx(1.0)
    assert capture == pytest.approx(0.2)


def test_best_f1_threshold_separates_classes_when_they_are_separable():
    y = np.array([0, 0, 0, 1, 1])
    p = np.array([0.1, 0.2, 0.3, 0.7, 0.8])
    assert best_f1_threshold(y, p) == pytest.approx(0.7)


def test_best_f1_threshold_never_splits_tied_scores():
    y = np.array([1, 0, 1, 0])
    p = np.array([0.5, 0.5, 0.2, 0.2])
    assert best_f1_threshold(y, p) in (0.5, 0.2)


def test_reliability_curve_reports_observed_rate_per_bin():
    y = np.array([0, 1, 1, 1])
    p = np.array([0.05, 0.05, 0.95, 0.95])
    bins = reliability_curve(y, p)
    assert len(bins) == 10
    assert bins[0].count == 2 and bins[0].observed_rate == pytest.approx(0.5)
    assert bins[9].count == 2 and bins[9].observed_rate == pytest.approx(1.0)
    assert bins[5].count == 0 and bins[5].mean_predicted is None


def test_evaluate_reports_perfect_scores_when_predictions_are_perfect():
    y = np.array([0, 1] * 50)
    metrics = evaluate(y, y * 0.98 + 0.01, threshold=0.5)
    assert metrics.roc_auc == pytest.approx(1.0)
    assert metrics.f1 == pytest.approx(1.0)
    assert metrics.brier == pytest.approx(0.01 ** 2)
    assert metrics.accuracy == pytest.approx(1.0)
    assert "reliability" not in metrics.headline()


def test_evaluate_counts_accuracy_at_the_threshold():
    y = np.array([1, 1, 0, 0, 0])
    metrics = evaluate(y, np.array([0.9, 0.2, 0.8, 0.1, 0.3]), threshold=0.5)
    assert metrics.accuracy == pytest.approx(3 / 5)  # hits: 0.9->1, 0.1->0, 0.3->0
