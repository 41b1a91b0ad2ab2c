"""The drift rule measured, not shown once: repeated i.i.d. samples and known shifts, fixed seeds.

The large run (more repetitions and sizes) is ``bench/drift_validity.py``; docs/monitoring.md
quotes its rates.
"""

from __future__ import annotations

import pytest

from leadscore.monitoring.validity import SHIFTS, measure, synthetic_pool


@pytest.fixture(scope="module")
def results() -> list[dict]:
    pool, scores, spec = synthetic_pool(60_000, seed=11)
    # held-out parts of a few thousand rows, as a training on ~20k leads keeps
    sizes = measure(pool, scores, spec, sizes=[500, 2000, 10000], repeats=8, references=2,
                    reference_rows=3000, seed=5)
    return [s.as_dict() for s in sizes]


def test_iid_samples_of_the_training_distribution_raise_no_alarm(results: list[dict]) -> None:
    for size in results:
        assert size["samples"] == 16
        assert size["false_alarm_rate"] == 0.0, size
        assert size["max_psi_unchanged"] < 0.1, size  # not even "watch"


def test_exactly_the_shifted_fields_are_flagged_at_every_size(results: list[dict]) -> None:
    for size in results:
        assert size["exact_detection_rate"] == 1.0, size
        assert size["detection_rate_by_field"] == dict.fromkeys(SHIFTS, 1.0)
