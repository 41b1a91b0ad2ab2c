"""Prometheus metrics, registered in the default registry so KServe's ``/metrics`` shows them.

KServe already exports per-stage latency histograms (``request_predict_seconds`` ...).
These add what a sales-ops dashboard asks: how many leads each version and arm scored, in
which tier, how scores are distributed, how long a whole request took and why requests
were refused.

The score histogram is a custom collector over numpy bucket counts: observing a
1000-lead batch is one ``np.histogram`` call instead of a thousand ``observe()`` calls,
which would cost more than scoring the batch.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np
from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector

PREDICTIONS = Counter(
    "leadscore_predictions",
    "Leads scored, by model name, model version, A/B arm and tier.",
    ["model_name", "model_version", "arm", "tier"],
)
REQUEST_SECONDS = Histogram(
    "leadscore_request_seconds",
    "Time inside the model for one request (decode, validate, score, encode), by verb.",
    ["model_name", "verb"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
ERRORS = Counter(
    "leadscore_errors",
    "Requests refused or failed, by model name and reason (invalid_input, batch_too_large, internal, ...).",
    ["model_name", "reason"],
)
OUT_OF_RANGE = Counter(
    "leadscore_out_of_range",
    "Leads scored with a value outside the training range (clipped to it), by model name and field.",
    ["model_name", "field"],
)
ENGINE = Gauge(
    "leadscore_scoring_engine",
    "1 per engine in use: by model name and version, batch-size class (single, batch), member and engine "
    "(member 'all' on engine 'model.onnx': the whole reference graph on onnxruntime).",
    ["model_name", "model_version", "batch_class", "member", "engine"],
)

SCORE_BUCKETS = (10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0)


class ScoreHistogram(Collector):
    """``leadscore_score``: the 0-100 score distribution by model name, version and arm."""

    name = "leadscore_score"

    def __init__(self, edges: tuple[float, ...] = SCORE_BUCKETS) -> None:
        self._upper = np.asarray(edges, dtype=np.float64)
        self._lock = threading.Lock()
        self._series: dict[tuple[str, str, str], tuple[np.ndarray, float]] = {}

    def observe_many(self, model_name: str, model_version: str, arm: str, scores: np.ndarray) -> None:
        """Add every score of a batch; a score lands in the first bucket whose bound it does not exceed."""
        positions = np.searchsorted(self._upper, scores, side="left")
        total = float(np.sum(scores))
        key = (model_name, model_version, arm)
        with self._lock:
            counts, current_sum = self._series.get(key) or (np.zeros(len(self._upper) + 1, np.int64), 0.0)
            np.add.at(counts, positions, 1)
            self._series[key] = (counts, current_sum + total)

    def collect(self) -> Iterator[HistogramMetricFamily]:
        family = HistogramMetricFamily(
            self.name,
            "Lead scores (0-100) by model name, model version and arm.",
            labels=["model_name", "model_version", "arm"],
        )
        with self._lock:
            snapshot = {key: (counts.copy(), total) for key, (counts, total) in self._series.items()}
        for labels, (counts, total) in sorted(snapshot.items()):
            cumulative = np.cumsum(counts)
            buckets = [(f"{edge:g}", float(c)) for edge, c in zip(self._upper, cumulative[:-1], strict=True)]
            buckets.append(("+Inf", float(cumulative[-1])))
            family.add_metric(list(labels), buckets, total)
        yield family


SCORES = ScoreHistogram()
REGISTRY.register(SCORES)
