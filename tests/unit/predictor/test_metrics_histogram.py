"""The numpy-backed score histogram exposes what prometheus_client's Histogram would."""

from __future__ import annotations

import numpy as np

from leadscore.predictor.metrics import ScoreHistogram


def _samples(histogram: ScoreHistogram) -> dict[tuple[str, str], float]:
    (family,) = list(histogram.collect())
    return {(s.name, s.labels.get("le", "")): s.value for s in family.samples}


def test_observe_many_fills_cumulative_buckets_when_a_batch_is_scored() -> None:
    histogram = ScoreHistogram(edges=(40.0, 60.0, 80.0, 100.0))
    histogram.observe_many("pc", "v1", "", np.array([10, 40, 41, 60, 79, 80, 100]))
    samples = _samples(histogram)
    assert [samples[("leadscore_score_bucket", le)] for le in ("40", "60", "80", "100", "+Inf")] == [2, 4, 6, 7, 7]
    assert samples[("leadscore_score_count", "")] == 7
    assert samples[("leadscore_score_sum", "")] == 410


def test_observe_many_accumulates_per_label_set_when_called_repeatedly() -> None:
    histogram = ScoreHistogram(edges=(50.0, 100.0))
    histogram.observe_many("pc", "v1", "control", np.array([10, 90]))
    histogram.observe_many("pc", "v1", "control", np.array([20]))
    histogram.observe_many("pc", "v2", "treatment", np.array([70]))
    (family,) = list(histogram.collect())
    counts = {
        (s.labels["model_version"], s.labels["arm"]): s.value
        for s in family.samples
        if s.name == "leadscore_score_count"
    }
    assert counts == {("v1", "control"): 3, ("v2", "treatment"): 1}
